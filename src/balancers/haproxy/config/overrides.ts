/**
 * The state the balancer renders: the writer's DesiredState with two kinds of clusters changed,
 * so that HAProxy never serves less because of something other than ZooKeeper's word.
 *
 * - Pending clusters (not heard from ZooKeeper yet in this process) are added with the members
 *   HAProxy serves for them (recover.ts): a restart or a reboot during a ZooKeeper outage
 *   reloads none of them away. A cluster that has nothing recovered is left out, as before.
 * - Clusters HAProxy rejected (a directive it refuses, a port another process holds: see
 *   admission.ts) are rendered with their last version HAProxy accepted, with their current
 *   members, or left out when they have none. A new version of the cluster's file is tried
 *   again.
 *
 * Without either (the steady state) the DesiredState passes through untouched: nothing is
 * added to the path of a membership change. With them, a change costs a copy of the cluster
 * list (as the writer's own) and a look at the overridden clusters, by their positions, which
 * are found again only when the list's layout changes.
 */
import type { Logger } from 'pino';
import type { ClusterModel, DesiredState } from '../../../core/plugin.js';
import { clusterSection, haproxyName } from './model.js';
import { recoveredNodes, type Recovered } from './recover.js';

interface Version {
  balancer: unknown;
  metaCluster: string | undefined;
  /** the two as JSON: equal versions in different objects (a config file read again) */
  key: string;
}

interface Rejection extends Version {
  reason: string;
  /** the last version HAProxy accepted, rendered in its place; null: left out */
  good: Version | null;
}

function versionOf(c: ClusterModel): Version {
  return { balancer: c.balancer, metaCluster: c.metaCluster, key: JSON.stringify([c.metaCluster ?? null, c.balancer ?? null]) };
}

/** `c` is still at version `v` (identity first; JSON only when the objects differ) */
function isAt(c: ClusterModel, v: Version): boolean {
  if (c.balancer === v.balancer && c.metaCluster === v.metaCluster) return true;
  if (versionOf(c).key !== v.key) return false;
  v.balancer = c.balancer; // the same, in a new object: identity next time
  return true;
}

export class Overrides {
  /** what HAProxy served at start, by backend name; null once every cluster was heard */
  private recovered: Map<string, Recovered> | null = null;
  private readonly rejected = new Map<string, Rejection>();
  /** per cluster, the version of the last config HAProxy accepted */
  private accepted = new Map<string, Version>();
  /** the ClusterModel put in place of another (a pending one with its nodes, a rejected one at
   * its good version), by the one it replaces: the same object while that one is unchanged */
  private memo = new WeakMap<ClusterModel, ClusterModel>();
  /** how many pending clusters were last said to keep what HAProxy served */
  private kept = 0;
  /** changes whenever what is overridden changes: the writer's hint is then dropped */
  private layout = 0;
  /** for the last state: its version, the layout, the positions of rejected clusters */
  private last: { version: number | undefined; layout: number; at: Map<string, number> } | null = null;

  constructor(private readonly log: Logger) {}

  /** What HAProxy served when the balancer started (recover.ts). */
  recover(backends: Map<string, Recovered>): void {
    this.recovered = backends.size ? backends : null;
    this.layout++;
  }

  get active(): boolean {
    return this.recovered !== null || this.rejected.size > 0;
  }

  /** The clusters `culprits` (name -> HAProxy's reason) are left out of the next configs, or
   * rendered at their last good version, until the writer's `desired` gives a new version of
   * them: each logged, naming its file and the reason. */
  reject(desired: DesiredState, culprits: ReadonlyMap<string, string>): void {
    for (const [name, reason] of culprits) {
      const c = desired.clusters.find((x) => x.name === name) ?? desired.pending?.find((x) => x.name === name);
      if (c) this.rejectOne(c, reason);
    }
  }

  private rejectOne(c: ClusterModel, reason: string): void {
    const v = versionOf(c);
    const ok = this.accepted.get(c.name);
    // rejected again while rendered at its good version (a port taken since): left out
    const good = ok && ok.key !== v.key && !this.rejected.has(c.name) ? ok : null;
    this.rejected.set(c.name, { ...v, reason, good });
    this.layout++;
    const file = c.file ?? `clusters/${c.name}.yaml`;
    this.log.error({ cluster: c.name, file, reason }, `cluster '${c.name}' (${file}) left out of the HAProxy config: ${reason}; ${good ? 'its last version HAProxy accepted stays in force' : 'it is not served until the file is fixed'}; the other clusters are applied`);
  }

