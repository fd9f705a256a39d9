/**
 * The writer: clusters/*.yaml + one discovery watch per cluster -> {cluster -> nodes} ->
 * one DesiredState per balancer -> balancer.apply(). Snapshots equal to the last are dropped,
 * bursts are coalesced, and a state equal to the last applied one is never re-applied.
 *
 * Fail-safe: a cluster enters the desired state only after its first snapshot, and discovery
 * never sends empty snapshots while disconnected, so a backend is never emptied because
 * ZooKeeper went away; the balancer keeps the last known members. Until then (ZooKeeper down
 * at a start or restart) it is passed as `pending`: the balancer keeps serving what it serves
 * for it (the running HAProxy, or the config on disk after a reboot). Balancers are started
 * before the start-up wait, so HAProxy serves the config on disk meanwhile.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { Balancer, ClusterModel, DesiredState } from '../core/plugin.js';
import type { ServiceNode } from '../core/node.js';
import { sameNodes, sortNodes } from '../core/node.js';
import type { ConfigSnapshot } from '../config/store.js';
import type { ClusterConfig } from '../config/schema.js';
import { DiscoveryPool } from '../discovery/pool.js';
import { Coalescer } from './coalescer.js';
import { ClusterGuard } from './cluster-guard.js';
import type { WriterObserver } from './observer.js';
import { advertisedHost } from '../config/node-identity.js';

export interface WriterOptions {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  configDir: string;
  /** at start, the first apply waits until every cluster has sent its first snapshot, at most
   * this long (ms); default STARTUP_WAIT_MS */
  startupWaitMs?: number;
  /** told of cluster sizes and balancer applies (notifications) */
  observer?: WriterObserver;
}

/**
 * Why wait at start: applying as clusters trickle in means one structure per arrival, each a
 * full render, `haproxy -c` and (rate-limited) reload: with 1,000 clusters, a dozen of them and
 * hundreds of MB of garbage. Waiting for all (ZooKeeper answers in well under a second) makes it
 * one. Bounded, so a discovery that does not answer never holds HAProxy back: past the wait the
 * clusters known are applied and the others join as they come.
 */
export const STARTUP_WAIT_MS = 5_000;
/** past STARTUP_WAIT_MS the wait goes on while first snapshots keep arriving (a large
 * deployment still loading), each extending it this long, up to STARTUP_WAIT_MAX_MS */
const STARTUP_PROGRESS_MS = 1_000;
const STARTUP_WAIT_MAX_MS = 30_000;

interface BalancerEntry {
  config: unknown;
  balancer: Balancer;
  started: boolean;
  applied?: DesiredState;
  failures: number;
  retry?: { cancel(): void };
  /** its config file is gone: the last good config stays in force */
  orphaned?: boolean;
}

interface Watch {
  discovery: string;
  unwatch: () => void;
}

interface ModelCache {
  /** the cluster configs the state was built from */
  clusters: ReadonlyMap<string, ClusterConfig>;
  /** the ClusterModels last passed, by position in `clusters` */
  list: (ClusterModel | undefined)[];
  /** the last state built, and each of its clusters' positions: in `list`, in `state.clusters` */
  state: DesiredState | null;
  at: Map<string, { list: number; state: number }>;
  /** clusters whose members changed since `state` was built */
  dirty: Set<string>;
}

export class Writer {
  private readonly log: Logger;
  private readonly pool: DiscoveryPool;
  private readonly balancers = new Map<string, BalancerEntry>();
  private readonly watches = new Map<string, Watch>();
  /** latest members per cluster; absent until the cluster's first snapshot */
  private readonly nodes = new Map<string, ServiceNode[]>();
  private clusters: ReadonlyMap<string, ClusterConfig> = new Map();
  /** per balancer: the last state built and how it was built (see desired()) */
  private readonly models = new Map<string, ModelCache>();
  private readonly coalescer = new Coalescer(() => this.flush());
  /** leaves out the clusters that clash with others before they reach a balancer */
  private readonly guard: ClusterGuard;
  /** the last DesiredState's number (DesiredState.version) */
  private version = 0;
  /** observers (status API, benchmarks): called after every successful apply */
  readonly onApplied = new Set<(balancer: string, state: DesiredState) => void>();

