/**
 * Keeps ZooKeeper holding exactly the ephemeral znodes we want. The desired set {path -> data} is
 * the truth; ZooKeeper is brought in line with it:
 *  - on register/unregister (serialised per path, so a quick register + unregister cannot cross),
 *  - on every new session (ephemerals of the old one are gone or about to go: re-create all),
 *  - on reconnect within a session, and on a backoff timer, for paths whose last attempt failed.
 * A znode at our path left by another (older) session is replaced by delete + create in one
 * transaction, as the Python Lighthouse does, so readers never see it missing.
 *
 * Znodes are created with the configured ACLs (index.ts `acl`): instances with `znodes`,
 * missing parents with `parents`. With a guarded ACL (one that does not let anyone delete),
 * the parent of the first znode published under it is checked once: a parent that lets anyone
 * create or delete children (made by someone else, or before `auth` was set) undoes the
 * instances' ACL, and is named in a warning.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { LighthouseError } from '../../core/errors.js';
import { CreateMode, ZK_ERR, zkCode, type ZkSession } from './session.js';
import { OPEN_ACL, formatAcl, type ZkAcl } from './zk-client.js';

export interface PublisherAcls {
  znodes: readonly ZkAcl[];
  parents: readonly ZkAcl[];
}

/** world:anyone with create or delete: anyone may add or remove children */
const OPEN_CHILDREN = 4 | 8;