  /** HAProxy accepted `state` (the one this class returned): each cluster's version in it is
   * its good one from now on. */
  accept(state: DesiredState): void {
    this.accepted = new Map(state.clusters.map((c) => [c.name, versionOf(c)]));
  }

  /** The clusters of `state` not at the version of the last config HAProxy accepted (all of
   * them before any): where to look for what it refuses now. */
  changed(state: DesiredState): string[] {
    return state.clusters.filter((c) => {
      const v = this.accepted.get(c.name);
      return !v || !isAt(c, v);
    }).map((c) => c.name);
  }

  /** The state to render for `desired`. */
  apply(desired: DesiredState): DesiredState {
    if (this.recovered && !desired.pending?.length) {
      this.recovered = null; // every cluster heard: what was recovered is of no more use
      this.layout++;
    }
    if (!this.active) {
      // the list the model cache saw last had overrides: the writer's hint is not about it
      const had = this.last !== null;
      this.last = null;
      return had && desired.changedSince ? { ...desired, changedSince: undefined } : desired;
    }
    let clusters: ClusterModel[] = desired.clusters.slice();
    if (this.recovered) {
      const kept: string[] = [];
      for (const p of desired.pending!) {
        let m = this.memo.get(p);
        const r = m ? undefined : this.recovered.get(haproxyName(p.name));
        if (r) this.memo.set(p, (m = { ...p, nodes: recoveredNodes(r, clusterSection(p).server_options) }));
        if (m) clusters.push(m), kept.push(p.name);
      }
      if (kept.length !== this.kept || kept.length === 0) {
        if (kept.length !== this.kept) this.log.info({ clusters: kept.slice(0, 10), count: kept.length }, `${kept.length} clusters not heard from discovery yet keep what HAProxy served for them`);
        this.kept = kept.length;
        // what no pending cluster needs any more is let go (the heard ones' members)
        const still = new Set(desired.pending!.map((p) => haproxyName(p.name)));
        for (const name of this.recovered.keys()) if (!still.has(name)) this.recovered.delete(name);
        if (kept.length === 0) {
          this.recovered = null;
          this.layout++;
        }
      }
    }
    let hint = desired.changedSince;
    const layoutHeld = this.last !== null && hint !== undefined && hint.version === this.last.version && this.last.layout === this.layout;
    if (!layoutHeld) hint = undefined;
    if (this.rejected.size === 0) return this.done(desired, clusters, hint, new Map());

    const at = layoutHeld ? this.last!.at : new Map(clusters.flatMap((c, i) => (this.rejected.has(c.name) ? [[c.name, i] as const] : [])));
    const drop: number[] = [];
    for (const [name, i] of at) {
      const c = clusters[i];
      const r = this.rejected.get(name)!;
      if (!isAt(c, r)) {
        // a new version of the file: HAProxy is asked again
        this.rejected.delete(name);
        this.layout++;
        this.log.info({ cluster: name }, `cluster '${name}' changed since HAProxy rejected it: trying it again`);
        return this.apply({ ...desired, changedSince: undefined });
      }
      if (r.good) {
        let m = this.memo.get(c);
        if (!m || m.balancer !== r.good.balancer) this.memo.set(c, (m = { ...c, balancer: r.good.balancer, metaCluster: r.good.metaCluster }));
        clusters[i] = m;
      } else drop.push(i);
    }
    if (drop.length) {
      const gone = new Set(drop);
      clusters = clusters.filter((_, i) => !gone.has(i));
      const shift = (i: number) => i - drop.filter((d) => d < i).length;
      if (hint) hint = { version: hint.version, at: hint.at.filter((i) => !gone.has(i)).map(shift) };
    }
    return this.done(desired, clusters, hint, at);
  }

  private done(desired: DesiredState, clusters: ClusterModel[], hint: DesiredState['changedSince'], at: Map<string, number>): DesiredState {
    this.last = { version: desired.version, layout: this.layout, at };
    return { clusters, version: desired.version, ...(hint && { changedSince: hint }) };
  }
}
