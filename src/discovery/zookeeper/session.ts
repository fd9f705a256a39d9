/**
 * One ZooKeeper session at a time, replaced when the server says it expired.
 *
 * node-zookeeper-client has no read timeout: partitioned (or with the server stopped) it waits
 * forever. So we keep our own clock from the last contact (liveness.ts): ping (exists('/')) when
 * idle, drop a silent connection. Silent for the whole session timeout, the session is only
 * *probably* gone: a server that was slow or stopped may still hold it (it counts from the last
 * request it received, and an overloaded server revives a session it reads late pings of). So,
 * as ZooKeeper's Java client does, we keep reconnecting with the same session id and password
 * until a server answers: with the session (it lived: nothing of ours was ever deleted), or
 * "expired" (then, and only then, a new session). Starting a new session on our own verdict
 * would leave the old one to expire later, deleting our ephemerals under the new session's
 * watchers. Connection loss within a session is not a loss: watches survive (the client
 * re-sends them).
 *
 * Events: 'session' (a new session is established, id in hex), 'connected' (the same session is
 * usable again after a connection loss), 'disconnected', 'expired' (the server expired the
 * session, or refused our credentials). Operations are promises; those pending when the
 * connection goes silent for the session timeout, or when the session is lost, reject with
 * LH_ERR_ZK_SESSION so nothing waits forever.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { LighthouseError } from '../../core/errors.js';
import { ADD_WATCH_MODE, addWatch, onNotification } from './add-watch.js';
import { Liveness } from './liveness.js';
import { ZkOperations, zkCode } from './operations.js';
import { RecursiveWatches, type RecursiveHandler } from './recursive-watches.js';
import { CreateMode, ZK_ERR, abandon, createZkClient, discard, dropConnection, errCode, type ZkClient, type ZkStat } from './zk-client.js';

export interface ZkSessionOptions {
  hosts: readonly string[];
  /** requested session timeout (ms); the server clamps it to 2..20 x tickTime */
  sessionTimeout: number;
  /** how long start() waits for a first session (ms) */
  connectTimeout: number;
  /** digest credentials "user:password", sent on every connection */
  auth?: string;
  /** max random delay between two rounds over all hosts (ms) */
  spinDelay?: number;
  logger: Logger;
  clock: Clock;
  /** tests: a fake client */
  createClient?: typeof createZkClient;
}

export { ZK_ERR, CreateMode, zkCode };

export class ZkSession extends ZkOperations {
  private client: ZkClient | null = null;
  private gen = 0;
  private id: Buffer | null = null;
  private isConnected = false;
  private closed = false;
  private readonly liveness: Liveness;
  /** the handshake deadline while not connected (watchConnect) */
  private connectTimer: { cancel(): void } | null = null;
  /** operations waiting for an answer: each fails with `why` (and its own name) if the session goes */
  private readonly pending = new Set<(why: string) => void>();
  private readonly recursive = new RecursiveWatches();
  /** false once a server answered addWatch with UNIMPLEMENTED (ZooKeeper < 3.6): never tried
   * again in this process, every watcher uses one-shot watches */
  persistentWatches = true;
  private readonly log: Logger;

  constructor(private readonly opts: ZkSessionOptions) {
    super();
    // one 'session' and one 'connected' listener per watched cluster (watcher.ts): thousands
    // of clusters are thousands of listeners by design, not a leak
    this.setMaxListeners(0);
    this.log = opts.logger;
    this.liveness = new Liveness(opts.clock, () => this.timeout, {
      connected: () => this.isConnected && this.client !== null,
      ping: () => void this.exists('/').catch(() => {}),
      drop: (heard) => {
        this.log.warn({ session: this.sessionId }, `no answer from zookeeper for ${Math.round(heard)} ms; reconnecting`);
        if (this.client) dropConnection(this.client);
      },
      silent: (heard, t) => this.silent(heard, t),
    });
  }

  get connected(): boolean {
    return this.isConnected;
  }
  /** current session id in hex, null while there is none */
  get sessionId(): string | null {
    return this.id ? this.id.toString('hex') : null;
  }
  /** the negotiated timeout (ms) once a session exists, else the requested one */
  get timeout(): number {
    return this.client && this.id ? this.client.getSessionTimeout() : this.opts.sessionTimeout;
  }

