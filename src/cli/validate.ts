/**
 * `lighthousectl validate CONFIG_DIR`: what the daemons would make of the dir, without
 * starting anything. Every file is parsed and validated (as the config store does), the
 * references and clashes between files are checked (config/cross-check.ts), and each balancer
 * with a dry run renders its config from sample members and checks it as it would before a
 * reload (HAProxy: `haproxy -c`, when installed), leaving out the clusters that clash, as the
 * writer would. Every problem is printed as `file:line:col path: message`; warnings (valid,
 * but probably not meant) as `... path: warning: message`, and do not fail.
 */
import { systemClock } from '../core/clock.js';
import { EXIT, formatProblem, type ConfigProblem } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import { fileOf, sectionsOf, type CrossProblem } from '../config/cross-check.js';
import type { LoadedConfig } from '../config/store.js';
import { locateProblems } from '../config/yaml.js';
import { sampleState } from '../writer/sample.js';
import { bootstrap } from './common.js';
import { REPORTER_HELP, WRITER_HELP } from './program.js';
import { crossProblems, isEmpty, summary } from './startup.js';

interface DryRuns {
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
  notes: string[];
}

export async function validate(dirArg: string, out: (line: string) => void): Promise<number> {
  const { dir, store, registry } = await bootstrap(dirArg, 'lighthousectl', silentLogger());
  const { config: cfg, problems, warnings } = await store.load();
  const cross = await crossProblems(dir, cfg, registry);
  const dry = await dryRuns(dir, cfg, registry, cross);
  const errors = [...problems, ...cross, ...dry.problems];
  for (const p of [...errors, ...warnings, ...dry.warnings]) out(formatProblem(p));
  for (const n of dry.notes) out(`note: ${n}`);
  if (isEmpty(cfg) && !errors.length) {
    out(`warning: no config files in ${dir}: lighthouse-reporter expects ${REPORTER_HELP.expects.join(', ')}; lighthouse-writer expects ${WRITER_HELP.expects.join(', ')}`);
  }
  if (errors.length) {
    out(summary(errors));
    return EXIT.CONFIG;
  }
  const counts = `${cfg.services.size} service(s), ${cfg.clusters.size} cluster(s), ${cfg.discovery.size} discovery, ${cfg.balancers.size} balancer(s)`;
  const warned = warnings.length + dry.warnings.length;
  out(`ok: ${counts}${warned ? `, ${warned} warning(s)` : ''}`);
  return EXIT.OK;
}

/** Each balancer's dry run on the clusters the writer would let through. */
async function dryRuns(dir: string, cfg: LoadedConfig, registry: Registry, cross: readonly CrossProblem[]): Promise<DryRuns> {
  const r: DryRuns = { problems: [], warnings: [], notes: [] };
  const clashing = new Set(cross.flatMap((p) => p.clusters));
  const kept: LoadedConfig = { ...cfg, clusters: new Map([...cfg.clusters].filter(([n]) => !clashing.has(n))) };
  for (const [name, config] of cfg.balancers) {
    const plugin = registry.balancers.get(name);
    if (!plugin?.dryRun) continue;
    const run = await plugin.dryRun(config, fileOf(cfg, 'balancers', name), sampleState(kept, name), sectionsOf(kept, name), { logger: silentLogger(), clock: systemClock, configDir: dir });
    for (const p of await locateProblems(dir, run.issues)) (p.severity === 'warning' ? r.warnings : r.problems).push(p);
    if (run.skipped) r.notes.push(`${name}: ${run.skipped}`);
  }
  return r;
}
