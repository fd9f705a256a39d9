/**
 * One keep-alive HTTP/1.1 connection owned by one http check: one request at a time, the
 * response read by ResponseReader. Written for cost rather than generality (see http.ts): no
 * per-probe closures, one prebuilt request buffer, one socket reused for as long as the server
 * keeps it open.
 *
 * The abort listener stays on a signal from probe to probe (the loop reuses one signal until it
 * fires) and moves when the signal changes: adding and removing it per probe changed the
 * signal's listener table each time, and as that table lives in the old generation every
 * change left ~400 bytes of old-space garbage (measured: ~0.4 MB/s at 1,000 checks/s, the
 * main growth of the reporter's heap between major GCs).
 *
 * A server may close an idle keep-alive connection just as we send on it. That race is told
 * apart from a real failure the way browsers do it: a request on a *reused* connection that
 * gets no byte back before the connection drops is sent once more on a fresh connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import { abortDetail } from './detail.js';
import { ResponseReader } from './http-response.js';

export interface HttpConnOptions {
  host: string;
  port: number;
  /** set for https */
  tls?: { rejectUnauthorized: boolean; servername?: string };
  /** the whole request, head and empty line: it never changes between probes */
  request: Buffer;
  isHead: boolean;
}

/** A health body larger than this is not worth reading; the connection is dropped instead. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Where plain-TCP connections read into (net `onread`): scratch memory, not state. Every read
 * is consumed synchronously by its callback (ResponseReader copies what it keeps), so one buffer
 * serves every connection of the process. It spares the stream machinery a Buffer and a
 * 'data' dispatch per read: measured ~10% less reporter CPU at 1,000 checks/s
 * (bench/reporter-checks.ts). TLS sockets read through their own streams.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(16 * 1024);

export class HttpConnection {
  private readonly opts: HttpConnOptions;
  private readonly reader = new ResponseReader();
  private socket: net.Socket | null = null;
  private socketError: Error | null = null;
  /** whether the current socket already carried a response (so a drop may be a stale reuse) */
  private reused = false;
  private received = 0;
  private retried = false;
  /** the signal of the probe in flight */
  private signal: AbortSignal | null = null;
  /** the signal our abort listener is on (kept across probes, see above) */
  private listening: AbortSignal | null = null;
  private resolve: ((status: number) => void) | null = null;
  private reject: ((err: Error) => void) | null = null;

  constructor(opts: HttpConnOptions) {
    this.opts = opts;
  }

  /** Send the request; resolves with the final status once the response is complete. */
  request(signal: AbortSignal): Promise<number> {
    if (this.resolve) return Promise.reject(new Error('previous probe still running'));
    if (signal.aborted) return Promise.reject(new Error(abortDetail(signal)));
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.signal = signal;
      this.retried = false;
      if (signal !== this.listening) {
        this.listening?.removeEventListener('abort', this);
        signal.addEventListener('abort', this);
        this.listening = signal;
      }
      this.send();
    });
  }

  close(): void {
    this.dropSocket();
    if (this.reject) this.fail(new Error('check closed'));
    this.listening?.removeEventListener('abort', this);
    this.listening = null;
  }

  /** The abort listener (an EventListener object: no closure per probe). Only the signal of
   * the probe in flight counts: between probes, or from an older signal, nothing to do. */
  handleEvent(event: Event): void {
    if (!this.signal || event.target !== this.signal) return;
    const detail = abortDetail(this.signal);
    // the response in flight cannot be resynchronised: this connection is done
    this.dropSocket();
    this.fail(new Error(detail));
  }

  private send(): void {
    if (this.socket) this.reused = true;
    else this.connect();
    this.received = 0;
    this.reader.reset(this.opts.isHead);
    this.socket!.write(this.opts.request);
  }

  private connect(): void {
    const { host, port } = this.opts;
    let s: net.Socket;
    if (this.opts.tls) {
      s = tls.connect({ host, port, ...this.opts.tls });
      s.on('data', (chunk: Buffer) => this.onData(s, chunk, chunk.length));
    } else {
      s = net.connect({ host, port, onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => (this.onData(s, buf as Buffer, n), true) } });
    }
    s.setNoDelay(true);
    this.socket = s;
    this.socketError = null;
    this.reused = false;
    s.on('error', (err) => {
      if (s === this.socket) this.socketError = err;
    });
    // 'close' follows 'error' and the server's FIN alike: one place decides what a drop means
    s.on('close', () => this.onClose(s));
    s.on('end', () => s.destroy());
  }

  /** `n` bytes at the start of `chunk` (which may be reused once this returns) */
  private onData(s: net.Socket, chunk: Buffer, n: number): void {
    if (s !== this.socket) return;
    if (!this.resolve) return this.dropSocket(); // bytes nobody asked for: unusable connection
    this.received += n;
    let done: boolean;
    try {
      done = this.reader.feed(chunk, n);
    } catch (err) {
      this.dropSocket();
      return this.fail(err as Error);
    }
    if (!done && this.reader.bodyBytes > MAX_BODY_BYTES && this.reader.status) {
      // judge by the status we have; the cost is only a reconnect on the next probe
      this.dropSocket();
      return this.succeed(this.reader.status);
    }
    if (!done) return;
    if (!this.reader.keepAlive) this.dropSocket();
    this.succeed(this.reader.status);
  }

  private onClose(s: net.Socket): void {
    if (s !== this.socket) return;
    this.socket = null;
    if (!this.resolve) return; // an idle connection closed by the server: reconnect next time
    if (this.reader.endsAtClose) return this.succeed(this.reader.status);
    if (this.reused && this.received === 0 && !this.retried) {
      this.retried = true;
      return this.send();
    }
    const why = this.socketError?.message ?? (this.received ? 'connection closed mid-response' : 'connection closed without a response');
    this.fail(this.socketError ?? new Error(why));
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  private succeed(status: number): void {
    const resolve = this.resolve;
    this.settle();
    resolve?.(status);
  }

  private fail(err: Error): void {
    const reject = this.reject;
    this.settle();
    reject?.(err);
  }

  private settle(): void {
    this.signal = null;
    this.resolve = null;
    this.reject = null;
  }
}
