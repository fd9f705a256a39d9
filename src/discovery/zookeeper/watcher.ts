/**
 * Watches one cluster (PATH/CLUSTER) and sends whole, sorted member lists.
 *
 * One persistent recursive watch on the cluster znode (ZooKeeper 3.6+ `addWatch`): it stays
 * armed, and its events name the member itself, so a member added, changed or removed costs
 * the event + one getData of that member; nothing is re-armed per event and the client keeps
 * no registration per member. It lives as long as the connection: a reconnect adds it again
 * and re-reads the cluster (events of the gap are lost).
 *
 * Against a server older than 3.6 (addWatch answered UNIMPLEMENTED), or with `watch: classic`,
 * one-shot watches as the Python Lighthouse uses them: a child watch on the cluster znode plus a
 * data watch on each member; a member added costs the event + getChildren + getData of that
 * member, a member changed the event + one getData, a member removed the event + getChildren.
 * Every read re-arms its own watch (the client keeps one registration per function and path,
 * and re-sends them on a reconnect).
 *
 * - A cluster znode that does not exist yet: its creation is an event of the persistent watch
 *   (classic: an exists watch), plus a timer.
 * - A member whose data does not parse or is refused (znode-format.ts validates every field that can
 *   reach HAProxy): one warning naming the znode per data version (not per event, nor again
 *   when a reconnect re-reads it), and left out; its siblings keep serving.
 * - A new session: every watch is gone with the old client; re-read everything and send the
 *   result even if unchanged.
 * - Disconnected: nothing is sent (the writer keeps the last members); what failed is re-read on
 *   reconnect. A member list is only sent once every member read has answered.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { MembersListener } from '../../core/plugin.js';
import { LighthouseError } from '../../core/errors.js';
import { decodeNode } from './znode-format.js';
import { MemberLists } from './member-lists.js';
import { Members, type Member } from './members.js';
import type { ReadQueue } from './read-queue.js';
import { ZK_ERR, zkCode, type ZkSession } from './session.js';
import { ZkEventType, type RawEvent, type ZkEvent, type ZkStat } from './zk-client.js';

const MISSING_RECHECK_MS = 5_000; // fallback for a missing cluster znode, besides the exists watch
const RETRY_MS = 1_000; // a read failed for another reason than the connection (e.g. NO_AUTH)

export interface ClusterWatchOptions {
  session: ZkSession;
  /** the cluster znode, PATH/CLUSTER */
  path: string;
  listener: MembersListener;
  log: Logger;
  clock: Clock;
  /** the members' reads, in one window shared by every watch of the session */
  reads: ReadQueue;
  /** 'classic': one-shot watches even when the server has persistent ones (default 'auto') */
  mode?: 'auto' | 'classic';
}

export class ClusterWatch {
  private readonly members = new Members();
  private epoch = 0; // bumped by a full re-read: answers to older reads are dropped
  private dirty = false;
  private stopped = false;
  /** the current epoch's reads rely on the persistent watch (no per-read watches) */
  private persistent = false;
  /** the current epoch has read the member list (before that, events only add to it: a
   * member list then would lack every member not yet listed) */
  private listed = false;
  /**
   * Children lists asked for so far. A list answered without a member that an event added
   * after the list was asked for does not remove it: ZooKeeper may answer a read after it sent
   * the event of a newer write by another session (under load: a member created just after
   * the cluster znode would be lost for good), and the member's own read decides.
   */
  private listings = 0;
  /** members whose data was refused, with the data version (mzxid) warned about: kept across
   * re-reads so that the same bad data is warned about once */
  private readonly refused = new Map<string, number>();
  private missingTimer: { cancel(): void } | null = null;
  private retryTimer: { cancel(): void } | null = null;
  private readonly detach: () => void;
  // stable identities: the client de-duplicates watches by (path, function)
  private readonly onChildren = () => void this.readChildren(this.epoch);
  private readonly onData = (ev: ZkEvent) => void this.readMember(ev.path.slice(this.path.length + 1), this.epoch);
  private readonly onEvent = (ev: RawEvent) => this.event(ev);