const MAX_ATTEMPTS = 5; // a path that keeps changing under us is a bug elsewhere: stop and retry later
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export class Publisher {
  private readonly desired = new Map<string, Buffer>();
  /** what we know ZooKeeper holds for this session (path -> data); cleared on a new session */
  private readonly actual = new Map<string, Buffer>();
  /** paths whose last sync failed: retried on reconnect and on the backoff timer */
  private readonly dirty = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();
  private retry: { cancel(): void } | null = null;
  private backoff = RETRY_MIN_MS;
  private stopped = false;
  private readonly detach: () => void;
  /** parents whose ACL was checked (guarded ACLs only) */
  private readonly checkedParents = new Set<string>();

  constructor(
    private readonly session: ZkSession,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly acls?: PublisherAcls,
  ) {
    const onSession = () => void this.resync();
    const onConnected = () => this.retryDirty();
    session.on('session', onSession);
    session.on('connected', onConnected);
    this.detach = () => {
      session.off('session', onSession);
      session.off('connected', onConnected);
    };
  }

  /** Create or update the znode. Rejects if ZooKeeper could not be updated now; the znode stays
   * desired and is retried (on reconnect, on a new session, on a timer) until unregistered. */
  register(path: string, data: string): Promise<void> {
    this.desired.set(path, Buffer.from(data, 'utf8'));
    return this.sync(path);
  }

  /** Delete the znode (whoever owns it, as Python does: it is this instance's path). */
  unregister(path: string): Promise<void> {
    this.desired.delete(path);
    return this.sync(path);
  }

  /** Delete every znode we published, bounded by `waitMs`; the session close that follows
   * removes whatever is left anyway. */
  async stop(waitMs: number): Promise<void> {
    this.stopped = true;
    this.detach();
    this.retry?.cancel();
    const paths = [...new Set([...this.desired.keys(), ...this.actual.keys()])];
    this.desired.clear();
    if (!this.session.connected || paths.length === 0) return;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = this.clock.setTimeout(() => r('timeout'), waitMs)));
    const all = Promise.allSettled(paths.map((p) => this.sync(p)));
    const r = await Promise.race([all, timeout]);
    timer?.cancel();
    if (r === 'timeout') this.log.warn({ count: paths.length }, `znodes not all deleted within ${waitMs} ms; the session close removes them`);
    else this.log.info({ count: paths.length }, 'deleted published znodes');
  }

  private sync(path: string): Promise<void> {
    const prev = this.chains.get(path) ?? Promise.resolve();
    const next = prev.then(
      () => this.apply(path),
      () => this.apply(path),
    );
    this.chains.set(path, next);
    const done = () => void (this.chains.get(path) === next && this.chains.delete(path));
    next.then(done, done);
    return next;
  }

  private async apply(path: string): Promise<void> {
    const want = this.desired.get(path);
    try {
      if (want === undefined) {
        await this.session.remove(path).catch((err) => {
          if (zkCode(err) !== ZK_ERR.NO_NODE) throw err;
        });
        this.actual.delete(path);
      } else if (!this.actual.get(path)?.equals(want)) {
        const sid = this.session.sessionId;
        await this.ensure(path, want);
        if (this.session.sessionId === sid) this.actual.set(path, want);
      }
      this.dirty.delete(path);
      if (this.dirty.size === 0) this.backoff = RETRY_MIN_MS;
    } catch (err) {
      const first = !this.dirty.has(path);
      this.dirty.add(path);
      this.actual.delete(path);
      const msg = `znode not ${want ? 'published' : 'deleted'} yet; will retry`;
      if (first) this.log.warn({ znode: path, err }, msg);
      else this.log.debug({ znode: path, err }, msg);
      this.scheduleRetry();
      throw err;
    }
  }

  private async ensure(path: string, data: Buffer): Promise<void> {
    const s = this.session;
    if (this.actual.has(path)) {
      // ours in this session: one round trip (unless someone deleted it meanwhile)
      const gone = await s.setData(path, data).then(
        () => false,
        (err) => {
          if (zkCode(err) !== ZK_ERR.NO_NODE) throw err;
          return true;
        },
      );
      if (!gone) return;
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await s.create(path, data, 'ephemeral', this.acls?.znodes);
        this.checkParent(path);
        return;
      } catch (err) {
        const code = zkCode(err);
        if (code === ZK_ERR.NO_NODE) {
          await s.mkdirp(path.slice(0, path.lastIndexOf('/')), this.acls?.parents);
          continue;
        }
        if (code !== ZK_ERR.NODE_EXISTS) throw err;
      }
      const cur = await s.getData(path).catch((err) => {
        if (zkCode(err) === ZK_ERR.NO_NODE) return null;
        throw err;
      });
      if (!cur) continue;
      try {
        if (s.ownsEphemeral(cur.stat)) {
          if (!cur.data.equals(data)) await s.setData(path, data, cur.stat.version);
        } else {
          await s.transaction(path, (t) => t.remove(path, cur.stat.version).create(path, data, this.acls?.znodes ?? OPEN_ACL, CreateMode.EPHEMERAL));
          this.log.info({ znode: path, owner: cur.stat.ephemeralOwner.toString('hex') }, 'replaced a znode left by another session');
        }
        return;
      } catch (err) {
        const code = zkCode(err);
        if (code !== ZK_ERR.NO_NODE && code !== ZK_ERR.BAD_VERSION && code !== ZK_ERR.NODE_EXISTS) throw err;
      }
    }
    throw new LighthouseError('LH_ERR_ZK_OP', `znode ${path} kept changing while we published it (${MAX_ATTEMPTS} attempts)`);
  }

  /** Once per parent, with guarded ACLs: warn when the parent lets anyone create or delete
   * children (in the background: publishing does not wait for it). */
  private checkParent(path: string): void {
    const guarded = this.acls && !this.acls.znodes.some((a) => isAnyone(a) && a.permission & OPEN_CHILDREN);
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (!guarded || this.checkedParents.has(parent)) return;
    this.checkedParents.add(parent);
    this.session.getAcl(parent).then(
      (acl) => {
        const open = acl.filter((a) => isAnyone(a) && a.permission & OPEN_CHILDREN);
        if (open.length) this.log.warn({ znode: parent, acl: acl.map(formatAcl) }, `znode ${parent} lets anyone create or delete its children (${open.map(formatAcl).join(', ')}): anyone can delete or add instances of this service; restrict it (README, "Security model")`);
      },
      () => this.checkedParents.delete(parent), // asked again with the next znode
    );
  }

  /** New session: nothing of ours exists in it yet. Re-create every desired znode, and delete
   * paths whose unregister never went through (an older session may still hold them). */
  private async resync(): Promise<void> {
    this.actual.clear();
    const paths = [...new Set([...this.desired.keys(), ...this.dirty])];
    if (paths.length === 0) return;
    const results = await Promise.allSettled(paths.map((p) => this.sync(p)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    const msg = `re-registered ${this.desired.size} znodes on the new session`;
    if (failed) this.log.warn({ count: paths.length, failed }, `${msg}; ${failed} failed, will retry`);
    else this.log.info({ count: paths.length }, msg);
  }

  private retryDirty(): void {
    for (const p of this.dirty) this.sync(p).catch(() => {});
  }

  private scheduleRetry(): void {
    if (this.retry || this.stopped) return;
    const ms = this.backoff;
    this.backoff = Math.min(this.backoff * 2, RETRY_MAX_MS);
    this.retry = this.clock.setTimeout(() => {
      this.retry = null;
      // while disconnected the 'connected' / 'session' events do the retry
      if (this.session.connected) this.retryDirty();
    }, ms);
  }
}

function isAnyone(a: ZkAcl): boolean {
  return a.id.scheme === 'world' && a.id.id === 'anyone';
}
