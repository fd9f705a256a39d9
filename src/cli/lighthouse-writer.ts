/**
 * lighthouse-writer CONFIG_DIR: watches discovery for every cluster in CONFIG_DIR/clusters and
 * keeps the local balancer (HAProxy) serving exactly those members. Composition root only.
 */
import { hostname } from 'node:os';
import { systemClock } from '../core/clock.js';
import { Writer } from '../writer/writer.js';
import { Notifier, withNotifications, writerObserver } from '../notify/index.js';
import { runDaemon } from './common.js';
import { WRITER_HELP } from './program.js';

runDaemon(
  'lighthouse-writer',
  'Keep the local HAProxy serving exactly the members discovery (ZooKeeper) lists for each cluster in CONFIG_DIR/clusters: membership through the runtime API, a validated reload only when the structure changes. Starts HAProxy when it is not running.',
  WRITER_HELP,
  async (rt, cfg) => {
    rt.logger.info({ dir: rt.dir, clusters: [...cfg.clusters.keys()] }, 'writer starting');
    const notifier = new Notifier({ daemon: 'writer', node: hostname(), logger: rt.logger, clock: systemClock });
    const writer = new Writer({ registry: rt.registry, logger: rt.logger, clock: systemClock, configDir: rt.dir, observer: writerObserver(notifier, systemClock) });
    return withNotifications(writer, notifier);
  },
);
