/**
 * The three plugin kinds. A plugin is a plain typed object listed in the registry table
 * (src/core/registry.ts) or exported by an npm package named in CONFIG_DIR/plugins.yaml.
 * `schema` validates the plugin's part of the config (unknown keys are errors); the validated,
 * defaulted value is what `create` receives.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ServiceNode } from './node.js';
import type { NodeRecord } from './node-record.js';
import type { Clock } from './clock.js';

export interface PluginDeps {
  logger: Logger;
  clock: Clock;
  /** discovery plugins: where to tell session and watch events (metrics); optional */
  events?: DiscoveryEvents;
}

export type SessionEvent = 'session' | 'connected' | 'disconnected' | 'expired';

/** A discovery connection's events, for metrics. */
export interface DiscoveryEvents {
  sessionEvent(event: SessionEvent): void;
  /** a watch delivered a member list */
  watchEvent(): void;
}

/** The same, for a daemon's every discovery connection (the pool adds the name). */
export interface DiscoveryObserver {
  sessionEvent(discovery: string, event: SessionEvent): void;
  watchEvent(discovery: string): void;
}

// ---------------------------------------------------------------- checks

export interface CheckTarget {
  host: string;
  port: number;
}

export interface CheckResult {
  ok: boolean;
  /** Why it failed (or a short note when it passed); shown in logs and status. */
  detail?: string;
}

export interface Check {
  /** One probe. Must: settle when `signal` fires (it is aborted at the check's timeout; a
   * probe that does not is given up on after a grace period) and never throw (an exception
   * counts as a failure).
   *
   * Optional hint: the same signal may come back for the next probes until it fires (one
   * AbortController per probe costs the loop more than the probe, see
   * bench/reporter-checks.ts). A check that keeps one 'abort' listener per signal, or removes
   * its listener when the probe settles, costs nothing more; one written as if every probe had
   * a fresh signal (a listener per probe, never removed) still works: it gets a fresh signal
   * every few dozen probes (test/unit/core/plugin-contract.test.ts). */
  run(signal: AbortSignal): Promise<CheckResult>;
  close?(): void;
}

export interface CheckPlugin<C = any> {
  kind: 'check';
  name: string;
  /** Schema of the check's own keys. `rise`, `fall`, `timeout` are common and handled by the
   * reporter; the schema sees the remaining keys only. */
  schema: z.ZodType<C>;
  create(config: C, target: CheckTarget, deps: PluginDeps): Check;
}

// ---------------------------------------------------------------- discovery

export type MembersListener = (nodes: ServiceNode[]) => void;

export interface Discovery {
  /** Connect (resolves once a first session exists or rejects after the connect timeout;
   * either way the plugin keeps retrying in the background). */
  start(): Promise<void>;
  /** Remove everything this process registered, close the session. */
  stop(): Promise<void>;
  /** Reporter side: publish (create or update) an instance of `service`. Idempotent. Kept
   * across sessions: re-created on every new session until `unregister`. */
  register(service: string, node: ServiceNode): Promise<void>;
  unregister(service: string, node: ServiceNode): Promise<void>;
  /** Writer side: whole member lists of a cluster, on every change and on every new
   * session. Returns the function that stops watching. */
  watch(cluster: string, listener: MembersListener): () => void;
  /** True while the session is usable (writer fail-safe, status). */
  readonly connected: boolean;
  /** Optional, reporter side: publish this node's inventory record (actions find nodes by it),
   * kept across sessions like `register`; null takes it away. */
  publishNode?(record: NodeRecord | null): Promise<void>;
}

export interface DiscoveryPlugin<C = any> {
  kind: 'discovery';
  name: string;
  schema: z.ZodType<C>;
  create(config: C, deps: PluginDeps): Discovery;
}

// ---------------------------------------------------------------- balancers

/** One consumed cluster with its balancer-specific config section (e.g. `haproxy:`). */
export interface ClusterModel {
  readonly name: string;
  /** the config file that defines it, relative to the config dir (for messages) */
  readonly file?: string;
  readonly discovery: string;
  readonly metaCluster?: string;
  /** The balancer's own section of clusters/NAME.yaml, validated by `clusterSchema`. */
  readonly balancer: unknown;
  /** never changed once given: balancers cache what they build from it by identity */
  readonly nodes: readonly ServiceNode[];
}

