/**
 * lighthouse-writer CONFIG_DIR: watches discovery for every cluster in CONFIG_DIR/clusters and
 * keeps the local balancer (HAProxy) serving exactly those members. Composition root only.
 */
import { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import { Writer } from '../writer/writer.js';
import { bootstrap, onSignals, runMain, usage } from './common.js';

runMain(async () => {
  const program = new Command('lighthouse-writer')
    .description('keep the local HAProxy in line with discovery (ZooKeeper)')
    .argument('<config_dir>', 'Lighthouse config directory')
    .exitOverride((e) => (e.exitCode === 0 ? process.exit(0) : usage(e.message)))
    .parse();
  const rt = await bootstrap(program.args[0] ?? usage('missing CONFIG_DIR'), 'lighthouse-writer');
  const { snapshot } = await rt.store.load();
  rt.logger.info({ dir: rt.dir, clusters: [...snapshot.clusters.keys()] }, 'writer starting');
  const writer = new Writer({ registry: rt.registry, logger: rt.logger, clock: systemClock, configDir: rt.dir });
  let applying = Promise.resolve();
  const apply = (snap: typeof snapshot) => (applying = applying.then(() => writer.apply(snap)).catch((err) => rt.logger.error({ err }, 'applying config failed')));
  rt.store.on('change', (snap) => void apply(snap));
  await apply(snapshot);
  await rt.store.watch();
  onSignals(rt.logger, {
    stop: async () => {
      await rt.store.close();
      await writer.stop();
    },
    reload: async () => void (await rt.store.reload()),
  });
});
