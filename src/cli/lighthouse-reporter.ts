/**
 * lighthouse-reporter CONFIG_DIR: health-checks the services in CONFIG_DIR/services and keeps
 * one ephemeral znode per healthy instance in discovery. Composition root only.
 */
import { systemClock } from '../core/clock.js';
import { Reporter } from '../reporter/reporter.js';
import { resolveIdentity } from '../reporter/identity.js';
import { runDaemon } from './common.js';
import { REPORTER_HELP } from './program.js';

runDaemon(
  'lighthouse-reporter',
  'Health-check the services this node provides (CONFIG_DIR/services) and publish each healthy instance to discovery (ZooKeeper) as an ephemeral znode; unpublish it when it fails.',
  REPORTER_HELP,
  async (rt, snap) => {
    const identity = await resolveIdentity(snap.node);
    rt.logger.info({ host: identity.host, ip: identity.ip, dir: rt.dir }, 'reporter starting');
    return new Reporter({ registry: rt.registry, logger: rt.logger, clock: systemClock, identity });
  },
);