  private readonly session: ZkSession;
  private readonly path: string;
  private readonly memberLists: MemberLists;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly reads: ReadQueue;
  private readonly mode: 'auto' | 'classic';

  constructor(opts: ClusterWatchOptions) {
    ({ session: this.session, path: this.path, log: this.log, clock: this.clock, reads: this.reads } = opts);
    this.memberLists = new MemberLists(opts.listener);
    this.mode = opts.mode ?? 'auto';
    const session = this.session;
    // the Discovery contract: a member list on every new session, even an unchanged one
    const onSession = () => (this.memberLists.forget(), this.reread());
    // a persistent watch is gone with the connection; one-shot ones are re-sent by the client
    const onConnected = () => (this.dirty || this.persistent) && this.reread();
    session.on('session', onSession);
    session.on('connected', onConnected);
    this.detach = () => {
      session.off('session', onSession);
      session.off('connected', onConnected);
    };
    this.reread();
  }

  stop(): void {
    this.stopped = true;
    this.missingTimer?.cancel();
    this.retryTimer?.cancel();
    this.session.removeRecursiveWatch(this.path, this.onEvent);
    this.detach();
  }

  /** Forget what we know and read everything again (new session, or recovering from a failure). */
  private reread(): void {
    this.epoch++;
    this.dirty = false;
    this.listed = false;
    this.retryTimer?.cancel();
    this.missingTimer?.cancel();
    this.members.clear();
    void this.arm(this.epoch);
  }

  /** Add the persistent watch (when the server has them), then read the members. */
  private async arm(epoch: number): Promise<void> {
    this.persistent = this.mode === 'auto' && this.session.persistentWatches;
    if (this.persistent) {
      try {
        await this.session.addRecursiveWatch(this.path, this.onEvent);
      } catch (err) {
        if (this.stale(epoch)) return;
        if (zkCode(err) !== ZK_ERR.UNIMPLEMENTED) return this.failed(err, this.path);
        this.persistent = false; // an old server: one-shot watches from now on
      }
    }
    return this.readChildren(epoch);
  }

  /** An event of the persistent watch: the cluster znode itself or one of its members. */
  private event(ev: RawEvent): void {
    if (!this.persistent || this.stopped) return;
    const epoch = this.epoch;
    if (ev.path === this.path) {
      if (ev.type === ZkEventType.NODE_CREATED || ev.type === ZkEventType.NODE_DELETED) void this.readChildren(epoch);
      return;
    }
    // A member created, changed or deleted: read it. A deletion is confirmed by that read (NO_NODE)
    // rather than applied at once: a znode replaced in one transaction (publisher.ts) arrives
    // as DELETED, then (a little later) CREATED, and a read issued after the first event
    // is answered after the whole transaction, so the member is never seen missing.
    const child = ev.path.slice(this.path.length + 1);
    if (ev.type === ZkEventType.NODE_CREATED && !this.members.has(child)) this.members.set(child, { mzxid: -1, node: null, since: this.listings, pos: -1 });
    if (ev.type !== ZkEventType.NODE_CHILDREN_CHANGED) void this.readMember(child, epoch);
  }

  private stale(epoch: number): boolean {
    return this.stopped || epoch !== this.epoch;
  }

  private async readChildren(epoch: number): Promise<void> {
    if (this.stale(epoch)) return;
    const listing = ++this.listings;
    let children: string[];
    try {
      children = await this.session.getChildren(this.path, this.persistent ? undefined : this.onChildren);
    } catch (err) {
      if (this.stale(epoch)) return;
      if (zkCode(err) === ZK_ERR.NO_NODE) return this.missing(epoch, listing);
      return this.failed(err, this.path);
    }
    if (this.stale(epoch)) return;
    this.missingTimer?.cancel();
    this.listed = true;
    this.forget(new Set(children), listing);
    const fresh = children.filter((c) => !this.members.has(c));
    for (const c of fresh) this.members.set(c, { mzxid: -1, node: null, since: listing, pos: -1 });
    if (fresh.length === 0) this.send();
    else this.readEach(fresh, epoch);
  }

