/**
 * Problems between files that each validated alone: a cluster or service naming a discovery no
 * file configures, and what each balancer plugin finds among its clusters (`crossCheck`: two
 * clusters on one port, names that collide once made valid for the balancer, ...). Pure: the
 * same config gives the same problems, each naming the file it is reported against and, in
 * its message, the other file(s) involved.
 *
 * Used by `lighthousectl validate`, at daemon start (a problem fails the start unless
 * `--keep-going`) and by the writer, which leaves out the clusters a problem names.
 */
import type { ConfigProblem } from '../core/errors.js';
import type { ClusterSection, CrossIssue } from '../core/plugin.js';
import type { Registry } from '../core/registry.js';
import type { LoadedConfig, ConfigFiles } from './store.js';

/** A cross-file problem; `clusters`: the clusters it keeps from rendering (see CrossIssue). */
export type CrossProblem = ConfigProblem & { clusters: string[] };

/** Where an entry came from: the store's record, else the file its name implies. */
export function fileOf(cfg: LoadedConfig, kind: keyof ConfigFiles, name: string): string {
  return cfg.files?.[kind].get(name) ?? `${kind}/${name}.yaml`;
}

export function crossCheck(cfg: LoadedConfig, registry: Registry): CrossProblem[] {
  const out: CrossProblem[] = [];
  const configured = [...cfg.discovery.keys()];
  const unknown = (name: string) =>
    `discovery '${name}' is not configured: no valid discovery/${name}.yaml${configured.length ? ` (configured: ${configured.join(', ')})` : ''}`;
  for (const c of cfg.clusters.values()) {
    if (!cfg.discovery.has(c.discovery)) out.push({ file: fileOf(cfg, 'clusters', c.name), path: ['discovery'], message: unknown(c.discovery), clusters: [] });
  }
  for (const s of cfg.services.values()) {
    if (!cfg.discovery.has(s.discovery)) out.push({ file: fileOf(cfg, 'services', s.name), path: ['discovery'], message: unknown(s.discovery), clusters: [] });
  }
  for (const [name, config] of cfg.balancers) {
    const check = registry.balancers.get(name)?.crossCheck;
    if (!check) continue;
    out.push(...check(config, fileOf(cfg, 'balancers', name), sectionsOf(cfg, name)).map(toProblem));
  }
  return out;
}

/** Every cluster with a section for balancer `name`, in the config's order. */
export function sectionsOf(cfg: LoadedConfig, name: string): ClusterSection[] {
  const out: ClusterSection[] = [];
  for (const c of cfg.clusters.values()) {
    const section = c.balancers[name];
    if (section !== undefined) out.push({ name: c.name, file: fileOf(cfg, 'clusters', c.name), metaCluster: c.meta_cluster, section });
  }
  return out;
}

function toProblem(i: CrossIssue): CrossProblem {
  return { file: i.file, path: i.path, message: i.message, clusters: i.clusters };
}
