/**
 * `http` check: one request per probe, passing when the status is expected.
 *
 * Cost matters here: a reporter must do about 1,000 of these a second within 5% of a core. So
 * each check keeps one undici Client (one keep-alive connection to the target, reused across
 * probes), builds its request options once, and talks to the Client through the low-level
 * `dispatch` handler API: no response stream, no header object, the body is counted and
 * dropped. The body is still read to the end so the connection stays reusable.
 */
import net from 'node:net';
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { abortDetail, errorDetail } from './detail.js';

/** "200", "200-399", "200,204,300-399" -> inclusive ranges; anything else is a config error. */
function parseExpect(spec: string, ctx: z.RefinementCtx): [number, number][] {
  const ranges: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] ? Number(m[2]) : lo;
    if (!m || lo < 100 || hi > 599 || lo > hi) {
      ctx.addIssue({ code: 'custom', message: `bad status ${JSON.stringify(part.trim())}: expected a code 100-599 or a range like 200-399` });
      return z.NEVER;
    }
    ranges.push([lo, hi]);
  }
  return ranges;
}

const statusCode = z.int().min(100).max(599);

/**
 * http check keys (`rise`, `fall`, `timeout` are common and handled by the reporter):
 *   uri:        path and query to request, starting with "/". Required.
 *   method:     HTTP method. Default GET.
 *   https:      use TLS. Default false.
 *   tls_verify: with https, verify the certificate chain and name. Default false, like the
 *               Python Lighthouse (urllib did not verify): health endpoints on loopback or a
 *               private address rarely carry a certificate valid for that address.
 *   host:       Host header (and TLS server name when it is a name). Default: the target's
 *               host:port.
 *   expect:     passing statuses: a code (200), a list of codes ([200, 204]), or a string of
 *               codes and ranges ("200-399", "200,301-302"). Default any 2xx ("200-299").
 *   headers:    extra request headers (map of strings). Optional; default none.
 */
export const httpSchema = z.strictObject({
  uri: z.string().startsWith('/', 'must start with "/"'),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')
    .default('GET'),
  https: z.boolean().default(false),
  tls_verify: z.boolean().default(false),
  host: z.string().min(1).optional(),
  expect: z
    .union([
      statusCode.transform((c): [number, number][] => [[c, c]]),
      z.array(statusCode).min(1).transform((cs) => cs.map((c): [number, number] => [c, c])),
      z.string().transform(parseExpect),
    ])
    .default([[200, 299]]),
  headers: z.record(z.string(), z.string()).optional(),
});
export type HttpConfig = z.output<typeof httpSchema>;

/** A health body larger than this is not worth reading; the connection is dropped instead. */
const MAX_BODY_BYTES = 64 * 1024;

function expected(ranges: readonly [number, number][], status: number): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

/** The per-probe state undici calls back into; one small object per request. */
class Probe implements Dispatcher.DispatchHandler {
  private status = 0;
  private bytes = 0;
  private abortFn: ((err?: Error) => void) | null = null;
  private done = false;

  constructor(
    private readonly signal: AbortSignal,
    private readonly settle: (status: number, err: Error | null) => void,
  ) {}

  /** The signal fired: stop waiting now; undici is told at once if the request is on the
   * wire, or in onConnect if it is still queued. Returns false if already settled. */
  cancel(): boolean {
    if (this.done) return false;
    // settle first so undici's echo of the abort (onError) does not replace our detail
    this.finish(0, new Error(abortDetail(this.signal)));
    this.abortFn?.(this.signal.reason);
    return true;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) return abort(new Error('probe already settled'));
    this.abortFn = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > MAX_BODY_BYTES && this.abortFn) {
      // judge by the status we already have; aborting costs only a reconnect next probe
      this.finish(this.status, null);
      this.abortFn(new Error('body too large'));
    }
    return true;
  }

  onComplete(): void {
    this.finish(this.status, null);
  }

  onError(err: Error): void {
    this.finish(0, err);
  }

  private finish(status: number, err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.settle(status, err);
  }
}

export function createHttpCheck(config: HttpConfig, target: CheckTarget): Check {
  const hostPart = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const origin = `${config.https ? 'https' : 'http'}://${hostPart}:${target.port}`;
  const label = `http ${config.method} ${origin}${config.uri}`;
  const headers: Record<string, string> = { ...config.headers };
  // undici takes a `host` header as the Host override
  if (config.host) headers.host = config.host;
  const tlsName = config.host?.replace(/:\d+$/, '');
  const connect = config.https
    ? { rejectUnauthorized: config.tls_verify, ...(tlsName && !net.isIP(tlsName) ? { servername: tlsName } : {}) }
    : undefined;
  const request: Dispatcher.DispatchOptions = { path: config.uri, method: config.method as Dispatcher.HttpMethod, headers };
  let client: Client | null = null;

  const dropClient = () => {
    // a connect that hangs keeps later requests queued behind it: start over with a new one
    client?.destroy().catch(() => undefined);
    client = null;
  };

  return {
    run(signal: AbortSignal): Promise<CheckResult> {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve({ ok: false, detail: `${label}: ${abortDetail(signal)}` });
        client ??= new Client(origin, { pipelining: 1, connect });
        const probe = new Probe(signal, (status, err) => {
          signal.removeEventListener('abort', onAbort);
          if (err) resolve({ ok: false, detail: `${label}: ${errorDetail(err)}` });
          else if (expected(config.expect, status)) resolve({ ok: true });
          else resolve({ ok: false, detail: `${label}: status ${status}` });
        });
        const onAbort = () => {
          if (probe.cancel()) dropClient();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        client.dispatch(request, probe);
      });
    },
    close() {
      dropClient();
    },
  };
}

export const httpCheck = {
  kind: 'check',
  name: 'http',
  schema: httpSchema,
  create: (config, target, _deps) => createHttpCheck(config, target),
} satisfies CheckPlugin<HttpConfig>;
