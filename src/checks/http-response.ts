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
 */

/** A header block larger than this is not a health endpoint talking. */
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_LINE_BYTES = 1024;

type Mode = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'eof' | 'done';

export class ResponseReader {
  /** final status code, 0 until the final header block is read */
  status = 0;
  keepAlive = true;
  /** body bytes seen so far (framing excluded) */
  bodyBytes = 0;
  private mode: Mode = 'head';
  private isHead = false;
  private headBuf: Buffer | null = null;
  private remaining = 0;
  private line = '';

  /** Start reading the response to a new request. */
  reset(isHead: boolean): void {
    this.status = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.mode = 'head';
    this.isHead = isHead;
    this.headBuf = null;
    this.remaining = 0;
    this.line = '';
  }

  get done(): boolean {
    return this.mode === 'done';
  }

  /** True when the body ends at the server's close, so a close now completes the response. */
  get endsAtClose(): boolean {
    return this.mode === 'eof';
  }

  /** Consume bytes; returns true once the response is complete. Throws on malformed input.
   * Bytes after the end of the response make the connection unusable (keepAlive = false). */
  feed(data: Buffer): boolean {
    let i = 0;
    while (i < data.length) {
      switch (this.mode) {
        case 'head':
          i = this.readHead(data, i);
          break;
        case 'length':
        case 'chunk-data': {
          const n = Math.min(this.remaining, data.length - i);
          i += n;
          this.remaining -= n;
          this.bodyBytes += n;
          if (this.remaining === 0) this.mode = this.mode === 'length' ? 'done' : 'chunk-end';
          break;
        }
        case 'eof':
          this.bodyBytes += data.length - i;
          i = data.length;
          break;
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers': {
          const nl = data.indexOf(10, i);
          const end = nl < 0 ? data.length : nl;
          this.line += data.toString('latin1', i, end);
          if (this.line.length > MAX_LINE_BYTES) throw new Error('malformed chunked body: line too long');
          i = nl < 0 ? data.length : nl + 1;
          if (nl >= 0) this.chunkLine(this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line);
          break;
        }
        case 'done':
          // more bytes than the response: a confused server; do not reuse this connection
          this.keepAlive = false;
          return true;
      }
    }
    return this.mode === 'done';
  }

  private chunkLine(line: string): void {
    this.line = '';
    if (this.mode === 'chunk-end') {
      if (line !== '') throw new Error('malformed chunked body: missing CRLF after chunk data');
      this.mode = 'chunk-size';
    } else if (this.mode === 'chunk-size') {
      const hex = line.split(';', 1)[0].trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new Error(`malformed chunk size ${JSON.stringify(hex)}`);
      this.remaining = parseInt(hex, 16);
      this.mode = this.remaining === 0 ? 'trailers' : 'chunk-data';
    } else if (line === '') {
      this.mode = 'done'; // the empty line after the (usually absent) trailers
    }
  }

  /** Read header bytes from data[i..]; returns the index after what was consumed. */
  private readHead(data: Buffer, i: number): number {
    const prev = this.headBuf?.length ?? 0;
    // header blocks almost always arrive in one packet: concatenate only when they do not
    const buf = prev ? Buffer.concat([this.headBuf!, data.subarray(i)]) : data.subarray(i);
    let end = buf.indexOf('\r\n\r\n', Math.max(0, prev - 3), 'latin1');
    let delim = 4;
    if (end < 0) {
      end = buf.indexOf('\n\n', Math.max(0, prev - 1), 'latin1');
      delim = 2;
    }
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) throw new Error(`response headers larger than ${MAX_HEAD_BYTES} bytes`);
      this.headBuf = Buffer.from(buf); // a copy: `data` belongs to the socket
      return data.length;
    }
    this.headBuf = null;
    this.parseHead(buf.toString('latin1', 0, end));
    return i + end + delim - prev;
  }

  private parseHead(text: string): void {
    const lines = text.split('\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?:[ \r]|$)/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(lines[0].slice(0, 40))}`);
    const status = Number(m[2]);
    let length = -1;
    let chunked = false;
    let connection = '';
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k];
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value) || (length >= 0 && Number(value) !== length)) throw new Error(`bad Content-Length ${JSON.stringify(value)}`);
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked$/i.test(value);
      else if (name === 'connection') connection += `${value.toLowerCase()},`;
    }
    if (status >= 100 && status < 200 && status !== 101) return; // interim: the final one follows
    this.status = status;
    // 101: the server switched protocols (we never ask to); nothing after it is HTTP
    this.keepAlive = status !== 101 && (m[1] === '0' ? connection.includes('keep-alive') : !connection.includes('close'));
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