  /** when the start-up wait began; null once it is over (or before the first config) */
  private startupBegan: number | null = null;
  /** when the last cluster sent its first snapshot */
  private lastFirstSnapshot = 0;
  private startupTimer: { cancel(): void } | null = null;

  constructor(private readonly opts: WriterOptions) {
    this.log = opts.logger.child({ component: 'writer' });
    this.pool = new DiscoveryPool(opts);
    this.guard = new ClusterGuard(opts.registry, this.log);
  }

  async apply(snap: ConfigSnapshot): Promise<void> {
    const fresh = new Set(await this.pool.apply(snap.discovery));
    await this.applyBalancers(snap.balancers, advertisedHost(snap.node));
    const clusters = (this.clusters = this.guard.admit(snap));
    for (const [name, w] of [...this.watches]) {
      const c = clusters.get(name);
      if (c && c.discovery === w.discovery && !fresh.has(w.discovery)) continue;
      w.unwatch();
      this.watches.delete(name);
      if (!c) {
        this.nodes.delete(name);
        this.opts.observer?.removed(name);
      }
    }
    for (const c of clusters.values()) if (!this.watches.has(c.name)) this.watch(c);
    if (this.startupBegan === null && !this.startupTimer) {
      this.startupBegan = this.opts.clock.now();
      this.startupTimer = this.opts.clock.setTimeout(() => this.coalescer.trigger(), this.startupWait);
    }
    this.coalescer.trigger();
  }

  /** Still waiting for some cluster's first snapshot at start (see STARTUP_WAIT_MS)? */
  private get startupWait(): number {
    return this.opts.startupWaitMs ?? STARTUP_WAIT_MS;
  }

  private holding(): boolean {
    if (this.startupBegan === null) return false;
    const unheard = [...this.watches.keys()].filter((c) => !this.nodes.has(c));
    const now = this.opts.clock.now();
    const deadline = this.startupBegan + this.startupWait;
    const until = Math.min(this.startupBegan + STARTUP_WAIT_MAX_MS, Math.max(deadline, this.lastFirstSnapshot + STARTUP_PROGRESS_MS));
    if (unheard.length && now < until) {
      // always armed again for what is left: a timer may fire a little early (Node's timers
      // round to whole milliseconds), and a wait nobody wakes again never ends
      this.startupTimer?.cancel();
      this.startupTimer = this.opts.clock.setTimeout(() => this.coalescer.trigger(), Math.max(1, Math.ceil(until - now)));
      return true;
    }
    if (unheard.length) this.log.warn({ clusters: unheard.slice(0, 10), count: unheard.length }, `no snapshot yet from ${unheard.length} clusters after ${Math.round(now - this.startupBegan)} ms: applying the others; these keep what the balancer serves for them until they are heard`);
    this.startupBegan = null;
    this.startupTimer?.cancel();
    return false;
  }

  /** The members known per cluster (status, tests). */
  members(): ReadonlyMap<string, ServiceNode[]> {
    return this.nodes;
  }

  settled(): Promise<void> {
    return this.coalescer.settled();
  }

  async stop(): Promise<void> {
    this.startupTimer?.cancel();
    this.startupBegan = null;
    for (const w of this.watches.values()) w.unwatch();
    this.watches.clear();
    await this.coalescer.settled();
    for (const e of this.balancers.values()) {
      e.retry?.cancel();
      await e.balancer.stop().catch((err) => this.log.error({ err }, 'balancer stop failed'));
    }
    await this.pool.stop();
  }

