/**
 * What a config dir holds as a whole, before a daemon starts on it or `lighthousectl validate`
 * judges it: every problem (each file's, then those between files, located at file:line:col)
 * and a warning when the dir lacks what a daemon needs to do anything.
 */
import type { ConfigProblem } from '../core/errors.js';
import type { Registry } from '../core/registry.js';
import { crossCheck, type CrossProblem } from '../config/cross-check.js';
import type { LoadedConfig, ConfigFiles } from '../config/store.js';
import { locateProblems } from '../config/yaml.js';

/** Problems between the files of `cfg`, each at its file:line:column. */
export function crossProblems(dir: string, cfg: LoadedConfig, registry: Registry): Promise<CrossProblem[]> {
  return locateProblems(dir, crossCheck(cfg, registry));
}

/** Which of `expects` (e.g. `clusters/*.yaml`: a kind of file) `cfg` has none of. */
export function missing(cfg: LoadedConfig, expects: readonly string[]): string[] {
  return expects.filter((e) => cfg[e.split('/')[0] as keyof ConfigFiles].size === 0);
}

/** No balancer, discovery, cluster or service file at all. */
export function isEmpty(cfg: LoadedConfig): boolean {
  return (['balancers', 'discovery', 'clusters', 'services'] as const).every((k) => cfg[k].size === 0);
}

/** What a daemon says at start when its dir lacks what it needs; null when nothing is. */
export function missingWarning(dir: string, cfg: LoadedConfig, program: string, expects: readonly string[]): string | null {
  const absent = missing(cfg, expects);
  if (!absent.length) return null;
  const what = isEmpty(cfg) ? `no config files in ${dir}` : `no ${absent.join(', no ')} in ${dir}`;
  return `${what}: ${program} expects ${expects.join(', ')}; it does nothing without them until they are added (the dir is watched)`;
}

/** The line printed after a list of problems. */
export function summary(problems: readonly ConfigProblem[]): string {
  return `${problems.length} problem(s) in ${new Set(problems.map((p) => p.file)).size} file(s)`;
}