  /** Resolves at the first session; rejects after connectTimeout but keeps trying. */
  start(): Promise<void> {
    if (!this.client && !this.closed) this.spawn();
    if (this.id) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = this.opts.clock.setTimeout(() => {
        this.off('session', ok);
        reject(new LighthouseError('LH_ERR_ZK_SESSION', `no ZooKeeper session with ${this.opts.hosts.join(',')} within ${this.opts.connectTimeout} ms (still trying)`));
      }, this.opts.connectTimeout);
      const ok = () => (t.cancel(), resolve());
      this.once('session', ok);
    });
  }

  /** Close the session (the server deletes our ephemerals); bounded by `waitMs`. */
  async close(waitMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.liveness.stop();
    this.connectTimer?.cancel();
    const client = this.client;
    this.client = null;
    this.failPending('session closed');
    if (!client) return;
    if (this.isConnected) {
      // the server answers closeSession by closing the socket: 'disconnected' means it is done
      await new Promise<void>((resolve) => {
        const t = this.opts.clock.setTimeout(resolve, waitMs);
        client.once('disconnected', () => (t.cancel(), resolve()));
        client.close();
      });
    }
    this.isConnected = false;
    abandon(client);
    this.log.info({ session: this.sessionId }, 'zookeeper session closed');
  }

  /** True when `stat` is an ephemeral owned by the current session. */
  ownsEphemeral(stat: ZkStat): boolean {
    return this.id !== null && stat.ephemeralOwner.equals(this.id);
  }

  /**
   * A persistent recursive watch on `path` (ZooKeeper 3.6+): `handler` gets every event of
   * `path` and of its children (deeper ones are not dispatched) until `removeRecursiveWatch`.
   * Lives as long as the connection (re-add it on 'connected' and 'session'). Rejects with
   * ZK_ERR.UNIMPLEMENTED from an older server, and sets `persistentWatches` false.
   */
  async addRecursiveWatch(path: string, handler: RecursiveHandler): Promise<void> {
    this.recursive.add(path, handler);
    try {
      await this.op<void>(`addWatch ${path}`, (c, cb) => addWatch(c, path, ADD_WATCH_MODE.PERSISTENT_RECURSIVE, (e) => cb(e, undefined)));
    } catch (err) {
      if (zkCode(err) === ZK_ERR.UNIMPLEMENTED && this.persistentWatches) {
        this.persistentWatches = false;
        this.log.warn({ hosts: this.opts.hosts }, 'ZooKeeper server older than 3.6 (no persistent watches): using one-shot watches');
      }
      // the handler stays registered: without a watch on the server no event comes for it,
      // and a later add of the same path (a retry after this failure) must find it in place
      throw err;
    }
  }
  /** Stop dispatching `path`'s events to `handler`. The server keeps its watch until the
   * connection ends (node-zookeeper-client has no removeWatches); its events are dropped here. */
  removeRecursiveWatch(path: string, handler: RecursiveHandler): void {
    this.recursive.remove(path, handler);
  }

  protected op<T>(what: string, run: (c: ZkClient, cb: (err: Error | null, v: T) => void) => void): Promise<T> {
    const client = this.client;
    if (!client) return Promise.reject(new LighthouseError('LH_ERR_ZK_SESSION', `${what}: no ZooKeeper session`));
    return new Promise<T>((resolve, reject) => {
      const fail = (why: string) => reject(new LighthouseError('LH_ERR_ZK_SESSION', `${what}: ${why}`));
      this.pending.add(fail);
      if (this.isConnected) this.liveness.sent(); // else sent (and counted) on connect
      run(client, (err, v) => {
        if (!this.pending.delete(fail)) return; // already failed by a session loss
        const code = errCode(err);
        if (code !== ZK_ERR.CONNECTION_LOSS && code !== ZK_ERR.SESSION_EXPIRED && client === this.client) this.liveness.contact();
        if (err) reject(new LighthouseError('LH_ERR_ZK_OP', `${what}: ${(err as Error).name ?? err}`, { cause: err }));
        else resolve(v);
      });
    });
  }

  // ------------------------------------------------------------------ lifecycle

  private spawn(): void {
    const gen = ++this.gen;
    const o = this.opts;
    const client = (o.createClient ?? createZkClient)(o.hosts.join(','), o.sessionTimeout, o.spinDelay ?? 500, (err) =>
      this.log.warn({ err }, `ZooKeeper reply could not be decoded (${err.message}): reconnecting, the session is kept`),
    );
    this.client = client;
    onNotification(client, (ev) => gen === this.gen && this.recursive.dispatch(ev));
    if (o.auth) client.addAuthInfo('digest', Buffer.from(o.auth));
    const live = (fn: () => void) => () => void (gen === this.gen && !this.closed && fn());
    client.on('connected', live(() => this.onConnected(client)));
    client.on('disconnected', live(() => this.onDisconnected()));
    client.on('expired', live(() => this.lose('the server expired it')));
    client.on('authenticationFailed', live(() => this.lose('authentication failed')));
    client.connect();
    this.watchConnect(client, gen);
  }

  /**
   * Until the client connects (its first connection, or a reconnect after silence): the library
   * has no handshake timeout either, so a server that accepts the TCP connection and never
   * answers the handshake (a ZooKeeper restarting on its port, or stopped: the kernel accepts
   * for it) would hold it forever. Every session timeout without a handshake, the connection is
   * dropped and the client tries again (the next server, after spinDelay).
   */
  private watchConnect(client: ZkClient, gen: number): void {
    const wait = Math.max(1000, this.timeout);
    this.connectTimer?.cancel();
    this.connectTimer = this.opts.clock.setTimeout(() => {
      this.connectTimer = null;
      if (gen !== this.gen || this.closed || this.isConnected) return;
      this.log.debug({ hosts: this.opts.hosts }, `no ZooKeeper handshake within ${wait} ms: trying again`);
      dropConnection(client);
      this.watchConnect(client, gen);
    }, wait);
  }

  private onConnected(client: ZkClient): void {
    this.connectTimer?.cancel();
    this.connectTimer = null;
    const id = client.getSessionId();
    const fresh = !this.id || !this.id.equals(id);
    this.id = id;
    this.isConnected = true;
    this.liveness.connected();
    if (fresh) {
      const hex = id.toString('hex');
      this.log.info({ session: hex, timeout: client.getSessionTimeout() }, 'zookeeper session established');
      queueMicrotask(() => this.emit('session', hex));
    } else {
      this.log.info({ session: this.sessionId }, 'zookeeper connection restored');
      queueMicrotask(() => this.emit('connected'));
    }
  }

  private onDisconnected(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.log.warn({ session: this.sessionId }, 'zookeeper connection lost; keeping the session while it can live');
    this.emit('disconnected');
  }

  /**
   * Nothing heard for the whole session timeout: fail what waits (its answers may never come),
   * drop the connection and reconnect with the same session, until a server says whether it
   * lives ('connected') or expired ('expired': lose).
   */
  private silent(heard: number, t: number): void {
    const client = this.client;
    if (this.closed || !this.id || !client) return;
    this.log.warn({ session: this.sessionId }, `no contact with zookeeper for ${Math.round(heard)} ms (timeout ${t} ms): reconnecting to the same session until a server says whether it expired`);
    this.failPending(`no contact for ${Math.round(heard)} ms`);
    if (this.isConnected) {
      this.isConnected = false;
      this.emit('disconnected');
    }
    dropConnection(client);
    this.watchConnect(client, this.gen);
  }

  /** The session is gone: fail what waits on it, drop the client, start over. */
  private lose(why: string): void {
    const hex = this.sessionId;
    const old = this.client;
    this.liveness.stop();
    this.id = null;
    this.isConnected = false;
    this.client = null;
    this.failPending(`session ${hex} lost`);
    if (old) discard(old);
    this.log.warn({ session: hex }, `zookeeper session lost: ${why}; starting a new one`);
    if (hex) this.emit('expired', hex);
    if (!this.closed) this.spawn();
  }

  private failPending(why: string): void {
    const fails = [...this.pending];
    this.pending.clear();
    for (const f of fails) f(why);
  }
}
