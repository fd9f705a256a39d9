/**
 * lighthousectl: operator commands. `validate CONFIG_DIR` checks every file and prints each
 * problem (file:line:col path: message); exit 78 if any. Warnings (valid, but e.g. a directive
 * HAProxy ignores) are printed too, as `... path: warning: message`, and do not fail.
 */
import { Command } from 'commander';
import { EXIT, formatProblem } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { bootstrap, runMain, usage } from './common.js';
import { registerAvailabilityCommands } from './ctl-availability.js';
import { registerActionCommands } from './ctl-actions.js';
import { registerTokenCommands } from './ctl-tokens.js';

async function validate(dir: string): Promise<number> {
  const { store } = await bootstrap(dir, 'lighthousectl', silentLogger());
  const { snapshot, problems, warnings } = await store.load();
  for (const p of [...problems, ...warnings]) process.stdout.write(`${formatProblem(p)}\n`);
  if (problems.length) {
    process.stdout.write(`${problems.length} problem(s) in ${new Set(problems.map((p) => p.file)).size} file(s)\n`);
    return EXIT.CONFIG;
  }
  const counts = `${snapshot.services.size} service(s), ${snapshot.clusters.size} cluster(s), ${snapshot.discovery.size} discovery, ${snapshot.balancers.size} balancer(s)`;
  process.stdout.write(`ok: ${counts}${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`);
  return EXIT.OK;
}

runMain(async () => {
  const program = new Command('lighthousectl')
    .description('operate Lighthouse: validate config dirs, node availability, actions and their tokens')
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : EXIT.USAGE)) // commander already printed why;
  program
    .command('validate')
    .argument('<config_dir>', 'Lighthouse config directory')
    .description('check every file; print each problem; exit 78 if any')
    .action(async (dir: string) => process.exit(await validate(dir)));
  registerAvailabilityCommands(program);
  registerActionCommands(program);
  registerTokenCommands(program);
  await program.parseAsync();
});
