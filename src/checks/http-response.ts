/**
 * An incremental reader of HTTP/1.x responses (RFC 9112), reading only what a health check
 * needs: the status, whether the connection can be reused, and where the body ends. The body
 * is counted and dropped, never copied.
 *
 * Message framing, in the RFC's order of precedence:
 *   - a response to HEAD, and 1xx / 204 / 304 responses, have no body;
 *   - `Transfer-Encoding: ...chunked`: chunks of "<hex size>[;ext]\r\n<data>\r\n", ended by a
 *     zero-size chunk, optional trailer lines and an empty line;
 *   - `Content-Length: N`: N bytes;
 *   - otherwise the body runs until the server closes the connection.
 * 1xx interim responses (100 Continue, 103 Early Hints) are skipped; the final one counts.
 * The connection is reusable unless the server says `Connection: close`, speaks HTTP/1.0 without
 * `Connection: keep-alive`, or delimits the body by closing.
 *
 * Everything is read from the bytes in place: no string is made of a well-formed response (the
 * head, split into lines and matched with regexes, was ~1.5 KB of garbage per probe). Strings
 * are made only for error messages. `feed` may be given a buffer that is reused for the next
 * read (net's `onread`), so whatever must outlive the call is copied.
 */

/** A header block larger than this is not a health endpoint talking. */
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_LINE_BYTES = 1024;

type Mode = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'eof' | 'done';

const LF = 10;
const CR = 13;

/** What String.prototype.trim() removes, within latin1. */
function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13) || b === 0xa0;
}

