/**
 * lighthouse-reporter CONFIG_DIR: health-checks the services in CONFIG_DIR/services and keeps
 * one ephemeral znode per healthy instance in discovery. Composition root only.
 */
import { systemClock } from '../core/clock.js';
import { Reporter } from '../reporter/reporter.js';
import { resolveIdentity } from '../reporter/identity.js';
import { Notifier, reporterObserver, withNotifications } from '../notify/index.js';
import { runDaemon } from './common.js';

runDaemon('lighthouse-reporter', 'publish healthy local services to discovery (ZooKeeper)', async (rt, snap) => {
  const identity = await resolveIdentity(snap.node);
  rt.logger.info({ host: identity.host, ip: identity.ip, dir: rt.dir }, 'reporter starting');
  const notifier = new Notifier({ daemon: 'reporter', node: identity.host, logger: rt.logger, clock: systemClock });
  const reporter = new Reporter({ registry: rt.registry, logger: rt.logger, clock: systemClock, identity, observer: reporterObserver(notifier) });
  return withNotifications(reporter, notifier);
});
