/**
 * lighthousectl: operator commands. `validate CONFIG_DIR` checks the whole dir as the daemons
 * would (validate.ts) and prints each problem; exit 78 if any.
 */
import { runMain } from './common.js';
import { EXIT_CODES_HELP, program } from './program.js';
import { validate } from './validate.js';
import { registerAvailabilityCommands } from './ctl-availability.js';
import { registerActionCommands } from './ctl-actions.js';
import { registerTokenCommands } from './ctl-tokens.js';
import { registerHashPassword } from './ctl-hash-password.js';

runMain(async () => {
  const cli = program('lighthousectl', 'Operate Lighthouse (lighthouse-reporter, lighthouse-writer) on this node.').addHelpText(
    'after',
    `\nRun lighthousectl COMMAND --help for a command's options.\n\n${EXIT_CODES_HELP}\n`,
  );
  cli
    .command('validate')
    .argument('<config_dir>', 'Lighthouse config directory (e.g. /etc/lighthouse)')
    .description('check a config dir as the daemons would; print each problem; exit 78 if any')
    .addHelpText(
      'after',
      `
Checks every file (syntax, schema, HAProxy directives per section), what files refer to in
each other (discovery:, meta_cluster:), clusters that clash (one port, names that collide in
HAProxy, the stats or a proxy's port), then renders the HAProxy config from sample members
and runs haproxy -c on it when HAProxy is installed. Each problem is printed as
file:line:col path: message; warnings (valid, but probably not meant) do not fail.

Exit codes: 0 valid (warnings allowed), 2 usage error, 78 a problem in some file.
`,
    )
    .action(async (dir: string) => process.exit(await validate(dir, (l) => process.stdout.write(`${l}\n`))));
  registerAvailabilityCommands(cli);
  registerActionCommands(cli);
  registerTokenCommands(cli);
  registerHashPassword(cli);
  await cli.parseAsync();
});