  /** Read `children` through the session's ReadQueue. */
  private readEach(children: readonly string[], epoch: number): void {
    for (const c of children) this.reads.add(() => this.readMember(c, epoch));
  }

  /**
   * Read a member; its answer decides whether it is one. With the persistent watch every event
   * of a member is followed by a read of it, and answers come in the order the reads were sent,
   * so the last answer is the truth even when ZooKeeper delivers an event ahead of an older
   * read's answer (under load: deleted, re-created, and a stale NO_NODE answered last but
   * one): an answer with data makes the znode a member again. One-shot watches read
   * only listed members.
   */
  private async readMember(child: string, epoch: number): Promise<void> {
    if (this.stale(epoch) || (!this.persistent && !this.members.has(child))) return;
    const znode = `${this.path}/${child}`;
    let data: Buffer;
    let mzxid: number;
    try {
      let stat: ZkStat;
      ({ data, stat } = await this.session.getData(znode, this.persistent ? undefined : this.onData));
      mzxid = stat.mzxid.readUInt32BE(0) * 2 ** 32 + stat.mzxid.readUInt32BE(4);
    } catch (err) {
      if (this.stale(epoch)) return;
      if (zkCode(err) !== ZK_ERR.NO_NODE) return this.failed(err, znode);
      this.members.delete(child); // gone (classic: the child watch reports it too)
      this.refused.delete(child);
      return this.send();
    }
    if (this.stale(epoch)) return;
    let m = this.members.get(child);
    if (!m) {
      if (!this.persistent) return;
      this.members.set(child, (m = { mzxid: -1, node: null, since: this.listings, pos: -1 }));
    }
    if (m.mzxid === mzxid) return this.send(m);
    m.mzxid = mzxid;
    try {
      m.node = decodeNode(data, znode, child);
      if (this.refused.size) this.refused.delete(child);
    } catch (err) {
      m.node = null;
      const again = this.refused.get(child) === mzxid;
      this.refused.set(child, mzxid);
      this.log[again ? 'debug' : 'warn']({ znode, err }, `skipping member with bad data: ${(err as Error).message}`);
    }
    this.send(m);
  }

  /** Members not in the list `listing` answered, but those added after it was asked for. */
  private forget(present: ReadonlySet<string>, listing: number): void {
    for (const [name, m] of this.members) if (!present.has(name) && m.since < listing) this.members.delete(name);
    for (const name of this.refused.keys()) if (!present.has(name)) this.refused.delete(name);
  }

  /** Cluster znode absent: it has no members; wait for it to appear. */
  private async missing(epoch: number, listing: number): Promise<void> {
    this.forget(new Set(), listing);
    this.listed = true;
    this.send();
    try {
      // persistent: its creation is an event; this read only closes the race with it
      const stat = await this.session.exists(this.path, this.persistent ? undefined : this.onChildren);
      if (this.stale(epoch)) return;
      if (stat) return this.readChildren(epoch); // created meanwhile
    } catch (err) {
      if (!this.stale(epoch)) this.failed(err, this.path);
      return;
    }
    this.missingTimer?.cancel();
    this.missingTimer = this.clock.setTimeout(() => void this.readChildren(epoch), MISSING_RECHECK_MS);
  }

  /** A read failed: without a connection the 'connected' / 'session' event re-reads; otherwise
   * retry on a timer. Nothing is sent meanwhile. */
  private failed(err: unknown, znode: string): void {
    // a lost session is logged by the session manager; here it is only why we wait
    const level = err instanceof LighthouseError && err.code === 'LH_ERR_ZK_SESSION' ? 'debug' : 'warn';
    if (!this.dirty) this.log[level]({ znode, err }, 'read failed; keeping the last members until it succeeds');
    this.dirty = true;
    if (!this.session.connected) return;
    this.retryTimer?.cancel();
    this.retryTimer = this.clock.setTimeout(() => this.dirty && this.session.connected && this.reread(), RETRY_MS);
  }

  /** Send the member list once the member list is read (see MemberLists.send). */
  private send(changed?: Member): void {
    if (this.listed) this.memberLists.send(this.members, changed);
  }
}
