/**
 * The writer: clusters/*.yaml + one discovery watch per cluster -> {cluster -> nodes} ->
 * one DesiredState per balancer -> balancer.apply(). Member lists equal to the last are dropped,
 * bursts are coalesced, and a state equal to the last applied one is never re-applied.
 *
 * Fail-safe: a cluster enters the desired state only after its first member list, and discovery
 * never sends empty member lists while disconnected, so a backend is never emptied because
 * ZooKeeper went away; the balancer keeps the last known members. Until then (ZooKeeper down
 * at a start or restart) it is passed as `pending`: the balancer keeps serving what it serves
 * for it (the running HAProxy, or the config on disk after a reboot). Balancers are started
 * before the start-up wait, so HAProxy serves the config on disk meanwhile.
 *
 * This file keeps the watches, the balancers and the flush that joins them; the states are
 * built in desired.ts, the start-up wait is startup-wait.ts, and what the writer tells others
 * (notifications, status, metrics) goes through WriterObserver (observer.ts) and `onApplied`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { Balancer, ClusterModel, DesiredState, DiscoveryObserver, ServedServer } from '../core/plugin.js';
import type { ServiceNode } from '../core/node.js';
import { sameNodes, sortNodes } from '../core/node.js';
import type { LoadedConfig } from '../config/store.js';
import type { ClusterConfig } from '../config/schema.js';
import { DiscoveryPool } from '../discovery/pool.js';
import { Coalescer } from './coalescer.js';
import { ClusterGuard } from './cluster-guard.js';
import { DesiredStates, sameState } from './desired.js';
import { StartupWait } from './startup-wait.js';
import type { WriterObserver } from './observer.js';
import { advertisedHost } from '../config/node-identity.js';

export { STARTUP_WAIT_MS } from './startup-wait.js';

export interface WriterOptions {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  configDir: string;
  /** at start, the first apply waits until every cluster has sent its first member list, at most
   * this long (ms); default STARTUP_WAIT_MS */
  startupWaitMs?: number;
  /** told of cluster sizes and balancer applies (notifications, status, metrics) */
  observer?: WriterObserver;
  /** metrics: discovery session and watch events */
  discoveryObserver?: DiscoveryObserver;
}

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

export class Writer {
  private readonly log: Logger;
  private readonly pool: DiscoveryPool;
  private readonly balancers = new Map<string, BalancerEntry>();
  private readonly watches = new Map<string, Watch>();
  /** latest members per cluster; absent until the cluster's first member list */
  private readonly nodes = new Map<string, ServiceNode[]>();
  private clusters: ReadonlyMap<string, ClusterConfig> = new Map();
  private readonly states = new DesiredStates();
  private readonly coalescer = new Coalescer(() => this.flush());
  /** leaves out the clusters that clash with others before they reach a balancer */
  private readonly guard: ClusterGuard;
  private readonly startup: StartupWait;
  /** observers (status API, benchmarks): called after every successful apply */
  readonly onApplied = new Set<(balancer: string, state: DesiredState) => void>();

  constructor(private readonly opts: WriterOptions) {
    this.log = opts.logger.child({ component: 'writer' });
    this.pool = new DiscoveryPool(opts);
    this.guard = new ClusterGuard(opts.registry, this.log);
    this.startup = new StartupWait({ clock: opts.clock, log: this.log, waitMs: opts.startupWaitMs, wake: () => this.coalescer.trigger() });
  }

  async apply(cfg: LoadedConfig): Promise<void> {
    const fresh = new Set(await this.pool.apply(cfg.discovery));
    await this.applyBalancers(cfg.balancers, advertisedHost(cfg.node));
    const clusters = (this.clusters = this.guard.admit(cfg));
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
    this.startup.begin();
    this.coalescer.trigger();
  }

  /** The members known per cluster (status, tests). */
  members(): ReadonlyMap<string, ServiceNode[]> {
    return this.nodes;
  }

  /** The clusters in force (status). */
  clusterConfigs(): ReadonlyMap<string, ClusterConfig> {
    return this.clusters;
  }

  /** The servers each balancer serves now, by cluster (status). */
  serving(): Map<string, ServedServer[]> {
    const out = new Map<string, ServedServer[]>();
    for (const e of this.balancers.values()) for (const [c, s] of e.balancer.serving?.() ?? []) out.set(c, [...(out.get(c) ?? []), ...s]);
    return out;
  }

  /** the discovery connections' sessions (readiness, metrics) */
  sessions(): { discovery: string; connected: boolean }[] {
    return this.pool.sessions();
  }

  settled(): Promise<void> {
    return this.coalescer.settled();
  }

  async stop(): Promise<void> {
    this.startup.cancel();
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
      if (!this.nodes.has(c.name)) this.startup.heardFirst();
      this.nodes.set(c.name, sorted);
      this.states.membersChanged(c.name);
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
    if (this.startup.holding(() => [...this.watches.keys()].filter((c) => !this.nodes.has(c)))) return;
    for (const [name, e] of this.balancers) {
      if (!e.started) continue; // retried by its timer
      const desired = this.states.build(name, this.clusters, this.nodes);
      if (e.applied && sameState(e.applied, desired)) continue;
      try {
        const began = this.opts.clock.now();
        const r = await e.balancer.apply(desired);
        e.applied = desired;
        e.failures = 0;
        // (the balancer logs what it did at info: one line per change is enough)
        if (r.reloaded || r.runtimeCommands) this.log.debug({ balancer: name, runtimeCommands: r.runtimeCommands, reloaded: r.reloaded }, 'balancer updated');
        for (const f of this.onApplied) f(name, desired);
        this.opts.observer?.applied(name, { ...r, ms: this.opts.clock.now() - began });
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
