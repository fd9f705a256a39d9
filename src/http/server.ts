/**
 * A daemon's HTTP server: one router and one auth layer behind two listeners, TCP (load
 * balancers, monitors, remote lighthousectl) and a local Unix socket (lighthousectl on the
 * node). A listener that cannot bind (port taken, socket directory missing) is logged and
 * retried with backoff: the HTTP server is never a reason for the daemon to stop its work.
 * `configure` (http.yaml, live) re-binds only the listener whose settings changed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Authenticator, type ActionTokenVerifier } from './auth.js';
import { createTlsServer, type TlsFiles } from './tls.js';
import { HttpError, type Caller, type Reply, type Router } from './router.js';
import type { HttpSettings } from './schema.js';
import type { Users } from './users.js';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_STREAM_BUFFERED = 16 * 1024 * 1024;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const BASIC = 'Basic realm="lighthouse", charset="UTF-8"';

export interface HttpServerOptions {
  router: Router;
  logger: Logger;
  clock: Clock;
  /** applied to every answer a handler makes (bodies, streamed pieces, errors): the daemon's
   * secrets (core/redact.ts) reach no API answer, as they reach no log line */
  redact?: (text: string) => string;
}

export class HttpServer {
  private readonly log: Logger;
  private readonly auth: Authenticator;
  private tcp: Listener | null = null;
  private unix: Listener | null = null;

  private readonly redact: (text: string) => string;

  constructor(private readonly opts: HttpServerOptions) {
    this.log = opts.logger.child({ component: 'http' });
    this.redact = opts.redact ?? ((t) => t);
    this.auth = new Authenticator(this.log, opts.clock);
  }

  /** `users`: users.yaml (who may read over TCP); none: the token_file's tokens only */
  configure(s: HttpSettings, users?: Users): void {
    this.auth.setTokenFile(s.tokenFile);
    this.auth.setUsers(users);
    const tcpKey = s.port === null ? null : `${s.bindAddress ?? '*'}:${s.port}${s.tls ? ` tls ${s.tls.cert} ${s.tls.key}` : ''}`;
    if (tcpKey !== (this.tcp?.key ?? null)) {
      void this.tcp?.close();
      this.tcp = tcpKey ? new Listener(tcpKey, this.opts.clock, this.log, () => this.bindTcp(s.port!, s.bindAddress, s.tls)) : null;
    }
    const unixKey = s.socket === null ? null : `${s.socket} mode ${s.socketMode.toString(8)}`;
    if (unixKey !== (this.unix?.key ?? null)) {
      void this.unix?.close();
      this.unix = unixKey ? new Listener(unixKey, this.opts.clock, this.log, () => this.bindUnix(s.socket!, s.socketMode)) : null;
    }
  }

  /** Signed action tokens for `action` routes (the action service verifies them). */
  setActionTokenVerifier(verify: ActionTokenVerifier | undefined): void {
    this.auth.setActionTokenVerifier(verify);
  }

  /** where it listens now: "ADDRESS:PORT" and the socket path, once bound */
  listening(): { tcp?: string; socket?: string } {
    return { ...(this.tcp?.bound && { tcp: this.tcp.key.split(' tls ')[0] }), ...(this.unix?.bound && { socket: this.unix.key.split(' mode ')[0] }) };
  }

  async stop(): Promise<void> {
    await Promise.all([this.tcp?.close(), this.unix?.close()]);
    this.tcp = this.unix = null;
  }

  private server(via: Caller['via']): Server {
    const server = createServer((req, res) => void this.handle(req, res, via));
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    return server;
  }

  private async bindTcp(port: number, host: string | undefined, tls: TlsFiles | undefined): Promise<() => Promise<void>> {
    if (!tls) {
      const server = this.server('tcp');
      await listen(server, { port, host });
      return () => closeServer(server);
    }
    const { server, stopRenewal } = await createTlsServer(tls, (req, res) => void this.handle(req, res, 'tcp'), this.opts.clock, this.log);
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    await listen(server, { port, host }).catch((err) => (stopRenewal(), Promise.reject(err)));
    return () => (stopRenewal(), closeServer(server));
  }

