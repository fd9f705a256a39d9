/**
 * The clusters of a new config that the writer lets through to its balancers. Clusters that
 * clash (two on one port, names that collide in HAProxy: config/cross-check.ts) would make the
 * rendered config split traffic or fail as a whole, costing every other cluster; they are left
 * out before rendering instead. Who gives way: a cluster whose config changed into the clash
 * goes back to its last good version (a new file is left out until the clash is gone), while
 * the one that was serving that way keeps serving; when both changed, both give way. Each
 * clash is logged once, naming both files and what became of each cluster.
 */
import { isDeepStrictEqual } from 'node:util';
import { formatProblem } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { ClusterConfig } from '../config/schema.js';
import type { LoadedConfig } from '../config/store.js';
import { crossCheck, type CrossProblem } from '../config/cross-check.js';

export class ClusterGuard {
  /** the version of each cluster last let through */
  private accepted: ReadonlyMap<string, ClusterConfig> = new Map();
  /** the clashes logged, to log each once while it lasts */
  private reported = new Set<string>();

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  /** `cfg.clusters` without what clashes (the same map when nothing does). */
  admit(cfg: LoadedConfig): ReadonlyMap<string, ClusterConfig> {
    const clashes = (clusters: ReadonlyMap<string, ClusterConfig>) => crossCheck({ ...cfg, clusters }, this.registry).filter((p) => p.clusters.length > 0);
    const written = clashes(cfg.clusters);
    let admitted = cfg.clusters;
    // give way one round at a time: a cluster back at its last good version is no newcomer
    // any more, and may still clash with another that changed
    for (let found = written; found.length; found = clashes(admitted)) {
      const changed = new Set(found.flatMap((p) => p.clusters).filter((n) => admitted.has(n) && !isDeepStrictEqual(admitted.get(n), this.accepted.get(n))));
      if (!changed.size) break; // only clusters that were serving: nothing to give way
      const next = new Map(admitted);
      for (const n of changed) {
        const good = this.accepted.get(n);
        if (good) next.set(n, good);
        else next.delete(n);
      }
      admitted = next;
    }
    this.report(written, cfg.clusters, admitted);
    this.accepted = admitted;
    return admitted;
  }

  private report(problems: CrossProblem[], written: ReadonlyMap<string, ClusterConfig>, admitted: ReadonlyMap<string, ClusterConfig>): void {
    const fate = (n: string) => {
      if (!admitted.has(n)) return `${n}: left out until fixed`;
      return admitted.get(n) === written.get(n) ? `${n}: serving as written` : `${n}: last good version kept`;
    };
    const now = new Set<string>();
    for (const p of problems) {
      const line = `${formatProblem(p)} (${p.clusters.map(fate).join('; ')})`;
      now.add(line);
      if (!this.reported.has(line)) this.log.error({ file: p.file, clusters: p.clusters }, `invalid config: ${line}`);
    }
    if (this.reported.size && !now.size) this.log.info('no clusters clash any more: every cluster as written');
    this.reported = now;
  }
}
