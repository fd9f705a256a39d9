/**
 * lighthouse-writer CONFIG_DIR: watches discovery for every cluster in CONFIG_DIR/clusters and
 * keeps the local balancer (HAProxy) serving exactly those members; serves probes, metrics, its
 * status and dashboard over HTTP (http.yaml, users.yaml; default port 10102). Composition root
 * only.
 */
import { hostname } from 'node:os';
import { systemClock } from '../core/clock.js';
import { Writer } from '../writer/writer.js';
import { Notifier, withNotifications, writerObserver } from '../notify/index.js';
import { daemonHttp } from '../status/daemon-http.js';
import { WriterHistory } from '../status/history.js';
import { mountStatus, writerStatus } from '../status/routes.js';
import { fanOut } from '../core/fan-out.js';
import { runDaemon } from './common.js';
import { WRITER_HELP } from './program.js';

runDaemon(
  'lighthouse-writer',
  'Keep the local HAProxy serving exactly the members discovery (ZooKeeper) lists for each cluster in CONFIG_DIR/clusters: membership through the runtime API, a validated reload only when the structure changes. Starts HAProxy when it is not running.',
  WRITER_HELP,
  async (rt, cfg) => {
    rt.logger.info({ dir: rt.dir, clusters: [...cfg.clusters.keys()] }, 'writer starting');
    const notifier = new Notifier({ daemon: 'writer', node: hostname(), logger: rt.logger, clock: systemClock });
    // the sources are read when scraped, after the writer exists
    const http = daemonHttp({ daemon: 'writer', dir: rt.dir, logger: rt.logger, clock: systemClock, store: rt.store, secrets: rt.secrets, sources: { sessions: () => writer.sessions(), clusters: () => writer.members(), notifications: () => notifier.stats() } });
    const history = new WriterHistory(systemClock);
    const observer = fanOut(['members', 'removed', 'applied', 'applyFailed'], [writerObserver(notifier, systemClock), http.metrics.writerObserver(), history]);
    const writer = new Writer({ registry: rt.registry, logger: rt.logger, clock: systemClock, configDir: rt.dir, observer, discoveryObserver: http.metrics });
    const host = hostname();
    mountStatus(http.router, () => ({
      result: writerStatus({ host, clusters: () => writer.clusterConfigs(), members: () => writer.members(), serving: () => writer.serving(), since: (c) => history.changed.get(c) }),
      reloads: history.reloads,
    }), systemClock);
    return withNotifications({
      async apply(s) {
        await writer.apply(s);
        http.configure(s);
      },
      async stop() {
        await http.stop();
        await writer.stop();
      },
    }, notifier);
  },
);
