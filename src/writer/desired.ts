/**
 * The DesiredState each balancer is given, built from the cluster configs and the members heard
 * so far, and the comparison that tells whether a state differs from the one last applied.
 *
 * A cluster whose config (same config object) and members (same array: the writer keeps it while
 * a cluster's member lists are equal) did not change keeps its ClusterModel object: balancers
 * can tell the clusters that changed by identity (the HAProxy one then costs what changed, not
 * the total), and comparing states is quick.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClusterModel, DesiredState } from '../core/plugin.js';
import type { ServiceNode } from '../core/node.js';
import { sameNodes } from '../core/node.js';
import type { ClusterConfig } from '../config/schema.js';

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

/** the members of a cluster not heard from yet (DesiredState.pending): unknown */
const NOT_HEARD = Object.freeze([]) as unknown as ServiceNode[];

/** Per balancer: the last state built and how it was built. */
export class DesiredStates {
  private readonly models = new Map<string, ModelCache>();
  /** the last DesiredState's number (DesiredState.version) */
  private version = 0;

  /** The members of `cluster` changed: each balancer's next state replaces its entry. */
  membersChanged(cluster: string): void {
    for (const m of this.models.values()) m.dirty.add(cluster);
  }

  /** The state for `balancer`: `clusters` with a section for it, members from `nodes` (a
   * cluster absent there is not heard yet and goes to `pending`). */
  build(balancer: string, configs: ReadonlyMap<string, ClusterConfig>, nodes: ReadonlyMap<string, ServiceNode[]>): DesiredState {
    let cache = this.models.get(balancer);
    if (cache?.clusters !== configs) this.models.set(balancer, (cache = { clusters: configs, list: [], state: null, at: new Map(), dirty: new Set() }));
    // the common case, a few clusters' members changed: those entries replaced in a copy, the
    // same state object when nothing did (no walk over every cluster)
    if (cache.state && [...cache.dirty].every((name) => cache.at.has(name))) {
      if (cache.dirty.size === 0) return cache.state;
      const clusters = cache.state.clusters.slice();
      const changed: number[] = [];
      for (const name of cache.dirty) {
        const at = cache.at.get(name)!;
        const members = nodes.get(name)!;
        const m = cache.list[at.list]!;
        if (m.nodes !== members) (clusters[at.state] = cache.list[at.list] = { ...m, nodes: members }), changed.push(at.state);
      }
      cache.dirty.clear();
      // the balancer may look at the changed positions only (no walk over every cluster)
      return (cache.state = { clusters, version: ++this.version, changedSince: { version: cache.state.version!, at: changed }, pending: cache.state.pending });
    }
    const clusters: ClusterModel[] = [];
    const pending: ClusterModel[] = [];
    cache.at.clear();
    let i = -1;
    for (const c of configs.values()) {
      i++;
      const section = c.balancers[balancer];
      if (section === undefined) continue;
      const members = nodes.get(c.name);
      let m = cache.list[i];
      if (members === undefined) {
        // not heard yet: the balancer keeps what it serves for it (fail-safe), never empties it
        if (m?.nodes !== NOT_HEARD) m = cache.list[i] = { name: c.name, file: c.file, discovery: c.discovery, metaCluster: c.meta_cluster, balancer: section, nodes: NOT_HEARD };
        pending.push(m);
        continue;
      }
      if (m?.nodes !== members) m = cache.list[i] = { name: c.name, file: c.file, discovery: c.discovery, metaCluster: c.meta_cluster, balancer: section, nodes: members };
      cache.at.set(c.name, { list: i, state: clusters.length });
      clusters.push(m);
    }
    cache.dirty.clear();
    return (cache.state = { clusters, version: ++this.version, ...(pending.length && { pending }) });
  }
}

/** Equal states, at the cost of what differs: DesiredStates keeps the objects of unchanged
 * clusters, so most compare by identity and a changed one by its members (sameNodes). */
export function sameState(a: DesiredState, b: DesiredState): boolean {
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
