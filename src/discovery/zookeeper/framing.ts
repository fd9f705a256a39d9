/**
 * The framing guard: the socket's bytes cut into ZooKeeper frames before node-zookeeper-client
 * sees them. Version 1.1.3 of the library has three defects in its own framing:
 *  - it decodes one frame per call and recurses on the rest with `Buffer.concat(rest, [])`, so a
 *    read of many replies is copied once per reply (quadratic in CPU, and a malloc'd buffer
 *    each time: a writer loading a large cluster set spent its CPU and memory there; see
 *    bench/writer-process-scale.ts);
 *  - the bytes of a half-received reply (`pendingBuffer`) are kept when the connection closes and
 *    put in front of the next connection's bytes: every reply after a reconnect that happened
 *    mid-reply is misframed (its issue #39);
 *  - a reply it cannot decode throws from the socket's 'data' handler: an uncaught exception
 *    that ends the process (its issue #89).
 * So frames are cut here (4-byte length prefix; frames inside a read are passed as views, only a
 * frame split across reads is copied, once) and the library gets exactly one whole frame per
 * call, so its own buffering never engages; stale bytes are dropped with their socket; a frame
 * that does not decode drops the connection (the session survives a reconnect) instead of the
 * process. The library's handlers are reached through zk-internals.ts.
 */
import { wrapSocketHandlers, type ConnectionHandle } from './zk-internals.js';

/** larger than any reply a server sends (ZooKeeper's jute.maxbuffer is 1 MB by default) */
const MAX_FRAME = 256 * 1024 * 1024;

/** Install the guard on a client before its `connect()`; `onError` hears each dropped connection. */
export function guardFraming(client: object, onError: (err: Error) => void): void {
  const f = new Framer(onError);
  wrapSocketHandlers(client, { onData: (conn, chunk) => f.data(conn, chunk), onClosed: () => f.reset() });
}

/** The framing state of one client (its connections come one after another). */
class Framer {
  /** the start of a frame split across reads: its chunks, their total length, and the frame's
   * length once its first 4 bytes are in (-1 before) */
  private parts: Buffer[] = [];
  private partLen = 0;
  private need = -1;

  constructor(private readonly onError: (err: Error) => void) {}

  reset(): void {
    this.parts = [];
    this.partLen = 0;
    this.need = -1;
  }

  data(conn: ConnectionHandle, chunk: Buffer): void {
    let buf = chunk;
    if (this.partLen > 0) {
      this.parts.push(chunk);
      this.partLen += chunk.length;
      if (this.need < 0 && this.partLen >= 4) {
        this.parts = [Buffer.concat(this.parts, this.partLen)];
        const len = this.parts[0].readInt32BE(0);
        if (len < 0 || len > MAX_FRAME) return this.corrupt(conn, len);
        this.need = 4 + len;
      }
      if (this.need < 0 || this.partLen < this.need) return;
      buf = Buffer.concat(this.parts, this.partLen); // once per split frame
      this.reset();
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readInt32BE(at);
      if (len < 0 || len > MAX_FRAME) return this.corrupt(conn, len);
      const end = at + 4 + len;
      if (end > buf.length) break;
      if (!this.frame(conn, buf.subarray(at, end))) return;
      if (conn.destroyed) return this.reset(); // the library gave up on this connection: the rest is stale
      at = end;
    }
    if (at < buf.length) {
      // copied: the read's buffer is not ours to keep
      this.parts = [Buffer.from(buf.subarray(at))];
      this.partLen = buf.length - at;
      this.need = this.partLen >= 4 ? 4 + this.parts[0].readInt32BE(0) : -1; // (checked above: the loop read it)
    }
  }

  private frame(conn: ConnectionHandle, f: Buffer): boolean {
    try {
      conn.feed(f);
      return true;
    } catch (err) {
      this.drop(conn, err as Error);
      return false;
    }
  }

  /** a length no server sends (negative, or past any jute.maxbuffer): the stream is not
   * ZooKeeper's framing any more (a frame of length -4 would also never advance the loop) */
  private corrupt(conn: ConnectionHandle, len: number): void {
    this.drop(conn, new Error(`bad ZooKeeper frame length ${len}`));
  }

  private drop(conn: ConnectionHandle, err: Error): void {
    this.reset();
    conn.destroy();
    this.onError(err);
  }
}
