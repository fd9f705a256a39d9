/**
 * lighthousectl: operator commands. `validate CONFIG_DIR` checks every file and prints each
 * problem (file:line:col path: message); exit 78 if any.
 */
import { Command } from 'commander';
import { EXIT, formatProblem } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { builtinRegistry } from '../core/builtins.js';
import { ConfigStore } from '../config/store.js';
import { runMain, usage } from './common.js';

async function validate(dir: string): Promise<number> {
  const registry = builtinRegistry();
  const store = new ConfigStore({ dir, registry, logger: silentLogger() });
  const { snapshot, problems } = await store.load();
  for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
  if (problems.length) {
    process.stdout.write(`${problems.length} problem(s) in ${new Set(problems.map((p) => p.file)).size} file(s)\n`);
    return EXIT.CONFIG;
  }
  const counts = `${snapshot.services.size} service(s), ${snapshot.clusters.size} cluster(s), ${snapshot.discovery.size} discovery, ${snapshot.balancers.size} balancer(s)`;
  process.stdout.write(`ok: ${counts}\n`);
  return EXIT.OK;
}

runMain(async () => {
  const program = new Command('lighthousectl')
    .description('operate Lighthouse: validate config dirs')
    .exitOverride((e) => (e.exitCode === 0 ? process.exit(0) : usage(e.message)));
  program
    .command('validate')
    .argument('<config_dir>', 'Lighthouse config directory')
    .description('check every file; print each problem; exit 78 if any')
    .action(async (dir: string) => process.exit(await validate(dir)));
  await program.parseAsync();
});