  private watch(c: ClusterConfig): void {
    const discovery = this.pool.get(c.discovery);
    if (!discovery) {
      this.log.warn({ cluster: c.name }, `cluster refers to discovery '${c.discovery}' which is not configured`);
      return;
    }
    const unwatch = discovery.watch(c.name, (nodes) => {
      if (nodes.length === 0 && !discovery.connected) return; // fail-safe, belt and braces
      const sorted = sortNodes(nodes);
      if (sameNodes(this.nodes.get(c.name), sorted)) return;
      if (this.startupBegan !== null && !this.nodes.has(c.name)) this.lastFirstSnapshot = this.opts.clock.now();
      this.nodes.set(c.name, sorted);
      for (const m of this.models.values()) m.dirty.add(c.name);
      this.log.debug({ cluster: c.name, members: sorted.length }, 'cluster membership changed');
      this.opts.observer?.members(c.name, sorted.length);
      this.coalescer.trigger();
    });
    this.watches.set(c.name, { discovery: c.discovery, unwatch });
  }

  private async applyBalancers(configs: ReadonlyMap<string, unknown>, host: string | undefined): Promise<void> {
    for (const [name, e] of [...this.balancers]) {
      const config = configs.get(name);
      if (config === undefined) {
        // A deleted file is no reason to serve less (a stopped balancer would freeze HAProxy
        // with whatever it had): the last good config stays in force, membership keeps flowing.
        if (!e.orphaned) this.log.error({ balancer: name, file: `balancers/${name}.yaml` }, `the config file of balancer '${name}' (balancers/${name}.yaml) is gone: keeping its last good config in force and applying membership changes; put the file back to change it`);
        e.orphaned = true;
        continue;
      }
      if (e.orphaned) this.log.info({ balancer: name }, `the config file of balancer '${name}' is back`);
      e.orphaned = false;
      if (isDeepStrictEqual(config, e.config)) continue;
      e.retry?.cancel();
      this.balancers.delete(name);
      await e.balancer.stop().catch((err) => this.log.error({ err, balancer: name }, 'balancer stop failed'));
    }
    for (const [name, config] of configs) {
      if (this.balancers.has(name)) continue;
      const plugin = this.opts.registry.balancers.get(name)!;
      const balancer = plugin.create(config, { logger: this.opts.logger, clock: this.opts.clock, configDir: this.opts.configDir, advertisedHost: host });
      this.balancers.set(name, { config, balancer, started: false, failures: 0 });
    }
  }

  /** A cluster whose config (same snapshot) and members (same array: `nodes` keeps it while its
   * snapshots are equal) did not change keeps its ClusterModel object: balancers can tell the
   * clusters that changed by identity (the HAProxy one then costs what changed, not the total),
   * and comparing states is quick. */
  private desired(balancer: string): DesiredState {
    let cache = this.models.get(balancer);
    if (cache?.clusters !== this.clusters) this.models.set(balancer, (cache = { clusters: this.clusters, list: [], state: null, at: new Map(), dirty: new Set() }));
    // the common case, a few clusters' members changed: those entries replaced in a copy, the
    // same state object when nothing did (1,000 clusters: microseconds, not a walk over all)
    if (cache.state && [...cache.dirty].every((name) => cache.at.has(name))) {
      if (cache.dirty.size === 0) return cache.state;
      const clusters = cache.state.clusters.slice();
      const changed: number[] = [];
      for (const name of cache.dirty) {
        const at = cache.at.get(name)!;
        const nodes = this.nodes.get(name)!;
        const m = cache.list[at.list]!;
        if (m.nodes !== nodes) (clusters[at.state] = cache.list[at.list] = { ...m, nodes }), changed.push(at.state);
      }
      cache.dirty.clear();
      // the balancer may look at the changed positions only (no walk over 1,000 clusters)
      return (cache.state = { clusters, version: ++this.version, changedSince: { version: cache.state.version!, at: changed }, pending: cache.state.pending });
    }
    const clusters: ClusterModel[] = [];
    const pending: ClusterModel[] = [];
    cache.at.clear();
    let i = -1;
    for (const c of this.clusters.values()) {
      i++;
      const section = c.balancers[balancer];
      if (section === undefined) continue;
      const nodes = this.nodes.get(c.name);
      let m = cache.list[i];
      if (nodes === undefined) {
        // not heard yet: the balancer keeps what it serves for it (fail-safe), never empties it
        if (m?.nodes !== NOT_HEARD) m = cache.list[i] = { name: c.name, file: c.file, discovery: c.discovery, metaCluster: c.meta_cluster, balancer: section, nodes: NOT_HEARD };
        pending.push(m);
        continue;
      }
      if (m?.nodes !== nodes) m = cache.list[i] = { name: c.name, file: c.file, discovery: c.discovery, metaCluster: c.meta_cluster, balancer: section, nodes };
      cache.at.set(c.name, { list: i, state: clusters.length });
      clusters.push(m);
    }
    cache.dirty.clear();
    return (cache.state = { clusters, version: ++this.version, ...(pending.length && { pending }) });
  }

