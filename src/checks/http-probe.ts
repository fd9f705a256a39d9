/**
 * One HTTP request at a time to one target, on undici: a Client (an Agent when redirects may
 * change origin) kept across probes, so probes reuse a keep-alive connection (and a TLS
 * session: one handshake per connection, not per probe).
 *
 * Requests go through `dispatch` with a handler of ours rather than `request()`: the body is
 * counted as it comes and kept only when it is to be searched, and a body over the limit
 * stops the read there. undici's own header and body timeouts are off: the probe's
 * AbortSignal (the check's timeout, from the scheduler) bounds everything, connect included.
 *
 * The abort listener stays on a signal from probe to probe (the scheduler reuses one signal
 * until it fires) and moves when the signal changes: adding and removing one per probe left
 * old-space garbage in the signal's listener table on every probe.
 *
 * A probe that times out after its request went out leaves that request to finish on its
 * connection (the late answer is read and dropped), and the next probe queues behind it on the
 * same connection. Replacing the connection instead made every timeout cost a connect and a
 * teardown: a reporter kept off the CPU long enough to miss deadlines then spent more CPU per
 * probe, missed more, and a run at 1,000 checks a second collapsed to a fraction of its probes.
 * Only one request is left behind: a probe that fails while one still is (the server hangs),
 * or fails in any other way, drops the dispatcher (and with it the connection, or a connect
 * still pending); the next probe makes a new one.
 *
 * A server may close an idle keep-alive connection just as we send on it. That race is told
 * apart from a real failure the way browsers do it: a request on a connection that already
 * carried a response, dropped before any answer, is sent once more on a fresh connection.
 */
import type { Dispatcher } from '../core/undici.js';
import { abortDetail } from './detail.js';

export interface ProbeOutcome {
  status: number;
  statusText: string;
  /** the body, when asked for and not over the limit */
  body?: Buffer;
  /** the body was longer than the limit (it was not read to its end) */
  tooLarge: boolean;
}

export interface HttpTargetOptions {
  /** make the dispatcher (a Client or a composed Agent) */
  connect(): Dispatcher;
  /** the request, the same for every probe */
  request: Dispatcher.DispatchOptions;
  readBody: boolean;
  maxBody: number;
}

class Probe implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private statusText = '';
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  settled = false;
  /** timed out after the request went out: its answer is read but no longer awaited */
  abandoned = false;

  /** whether any answer came (a status line) */
  get answered(): boolean {
    return this.status !== 0;
  }

  constructor(
    private readonly opts: HttpTargetOptions,
    private readonly resolve: (o: ProbeOutcome) => void,
    private readonly reject: (err: Error) => void,
    /** the request is over (answered to its end, or failed): its connection is free or gone */
    private readonly over: (probe: Probe) => void,
  ) {}

  /** whether the request went out on a connection (undici started it) */
  get sent(): boolean {
    return this.controller !== null;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error('probe abandoned'));
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    this.status = statusCode;
    this.statusText = statusMessage ?? '';
    const length = Number(headers['content-length']);
    if (length > this.opts.maxBody) this.finish(true);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.bytes += chunk.length;
    if (this.bytes > this.opts.maxBody) return this.finish(true);
    if (this.opts.readBody) this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.finish(false);
    this.over(this);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
    this.over(this);
  }

  /** Settle with what was received; a body cut short leaves the connection unusable. */
  private finish(tooLarge: boolean): void {
    if (this.settled) return;
    this.settled = true;
    if (tooLarge) this.controller?.abort(new Error('body over max_body'));
    const body = this.opts.readBody && !tooLarge ? Buffer.concat(this.chunks, this.bytes) : undefined;
    this.resolve({ status: this.status, statusText: this.statusText, body, tooLarge });
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  /** Fail the probe but let its request finish on its connection (see the file header). */
  abandon(err: Error): void {
    this.abandoned = true;
    this.fail(err);
  }
}

export class HttpTarget {
  private dispatcher: Dispatcher | null = null;
  /** responses the current dispatcher carried (a drop after one may be a stale keep-alive) */
  private served = 0;
  private probe: Probe | null = null;
  /** a timed-out probe whose request still runs on the dispatcher's connection */
  private leftBehind: Probe | null = null;
  /** the signal our abort listener is on (kept across probes, see above) */
  private listening: AbortSignal | null = null;

  constructor(private readonly opts: HttpTargetOptions) {}

  request(signal: AbortSignal): Promise<ProbeOutcome> {
    if (signal.aborted) return Promise.reject(new Error(abortDetail(signal)));
    if (signal !== this.listening) {
      this.listening?.removeEventListener('abort', this);
      signal.addEventListener('abort', this);
      this.listening = signal;
    }
    return new Promise((resolve, reject) => this.send(signal, resolve, reject));
  }

  private send(signal: AbortSignal, resolve: (o: ProbeOutcome) => void, reject: (err: Error) => void): void {
    const probe = new Probe(
      this.opts,
      (o) => {
        this.probe = null;
        this.served++;
        if (o.tooLarge) this.drop();
        resolve(o);
      },
      (err) => {
        this.probe = null;
        if (probe.abandoned) {
          this.leftBehind = probe;
          return reject(err);
        }
        const stale = this.served > 0 && !probe.answered && !signal.aborted && (err as { code?: string }).code === 'UND_ERR_SOCKET';
        this.drop();
        if (stale) this.send(signal, resolve, reject);
        else reject(err);
      },
      (done) => {
        if (this.leftBehind === done) this.leftBehind = null;
      },
    );
    this.probe = probe;
    try {
      if (!this.dispatcher) {
        this.dispatcher = this.opts.connect();
        this.served = 0;
      }
      this.dispatcher.dispatch(this.opts.request, probe);
    } catch (err) {
      probe.fail(err as Error);
    }
  }

  /** The abort listener (an EventListener object: no closure per probe). */
  handleEvent(event: Event): void {
    const signal = this.listening;
    if (!signal || event.target !== signal || !this.probe) return;
    const err = new Error(abortDetail(signal));
    if (this.probe.sent && !this.leftBehind) this.probe.abandon(err);
    else this.probe.fail(err);
  }

  close(): void {
    this.probe?.fail(new Error('check closed'));
    this.drop();
    this.listening?.removeEventListener('abort', this);
    this.listening = null;
  }

  private drop(): void {
    const d = this.dispatcher;
    this.dispatcher = null;
    this.leftBehind = null;
    d?.destroy().catch(() => {});
  }
}
