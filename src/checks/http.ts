/**
 * `http` check: one request per probe on a kept-alive connection (undici, see http-probe.ts),
 * passing when the status is expected and, with `search`, the body holds what it must.
 * Credentials (basic auth, a token, a client certificate) come from the config, usually through
 * `${env:...}` / `${file:...}` references or `*_file` keys; a failure detail names the auth
 * mode, never the secret, and shows no query string (tokens often travel there).
 */
import net from 'node:net';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { agentClass, clientClass, redirectInterceptor, type Dispatcher, type Interceptor } from '../core/undici.js';
import { errorDetail, PASS } from './detail.js';
import { HttpTarget, type ProbeOutcome } from './http-probe.js';
import { httpSchema, type HttpConfig } from './http-schema.js';
import { searchBody } from './http-search.js';

export { httpSchema, type HttpConfig } from './http-schema.js';

function expected(ranges: readonly [number, number][], status: number): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

/** The headers every probe sends: extra headers, Host, and the credentials. */
function requestHeaders(c: HttpConfig): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': 'lighthouse-check', ...c.headers };
  if (c.host !== undefined) h.host = c.host;
  if (c.username !== undefined) h.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
  if (c.token !== undefined) h[c.token_header.toLowerCase()] = c.token_header.toLowerCase() === 'authorization' ? `Bearer ${c.token}` : c.token;
  return h;
}

/**
 * A redirect to another origin must not carry our credentials there. undici drops
 * Authorization and Cookie on such a hop; a token in a header of another name it cannot know
 * about: this interceptor, below the redirect one, sees every hop and drops it.
 */
function keepSecretHeadersHome(origin: string, names: readonly string[]): Interceptor {
  const secret = (name: unknown) => names.includes(String(name).toLowerCase());
  return (dispatch) => (opts, handler) => {
    if (!opts.origin || String(opts.origin) === origin || !opts.headers) return dispatch(opts, handler);
    // the redirect handler passes headers as a flat [name, value, ...] list
    const h = opts.headers as unknown;
    let headers: unknown;
    if (Array.isArray(h)) {
      const kept: unknown[] = [];
      for (let i = 0; i < h.length; i += 2) if (!secret(h[i])) kept.push(h[i], h[i + 1]);
      headers = kept;
    } else headers = Object.fromEntries(Object.entries(h as Record<string, string>).filter(([k]) => !secret(k)));
    return dispatch({ ...opts, headers } as typeof opts, handler);
  };
}

/** A word on why a 401/403 or a TLS alert happened, naming the auth mode and never a secret. */
function authHint(c: HttpConfig, status: number): string {
  const mode = c.username !== undefined ? `basic auth as ${JSON.stringify(c.username)}` : c.token !== undefined ? `token in ${c.token_header}` : undefined;
  if (status !== 401 && status !== 403) return '';
  if (mode) return `: the server rejected the credentials (${mode})`;
  return status === 401 ? ': the server wants credentials (username/password or token)' : '';
}

function tlsHint(c: HttpConfig, err: unknown): string {
  const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message ?? ''}`;
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(text)) return c.cert ? ' (the server rejected the client certificate)' : ' (the server requires a client certificate: set cert and key)';
  if (c.cert && /BAD_CERTIFICATE|UNKNOWN_CA|bad certificate|unknown ca/i.test(text)) return ' (the server rejected the client certificate)';
  // TLS 1.3: a server that wants a certificate we did not send may just close after the handshake
  if (c.https && !c.cert && /UND_ERR_SOCKET|ECONNRESET/.test(text)) return ' (the server closed the TLS connection: if it requires a client certificate, set cert and key)';
  return '';
}

export function createHttpCheck(config: HttpConfig, target: CheckTarget): Check {
  const scheme = config.https ? 'https' : 'http';
  const hostPart = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  const origin = `${scheme}://${hostPart}:${target.port}`;
  const shownUri = config.uri.includes('?') ? `${config.uri.slice(0, config.uri.indexOf('?'))}?...` : config.uri;
  const label = `http ${config.method} ${origin}${shownUri}`;
  const tlsName = config.host?.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const connect = {
    rejectUnauthorized: config.tls_verify,
    // an IP is not a valid TLS server name (RFC 6066); Node warns if given one
    ...(tlsName && !net.isIP(tlsName) ? { servername: tlsName } : {}),
    ...(config.ca !== undefined ? { ca: config.ca } : {}),
    ...(config.cert !== undefined ? { cert: config.cert, key: config.key } : {}),
  };
  // the probe's AbortSignal bounds every request: undici's own timers stay off
  const common = { connect, headersTimeout: 0, bodyTimeout: 0 };
  const secretHeaders = ['authorization', ...(config.token !== undefined ? [config.token_header.toLowerCase()] : [])];
  const makeDispatcher = (): Dispatcher => {
    if (!config.follow_redirects) {
      const Client = clientClass();
      return new Client(origin, { ...common, pipelining: 1 });
    }
    const Agent = agentClass();
    return new Agent({ ...common, connections: 1 }).compose(keepSecretHeadersHome(origin, secretHeaders), redirectInterceptor({ maxRedirections: config.max_redirects }));
  };
  const conn = new HttpTarget({
    connect: makeDispatcher,
    request: { origin, path: config.uri, method: config.method as Dispatcher.HttpMethod, headers: requestHeaders(config) },
    readBody: config.search !== undefined,
    maxBody: config.max_body,
  });
  const judge = (o: ProbeOutcome): CheckResult => {
    if (o.tooLarge) return { ok: false, detail: `${label}: body larger than max_body (${config.max_body} bytes)` };
    if (!expected(config.expect, o.status)) return { ok: false, detail: `${label}: status ${o.status}${o.statusText ? ` ${o.statusText}` : ''}${authHint(config, o.status)}` };
    if (config.search === undefined) return PASS;
    const miss = searchBody(config.search, o.body!.toString('utf8'));
    return miss === null ? PASS : { ok: false, detail: `${label}: ${miss}` };
  };
  const onError = (err: unknown): CheckResult => ({ ok: false, detail: `${label}: ${errorDetail(err)}${tlsHint(config, err)}` });
  return {
    run: (signal) => conn.request(signal).then(judge, onError),
    close: () => conn.close(),
  };
}

export const httpCheck = {
  kind: 'check',
  name: 'http',
  schema: httpSchema,
  create: (config, target, _deps) => createHttpCheck(config, target),
} satisfies CheckPlugin<HttpConfig>;