  private async flush(): Promise<void> {
    // started before the start-up wait: HAProxy serves what it served (the config on disk after
    // a reboot) while the wait lasts, which is as long as ZooKeeper stays away at start
    for (const [name, e] of this.balancers) {
      if (e.started) continue;
      try {
        await e.balancer.start();
        e.started = true;
      } catch (err) {
        this.failed(name, e, err, 'balancer start failed');
      }
    }
    if (this.holding()) return;
    for (const [name, e] of this.balancers) {
      if (!e.started) continue; // retried by its timer
      const desired = this.desired(name);
      if (e.applied && sameState(e.applied, desired)) continue;
      try {
        const r = await e.balancer.apply(desired);
        e.applied = desired;
        e.failures = 0;
        // (the balancer logs what it did at info: one line per change is enough)
        if (r.reloaded || r.runtimeCommands) this.log.debug({ balancer: name, runtimeCommands: r.runtimeCommands, reloaded: r.reloaded }, 'balancer updated');
        for (const f of this.onApplied) f(name, desired);
        this.opts.observer?.applied(name);
      } catch (err) {
        this.failed(name, e, err, 'balancer apply failed');
        this.opts.observer?.applyFailed(name, err as Error);
      }
    }
  }

  /** The balancer keeps serving what it had; retry with backoff (a transient socket error
   * heals, a rejected config waits for the next config change or membership change). */
  private failed(name: string, e: BalancerEntry, err: unknown, what: string): void {
    e.failures++;
    const delay = Math.min(60_000, 500 * 2 ** Math.min(e.failures, 7));
    this.log.error({ err, balancer: name, retryInMs: delay }, `${what}: ${(err as Error).message}`);
    e.retry?.cancel();
    e.retry = this.opts.clock.setTimeout(() => this.coalescer.trigger(), delay);
  }
}

/** the members of a cluster not heard from yet (DesiredState.pending): unknown */
const NOT_HEARD = Object.freeze([]) as unknown as ServiceNode[];

/** Equal states, at the cost of what differs: desired() keeps the objects of unchanged clusters,
 * so most clusters compare by identity and a changed one by its members (sameNodes). */
function sameState(a: DesiredState, b: DesiredState): boolean {
  if (a === b) return true;
  if (a.clusters.length !== b.clusters.length) return false;
  if (a.pending !== b.pending) {
    const [x, y] = [a.pending ?? [], b.pending ?? []];
    if (x.length !== y.length || !x.every((c, i) => c === y[i] || isDeepStrictEqual(c, y[i]))) return false;
  }
  const same = (i: number) => {
    const x = a.clusters[i];
    const y = b.clusters[i];
    if (x === y) return true;
    const { nodes: xn, ...xr } = x;
    const { nodes: yn, ...yr } = y;
    return sameNodes(xn, yn) && isDeepStrictEqual(xr, yr);
  };
  // b built from a: only its changed positions can differ
  if (b.changedSince && b.changedSince.version === a.version) return b.changedSince.at.every(same);
  return a.clusters.every((_, i) => same(i));
}