/** Whether data[s, e) equals `lower` (an ASCII lower-case word), ignoring ASCII case. */
function equalsWord(data: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const b = data[s + k];
    if ((b >= 65 && b <= 90 ? b + 32 : b) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** Whether `lower` occurs in data[s, e), ignoring ASCII case. */
function containsWord(data: Buffer, s: number, e: number, lower: string): boolean {
  for (let k = s; k + lower.length <= e; k++) if (equalsWord(data, k, k + lower.length, lower)) return true;
  return false;
}

/** Index of the first LF in data[i, end), or -1 (indexOf would look past `end`, into bytes
 * of an older read when the buffer is reused). */
function findLF(data: Buffer, i: number, end: number): number {
  const nl = data.indexOf(LF, i);
  return nl >= 0 && nl < end ? nl : -1;
}

export class ResponseReader {
  /** final status code, 0 until the final header block is read */
  status = 0;
  keepAlive = true;
  /** body bytes seen so far (framing excluded) */
  bodyBytes = 0;
  private mode: Mode = 'head';
  private isHead = false;
  /** the start of a header block or chunk line that a read cut off (a copy) */
  private partial: Buffer | null = null;
  private remaining = 0;

  /** Start reading the response to a new request. */
  reset(isHead: boolean): void {
    this.status = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.mode = 'head';
    this.isHead = isHead;
    this.partial = null;
    this.remaining = 0;
  }

  get done(): boolean {
    return this.mode === 'done';
  }

  /** True when the body ends at the server's close, so a close now completes the response. */
  get endsAtClose(): boolean {
    return this.mode === 'eof';
  }

  /** Consume data[0, end); returns true once the response is complete. Throws on malformed
   * input. Bytes after the end of the response make the connection unusable (keepAlive = false). */
  feed(data: Buffer, end = data.length): boolean {
    let i = 0;
    while (i < end) {
      switch (this.mode) {
        case 'head':
          i = this.readHead(data, i, end);
          break;
        case 'length':
        case 'chunk-data': {
          const n = Math.min(this.remaining, end - i);
          i += n;
          this.remaining -= n;
          this.bodyBytes += n;
          if (this.remaining === 0) this.mode = this.mode === 'length' ? 'done' : 'chunk-end';
          break;
        }
        case 'eof':
          this.bodyBytes += end - i;
          i = end;
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers':
          i = this.readLine(data, i, end);
          break;
        case 'done':
          // more bytes than the response: a confused server; do not reuse this connection
          this.keepAlive = false;
          return true;
      }
    }
    return this.mode === 'done';
  }

  /** One line of chunked framing from data[i..]; returns the index after what was consumed. */
  private readLine(data: Buffer, i: number, end: number): number {
    const nl = findLF(data, i, end);
    const have = this.partial?.length ?? 0;
    if ((nl < 0 ? end : nl) - i + have > MAX_LINE_BYTES) throw new Error('malformed chunked body: line too long');
    if (nl < 0) {
      this.partial = this.partial ? Buffer.concat([this.partial, data.subarray(i, end)]) : Buffer.from(data.subarray(i, end));
      return end;
    }
    let line = data;
    let s = i;
    let e = nl;
    if (this.partial) {
      line = Buffer.concat([this.partial, data.subarray(i, nl)]);
      s = 0;
      e = line.length;
      this.partial = null;
    }
    if (e > s && line[e - 1] === CR) e--;
    this.chunkLine(line, s, e);
    return nl + 1;
  }

  private chunkLine(line: Buffer, s: number, e: number): void {
    if (this.mode === 'chunk-end') {
      if (e !== s) throw new Error('malformed chunked body: missing CRLF after chunk data');
      this.mode = 'chunk-size';
    } else if (this.mode === 'chunk-size') {
      // "<hex>[;extension]", spaces around the size tolerated
      let hs = s;
      let he = line.indexOf(59 /* ; */, s);
      if (he < 0 || he > e) he = e;
      while (hs < he && isSpace(line[hs])) hs++;
      while (he > hs && isSpace(line[he - 1])) he--;
      let size = 0;
      for (let k = hs; k < he; k++) {
        const b = line[k] | 0x20; // ASCII letters to lower case; digits keep their value
        const d = b >= 48 && b <= 57 ? b - 48 : b >= 97 && b <= 102 && line[k] >= 65 ? b - 87 : -1;
        if (d < 0) {
          size = -1;
          break;
        }
        size = size * 16 + d;
      }
      if (size < 0 || he === hs || he - hs > 8) throw new Error(`malformed chunk size ${JSON.stringify(line.toString('latin1', hs, he))}`);
      this.remaining = size;
      this.mode = size === 0 ? 'trailers' : 'chunk-data';
    } else if (e === s) {
      this.mode = 'done'; // the empty line after the (usually absent) trailers
    }
  }

  /** Read header bytes from data[i, end); returns the index after what was consumed. */
  private readHead(data: Buffer, i: number, end: number): number {
    const prev = this.partial?.length ?? 0;
    // header blocks almost always arrive in one read: concatenate only when they do not
    const buf = prev ? Buffer.concat([this.partial!, data.subarray(i, end)]) : data;
    const from = prev ? 0 : i;
    const to = prev ? buf.length : end;
    // the head ends at the first empty line (LF LF or LF CR LF); look from just before the
    // bytes that are new
    let k = findLF(buf, Math.max(from, from + prev - 3), to);
    let headEnd = -1;
    let bodyStart = -1;
    while (k >= 0) {
      if (k + 1 < to && buf[k + 1] === LF) bodyStart = k + 2;
      else if (k + 2 < to && buf[k + 1] === CR && buf[k + 2] === LF) bodyStart = k + 3;
      if (bodyStart >= 0) {
        headEnd = k > from && buf[k - 1] === CR ? k - 1 : k;
        break;
      }
      k = findLF(buf, k + 1, to);
    }
    if (bodyStart < 0) {
      if (to - from > MAX_HEAD_BYTES) throw new Error(`response headers larger than ${MAX_HEAD_BYTES} bytes`);
      this.partial = Buffer.from(buf.subarray(from, to)); // a copy: `data` belongs to the socket
      return end;
    }
    this.partial = null;
    this.parseHead(buf, from, headEnd);
    return prev ? i + bodyStart - prev : bodyStart;
  }

  /** The header block buf[s, e), without its final line break. */
  private parseHead(buf: Buffer, s: number, e: number): void {
    let eol = findLF(buf, s, e);
    if (eol < 0) eol = e;
    // "HTTP/1.x NNN" then a space, CR or the end of the line
    const v = buf[s + 7];
    const ok =
      eol - s >= 12 &&
      buf[s] === 72 && buf[s + 1] === 84 && buf[s + 2] === 84 && buf[s + 3] === 80 && buf[s + 4] === 47 && buf[s + 5] === 49 && buf[s + 6] === 46 &&
      (v === 48 || v === 49) &&
      buf[s + 8] === 32 &&
      buf[s + 9] >= 48 && buf[s + 9] <= 57 && buf[s + 10] >= 48 && buf[s + 10] <= 57 && buf[s + 11] >= 48 && buf[s + 11] <= 57 &&
      (eol === s + 12 || buf[s + 12] === 32 || buf[s + 12] === CR);
    if (!ok) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(buf.toString('latin1', s, Math.min(eol, s + 40)))}`);
    const status = (buf[s + 9] - 48) * 100 + (buf[s + 10] - 48) * 10 + (buf[s + 11] - 48);
    let length = -1;
    let chunked = false;
    let keepAliveToken = false;
    let closeToken = false;
    for (let ls = eol + 1; ls < e; ) {
      let le = findLF(buf, ls, e);
      if (le < 0) le = e;
      const next = le + 1;
      const colon = buf.indexOf(58 /* : */, ls);
      if (colon > ls && colon < le) {
        // name and value trimmed like String.prototype.trim() (this drops a CR too)
        let ns = ls;
        let ne = colon;
        while (ns < ne && isSpace(buf[ns])) ns++;
        while (ne > ns && isSpace(buf[ne - 1])) ne--;
        let vs = colon + 1;
        let ve = le;
        while (vs < ve && isSpace(buf[vs])) vs++;
        while (ve > vs && isSpace(buf[ve - 1])) ve--;
        if (equalsWord(buf, ns, ne, 'content-length')) {
          const n = digits(buf, vs, ve);
          if (n < 0 || (length >= 0 && n !== length)) throw new Error(`bad Content-Length ${JSON.stringify(buf.toString('latin1', vs, ve))}`);
          length = n;
        } else if (equalsWord(buf, ns, ne, 'transfer-encoding')) chunked = endsWithChunked(buf, vs, ve);
        else if (equalsWord(buf, ns, ne, 'connection')) {
          keepAliveToken ||= containsWord(buf, vs, ve, 'keep-alive');
          closeToken ||= containsWord(buf, vs, ve, 'close');
        }
      }
      ls = next;
    }
    if (status >= 100 && status < 200 && status !== 101) return; // interim: the final one follows
    this.status = status;
    // 101: the server switched protocols (we never ask to); nothing after it is HTTP
    this.keepAlive = status !== 101 && (v === 48 ? keepAliveToken : !closeToken);
    if (this.isHead || status === 204 || status === 304 || status === 101) this.mode = 'done';
    else if (chunked) this.mode = 'chunk-size';
    else if (length >= 0) {
      this.remaining = length;
      this.mode = length === 0 ? 'done' : 'length';
    } else {
      this.mode = 'eof';
      this.keepAlive = false;
    }
  }
}

/** The decimal number in buf[s, e), or -1 if it is not one (empty, or anything but digits). */
function digits(buf: Buffer, s: number, e: number): number {
  if (e === s) return -1;
  if (e - s > 15) return /^\d+$/.test(buf.toString('latin1', s, e)) ? Number(buf.toString('latin1', s, e)) : -1;
  let n = 0;
  for (let k = s; k < e; k++) {
    const d = buf[k] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `Transfer-Encoding` value ends with the coding "chunked" (after the start or a comma). */
function endsWithChunked(buf: Buffer, s: number, e: number): boolean {
  if (e - s < 7 || !equalsWord(buf, e - 7, e, 'chunked')) return false;
  let k = e - 7;
  while (k > s && isSpace(buf[k - 1])) k--;
  return k === s || buf[k - 1] === 44; /* , */
}