  private async bindUnix(path: string, mode: number): Promise<() => Promise<void>> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await clearStaleSocket(path);
    const server = this.server('socket');
    await listen(server, { path });
    await chmod(path, mode);
    const { ino } = await lstat(path);
    return async () => {
      await closeServer(server);
      // remove the socket file only if it is still ours (a newer daemon may have taken the path)
      if ((await lstat(path).catch(() => null))?.ino === ino) await unlink(path).catch(() => {});
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse, via: Caller['via']): Promise<void> {
    const head = req.method === 'HEAD';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = this.opts.router.match(req.method ?? 'GET', url.pathname);
      if (!('route' in m)) {
        const allow = m.allow ? { allow: m.allow.join(', ') } : undefined;
        return send(res, { status: m.status, body: { error: m.status === 404 ? `no such resource: ${url.pathname}` : `method ${req.method} not allowed here`, status: m.status }, headers: allow }, head);
      }
      const access = typeof m.route.access === 'function' ? m.route.access() : m.route.access;
      const who = await this.auth.identify(req, via, access);
      if (!who.ok) return send(res, { status: who.status, body: { error: who.message, status: who.status }, headers: who.status === 401 ? { 'www-authenticate': /^basic/i.test(req.headers.authorization ?? '') ? BASIC : 'Bearer' } : undefined }, head);
      if (access === 'read' && via === 'tcp' && !this.auth.hasUsers) {
        return send(res, { status: 403, body: { error: 'no users.yaml on this node: the status is served on the local socket only', status: 403 } }, head);
      }
      if (access === 'read' && who.caller.subject === null) {
        return send(res, { status: 401, body: { error: 'authentication required', status: 401 }, headers: { 'www-authenticate': BASIC } }, head);
      }
      if (access === 'change' && who.caller.subject === null) {
        return send(res, { status: 401, body: { error: 'this change needs the local socket or "Authorization: Bearer TOKEN"', status: 401 }, headers: { 'www-authenticate': 'Bearer' } }, head);
      }
      if (access === 'change' && who.caller.roles !== undefined) {
        return send(res, { status: 403, body: { error: 'users of users.yaml may read the status, not change it (the local socket or a token_file token may)', status: 403 } }, head);
      }
      const reply = await m.route.handler({ method: req.method ?? 'GET', url, params: m.params, headers: req.headers, caller: who.caller, json: () => readJson(req) });
      if (reply.stream && !head) {
        // the status is sent: a failure now can only end the stream early
        return await sendStream(res, reply, reply.stream, this.redact).catch((err) => this.log.error({ err, method: req.method, path: req.url }, 'HTTP stream failed'));
      }
      send(res, reply, head, this.redact);
    } catch (err) {
      if (err instanceof HttpError) return send(res, { status: err.status, body: { error: err.message, status: err.status, ...err.extra } }, head, this.redact);
      this.log.error({ err, method: req.method, path: req.url }, 'HTTP handler failed');
      send(res, { status: 500, body: { error: 'internal error (see the daemon log)', status: 500 } }, head);
    }
  }
}

/** One listener, bound now or retrying with backoff until it is (or until closed). */
class Listener {
  bound = false;
  private closeFn: (() => Promise<void>) | null = null;
  private retry: { cancel(): void } | null = null;
  private backoff = RETRY_MIN_MS;
  private closed = false;
  private lastError = '';

  constructor(
    readonly key: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly bind: () => Promise<() => Promise<void>>,
  ) {
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    this.retry = null;
    try {
      const close = await this.bind();
      if (this.closed) return void (await close());
      this.closeFn = close;
      this.bound = true;
      this.log.info({ listen: this.key }, `HTTP listening on ${this.key}`);
    } catch (err) {
      if (this.closed) return;
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      // once per distinct cause, then quietly: a port held for hours must not flood the log
      if (why !== this.lastError) this.log.error({ listen: this.key, err }, `HTTP cannot listen on ${this.key} (${why}); retrying (the daemon keeps working meanwhile)`);
      this.lastError = why;
      this.retry = this.clock.setTimeout(() => void this.attempt(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, RETRY_MAX_MS);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    this.bound = false;
    await this.closeFn?.();
  }
}

function listen(server: Server | import('node:https').Server, where: { port: number; host?: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server | import('node:https').Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A socket file nobody answers on is left by a daemon that died: remove it. One that answers
 * belongs to a running daemon (EADDRINUSE, retried); anything else at the path is not ours. */
async function clearStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (!st) return;
  if (!st.isSocket()) throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
  if (alive) throw Object.assign(new Error(`another process answers on ${path}`), { code: 'EADDRINUSE' });
  await unlink(path);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new HttpError(400, 'expected a JSON body');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not JSON (${(err as Error).message})`);
  }
}

/** A streamed body: chunked, each piece written as it comes; the producer's signal aborts when
 * the connection closes before the end, or when the caller reads so slowly that more than
 * MAX_STREAM_BUFFERED bytes wait for it (the connection is then dropped: memory stays bounded). */
async function sendStream(res: ServerResponse, reply: Reply, produce: NonNullable<Reply['stream']>, redact: (text: string) => string): Promise<void> {
  const gone = new AbortController();
  res.on('close', () => res.writableFinished || gone.abort());
  res.writeHead(reply.status, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...reply.headers });
  res.flushHeaders();
  const write = (chunk: string) => {
    if (!res.writable) return;
    if (res.writableLength > MAX_STREAM_BUFFERED) return void res.destroy();
    res.write(redact(chunk));
  };
  try {
    await produce(write, gone.signal);
  } finally {
    res.end();
  }
}

function send(res: ServerResponse, reply: Reply, head: boolean, redact: (text: string) => string = (t) => t): void {
  const text = redact(typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : `${JSON.stringify(reply.body, null, 2)}\n`);
  const type = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(reply.status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...reply.headers });
  res.end(head ? undefined : text);
}
