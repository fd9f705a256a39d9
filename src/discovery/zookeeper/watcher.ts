/**
 * Watches one cluster (PATH/CLUSTER) and sends whole, sorted snapshots of its members.
 *
 * A child watch on the cluster znode plus a data watch on each member znode: a member added costs
 * the event + getChildren + getData of that member only; a member changed (setData) costs the
 * event + one getData; nothing re-reads the whole cluster except a new session. Watches fire once,
 * so every read re-arms its own watch (the client keeps one registration per function and path).
 *
 * - A cluster znode that does not exist yet: an exists watch (fires on creation) plus a timer.
 * - A member whose data does not parse: warned about once (with its path) and left out.
 * - A new session: every watch is gone with the old client; re-read everything and send the
 *   result even if unchanged.
 * - Disconnected: nothing is sent (the writer keeps the last members); what failed is re-read on
 *   reconnect. A snapshot is only sent once every member read has answered.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { sortNodes, type ServiceNode } from '../../core/node.js';
import type { SnapshotListener } from '../../core/plugin.js';
import { LighthouseError } from '../../core/errors.js';
import { decodeNode } from './codec.js';
import { ZK_ERR, zkCode, type ZkSession } from './session.js';
import type { ZkEvent } from './zk-client.js';

const MISSING_RECHECK_MS = 5_000; // fallback for a missing cluster znode, besides the exists watch
const RETRY_MS = 1_000; // a read failed for another reason than the connection (e.g. NO_AUTH)

interface Member {
  raw: Buffer | null; // null while its read is in flight
  node: ServiceNode | null; // null if the data does not parse
}

export class ClusterWatch {
  private readonly members = new Map<string, Member>();
  private epoch = 0; // bumped by a full re-read: answers to older reads are dropped
  private dirty = false;
  private stopped = false;
  private lastSig: string | null = null;
  private missingTimer: { cancel(): void } | null = null;
  private retryTimer: { cancel(): void } | null = null;
  private readonly detach: () => void;
  // stable identities: the client de-duplicates watches by (path, function)
  private readonly onChildren = () => void this.readChildren(this.epoch);
  private readonly onData = (ev: ZkEvent) => void this.readMember(ev.path.slice(this.path.length + 1), this.epoch);

  constructor(
    private readonly session: ZkSession,
    private readonly path: string,
    private readonly listener: SnapshotListener,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    // the Discovery contract: a snapshot on every new session, even an unchanged one
    const onSession = () => ((this.lastSig = null), this.reread());
    const onConnected = () => this.dirty && this.reread();
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
    this.detach();
  }

  /** Forget what we know and read everything again (new session, or recovering from a failure). */
  private reread(): void {
    this.epoch++;
    this.dirty = false;
    this.retryTimer?.cancel();
    this.missingTimer?.cancel();
    this.members.clear();
    void this.readChildren(this.epoch);
  }

  private stale(epoch: number): boolean {
    return this.stopped || epoch !== this.epoch;
  }

  private async readChildren(epoch: number): Promise<void> {
    if (this.stale(epoch)) return;
    let children: string[];
    try {
      children = await this.session.getChildren(this.path, this.onChildren);
    } catch (err) {
      if (this.stale(epoch)) return;
      if (zkCode(err) === ZK_ERR.NO_NODE) return this.missing(epoch);
      return this.failed(err, this.path);
    }
    if (this.stale(epoch)) return;
    this.missingTimer?.cancel();
    const present = new Set(children);
    for (const name of this.members.keys()) if (!present.has(name)) this.members.delete(name);
    const fresh = children.filter((c) => !this.members.has(c));
    for (const c of fresh) this.members.set(c, { raw: null, node: null });
    if (fresh.length === 0) this.send();
    else for (const c of fresh) void this.readMember(c, epoch);
  }

  private async readMember(child: string, epoch: number): Promise<void> {
    if (this.stale(epoch) || !this.members.has(child)) return;
    const znode = `${this.path}/${child}`;
    let data: Buffer;
    try {
      ({ data } = await this.session.getData(znode, this.onData));
    } catch (err) {
      if (this.stale(epoch)) return;
      if (zkCode(err) !== ZK_ERR.NO_NODE) return this.failed(err, znode);
      this.members.delete(child); // gone; the child watch reports it too
      return this.send();
    }
    const m = this.members.get(child);
    if (this.stale(epoch) || !m) return;
    if (m.raw && m.raw.equals(data)) return this.send();
    m.raw = data;
    try {
      m.node = decodeNode(data, znode);
    } catch (err) {
      m.node = null;
      this.log.warn({ znode, err }, `skipping member with bad data: ${(err as Error).message}`);
    }
    this.send();
  }

  /** Cluster znode absent: it has no members; wait for it to appear. */
  private async missing(epoch: number): Promise<void> {
    this.members.clear();
    this.send();
    try {
      const stat = await this.session.exists(this.path, this.onChildren);
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

  /** Send the snapshot unless a read is still in flight or it equals the last one sent. */
  private send(): void {
    const names = [...this.members.keys()].sort();
    const seen = new Set<string>();
    const nodes: ServiceNode[] = [];
    for (const n of names) {
      const m = this.members.get(n)!;
      if (!m.raw) return;
      // two znodes for one host:port (nerve's sequential names): the first one wins
      if (m.node && !seen.has(m.node.name)) nodes.push(m.node), seen.add(m.node.name);
    }
    const sorted = sortNodes(nodes);
    const sig = JSON.stringify(sorted);
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    this.listener(sorted);
  }
}
