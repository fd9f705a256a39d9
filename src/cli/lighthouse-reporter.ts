/**
 * lighthouse-reporter CONFIG_DIR: health-checks the services in CONFIG_DIR/services and keeps
 * one ephemeral znode per healthy instance in discovery. Composition root only.
 */
import { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import { Reporter } from '../reporter/reporter.js';
import { resolveIdentity } from '../reporter/identity.js';
import { bootstrap, onSignals, runMain, usage } from './common.js';

runMain(async () => {
  const program = new Command('lighthouse-reporter')
    .description('publish healthy local services to discovery (ZooKeeper)')
    .argument('<config_dir>', 'Lighthouse config directory')
    .exitOverride((e) => (e.exitCode === 0 ? process.exit(0) : usage(e.message)))
    .parse();
  const rt = await bootstrap(program.args[0] ?? usage('missing CONFIG_DIR'), 'lighthouse-reporter');
  const { snapshot } = await rt.store.load();
  const identity = await resolveIdentity(snapshot.node);
  rt.logger.info({ host: identity.host, ip: identity.ip, dir: rt.dir }, 'reporter starting');
  const reporter = new Reporter({ registry: rt.registry, logger: rt.logger, clock: systemClock, identity });
  let applying = Promise.resolve();
  const apply = (snap: typeof snapshot) => (applying = applying.then(() => reporter.apply(snap)).catch((err) => rt.logger.error({ err }, 'applying config failed')));
  rt.store.on('change', (snap) => void apply(snap));
  await apply(snapshot);
  await rt.store.watch();
  onSignals(rt.logger, {
    stop: async () => {
      await rt.store.close();
      await reporter.stop();
    },
    reload: async () => void (await rt.store.reload()),
  });
});
