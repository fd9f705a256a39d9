/**
 * `http` check: one request per probe on a kept-alive connection, passing when the status is
 * expected.
 *
 * Cost decides the client. A reporter must do about 1,000 of these a second within 5% of a core
 * and 80 MB. Measured on the project machine at 1,000 checks/s (1,000 checks, 10 local servers,
 * through CheckLoop): undici Client + dispatch ~15% of a core and ~120 MB RSS; the small
 * HTTP/1.1 client in http-conn.ts ~10% and ~65 MB; bare sockets plus timers, the floor, ~7%.
 * A health probe needs only a status line and message framing, so the small client is enough.
 * `https` goes through node:tls, the same TLS stack undici uses, with the same keep-alive reuse
 * (one handshake per connection, not per probe): TLS is no reason to switch clients either.
 */
import net from 'node:net';
import { z } from 'zod';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { errorDetail, PASS } from './detail.js';
import { HttpConnection } from './http-conn.js';

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
// Values go into the request head verbatim: CR/LF would let a config inject headers.
const headerValue = z.string().regex(/^[^\r\n]*$/, 'must not contain CR or LF');
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
  .refine((n) => n.toLowerCase() !== 'host', 'set the Host header with the `host` key');

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
 *   headers:    extra request headers (map of strings; not Host). Optional; default none.
 */
export const httpSchema = z.strictObject({
  uri: z.string().regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces'),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')
    .default('GET'),
  https: z.boolean().default(false),
  tls_verify: z.boolean().default(false),
  host: z
    .string()
    .regex(/^[^\s]+$/, 'must be a host name, optionally with :port')
    .optional(),
  expect: z
    .union([
      statusCode.transform((c): [number, number][] => [[c, c]]),
      z.array(statusCode).min(1).transform((cs) => cs.map((c): [number, number] => [c, c])),
      z.string().transform(parseExpect),
    ])
    .default([[200, 299]]),
  headers: z.record(headerName, headerValue).optional(),
});
export type HttpConfig = z.output<typeof httpSchema>;

function expected(ranges: readonly [number, number][], status: number): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

export function createHttpCheck(config: HttpConfig, target: CheckTarget): Check {
  const hostPart = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const label = `http ${config.method} ${config.https ? 'https' : 'http'}://${hostPart}:${target.port}${config.uri}`;
  const hostHeader = config.host ?? `${hostPart}:${target.port}`;
  let head = `${config.method} ${config.uri} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: lighthouse-check\r\n`;
  for (const [k, v] of Object.entries(config.headers ?? {})) head += `${k}: ${v}\r\n`;
  const tlsName = config.host?.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const conn = new HttpConnection({
    host: target.host,
    port: target.port,
    request: Buffer.from(`${head}\r\n`, 'latin1'),
    isHead: config.method === 'HEAD',
    // an IP is not a valid TLS server name (RFC 6066); Node warns if given one
    tls: config.https ? { rejectUnauthorized: config.tls_verify, ...(tlsName && !net.isIP(tlsName) ? { servername: tlsName } : {}) } : undefined,
  });
  const onStatus = (status: number): CheckResult => (expected(config.expect, status) ? PASS : { ok: false, detail: `${label}: status ${status}` });
  const onError = (err: unknown): CheckResult => ({ ok: false, detail: `${label}: ${errorDetail(err)}` });
  return {
    run: (signal) => conn.request(signal).then(onStatus, onError),
    close: () => conn.close(),
  };
}

export const httpCheck = {
  kind: 'check',
  name: 'http',
  schema: httpSchema,
  create: (config, target, _deps) => createHttpCheck(config, target),
} satisfies CheckPlugin<HttpConfig>;