export interface DesiredState {
  readonly clusters: readonly ClusterModel[];
  /** Optional hint, may be ignored: this state's number, unique per writer (the next one is
   * larger). */
  version?: number;
  /** Optional hint for balancers with many clusters, may be ignored: this state equals state
   * `version` but at the positions `at` of `clusters` (same length, same clusters in the same
   * order). A balancer that last saw that state may look at those positions only. `clusters`
   * is always the whole state, so a balancer that reads only `clusters` is right
   * (test/unit/core/plugin-contract.test.ts). */
  changedSince?: { version: number; at: readonly number[] };
  /** optional: the clusters configured for this balancer that discovery has not answered for
   * yet in this process (ZooKeeper down at a start or restart), `nodes` empty: their members
   * are unknown, not none. A balancer keeps serving what it serves for them until they are
   * heard (they then move to `clusters`); one that cannot may ignore them, and then does not
   * serve them. */
  pending?: readonly ClusterModel[];
}

export interface ApplyResult {
  /** runtime commands sent, reloads done; for logs, status and benchmarks */
  runtimeCommands: number;
  reloaded: boolean;
  /** with a reload: why, as a short fixed phrase (a metric label: never a name or a count) */
  reloadReason?: string;
}

/** A server as the balancer serves it (status API). */
export interface ServedServer {
  name: string;
  address: string;
  port: number;
  state: 'up' | 'down' | 'drain' | 'maint';
  weight: number;
}

export interface Balancer {
  start(): Promise<void>;
  /** optional: the servers it serves now, by cluster (status API); no I/O, may be empty */
  serving?(): ReadonlyMap<string, ServedServer[]>;
  /** Make the balancer serve `desired`. Called with whole states, already de-duplicated, one
   * call at a time; a state handed over is never changed afterwards, so the balancer may keep
   * it (or parts of it) to compare with the next. */
  apply(desired: DesiredState): Promise<ApplyResult>;
  stop(): Promise<void>;
}

/** A problem at a path inside a validated value (the config store adds file, line and column). */
export interface ValueIssue {
  path: (string | number)[];
  message: string;
}

/** A cluster's section of this balancer as the cross-check sees it, with the file it is in. */
export interface ClusterSection<K = unknown> {
  name: string;
  /** the file, relative to the config dir (clusters/web.yaml) */
  file: string;
  metaCluster?: string;
  section: K;
}

/** A problem between files that each validated alone (two clusters on one port). */
export interface CrossIssue {
  /** the file it is reported against (relative to the config dir) and the path inside it;
   * the message names the other file(s) involved */
  file: string;
  path: (string | number)[];
  message: string;
  /** the clusters that cannot be rendered as they are: the writer leaves them out (or keeps
   * their last good version); empty when the problem costs no cluster */
  clusters: string[];
}

/** A dry run's verdict on a whole config dir (lighthousectl validate). */
export interface DryRunResult {
  issues: (Omit<CrossIssue, 'clusters'> & { severity?: 'warning' })[];
  /** what could not be checked and why (e.g. HAProxy is not installed) */
  skipped?: string;
}

export interface BalancerDeps extends PluginDeps {
  configDir: string;
  /** the host name this node is advertised by when one is configured (env
   * LIGHTHOUSE_ADVERTISE_HOST, node.yaml `host`); undefined: the machine's FQDN. A balancer that
   * names this node to others (HAProxy's peer name) uses it, so reporter and writer agree. */
  advertisedHost?: string;
}

export interface BalancerPlugin<C = any, K = any> {
  kind: 'balancer';
  name: string;
  /** balancers/NAME.yaml */
  schema: z.ZodType<C>;
  /** the NAME: section of clusters/*.yaml */
  clusterSchema: z.ZodType<K>;
  /** Optional: what is valid but probably not meant (a directive HAProxy ignores), from the
   * validated values. Logged as warnings with file:line:col and printed by `lighthousectl
   * validate`; the file still loads. */
  warnings?: { config?(config: C): ValueIssue[]; cluster?(section: K): ValueIssue[] };
  /** Optional: problems between files that each validated alone (two clusters on one port,
   * names that collide once made valid for the balancer). Pure. `config` is the balancer's
   * validated file and `file` where it is; `clusters` every cluster with this balancer's
   * section. Run by `lighthousectl validate`, at daemon start, and by the writer before each
   * new config reaches the balancer. */
  crossCheck?(config: C, file: string, clusters: readonly ClusterSection<K>[]): CrossIssue[];
  /** Optional: what the balancer would make of `desired` (sample members), checked as the
   * balancer itself would check it (HAProxy: render, `haproxy -c`); problems name the file
   * they come from. For `lighthousectl validate`; starts nothing. */
  dryRun?(config: C, file: string, desired: DesiredState, clusters: readonly ClusterSection<K>[], deps: PluginDeps & { configDir: string }): Promise<DryRunResult>;
  create(config: C, deps: BalancerDeps): Balancer;
}

export type Plugin = CheckPlugin | DiscoveryPlugin | BalancerPlugin;
