/**
 * lighthouse-reporter CONFIG_DIR: health-checks the services in CONFIG_DIR/services and keeps
 * one ephemeral znode per healthy instance in discovery, as the node's availability state says
 * (availability.yaml, its state file), and serves that state over HTTP (http.yaml), with the
 * node's actions (actions/), probes, metrics, its status and dashboard (users.yaml), and its
 * record in the node inventory. Composition root only.
 */
import { systemClock } from '../core/clock.js';
import { ConfigError, EXIT, LighthouseError } from '../core/errors.js';
import { Reporter } from '../reporter/reporter.js';
import { resolveIdentity } from '../config/node-identity.js';
import { Availability } from '../control/availability.js';
import { mountAvailability } from '../control/routes.js';
import { daemonHttp } from '../status/daemon-http.js';
import { mountStatus, reporterStatus } from '../status/routes.js';
import { fanOut } from '../core/fan-out.js';
import { ActionService } from '../actions/service.js';
import { mountActions } from '../actions/routes.js';
import { actionNodeOf, nodeRecordOf } from '../actions/node.js';
import { Notifier, reporterObserver, withNotifications } from '../notify/index.js';
import { runDaemon } from './common.js';
import { REPORTER_HELP } from './program.js';

const isFile = (base: string) => (p: { file: string }) => p.file === `${base}.yaml` || p.file === `${base}.yml`;

runDaemon(
  'lighthouse-reporter',
  'Health-check the services this node provides (CONFIG_DIR/services) and publish each healthy instance to discovery (ZooKeeper) as an ephemeral znode, as the node\'s availability state says; serve that state over HTTP (http.yaml).',
  REPORTER_HELP,
  async (rt, cfg) => {
  // without a valid availability.yaml the state file and the states are unknown: publishing
  // anything could put a node in maintenance back in rotation
  const bad = rt.store.problems().filter(isFile('availability'));
  if (bad.length) throw new ConfigError(bad);
  const identity = await resolveIdentity(cfg.node);
  rt.logger.info({ host: identity.host, ip: identity.ip, dir: rt.dir }, 'reporter starting');
  const availability = await Availability.open({ config: cfg.availability, configDir: rt.dir, logger: rt.logger, clock: systemClock }).catch((err) => {
    if (!(err instanceof LighthouseError && err.code === 'LH_ERR_STATE_FILE')) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT.RUNTIME);
  });
  const notifier = new Notifier({ daemon: 'reporter', node: identity.host, logger: rt.logger, clock: systemClock });
  // the sources are read when scraped, after the reporter exists
  const http = daemonHttp({ daemon: 'reporter', dir: rt.dir, logger: rt.logger, clock: systemClock, store: rt.store, secrets: rt.secrets, sources: { instances: () => reporter.status(), sessions: () => reporter.sessions(), notifications: () => notifier.stats() } });
  const observer = fanOut(['observed', 'removed', 'probed', 'changed', 'held'], [reporterObserver(notifier), http.metrics.reporterObserver()]);
  const reporter = new Reporter({ registry: rt.registry, logger: rt.logger, clock: systemClock, identity, availability, observer, discoveryObserver: http.metrics });
  mountAvailability(http.router, { availability, reporter, host: identity.host });
  mountStatus(http.router, () => ({ result: reporterStatus({ host: identity.host, instances: () => reporter.status(), availability }) }), systemClock);
  const actions = new ActionService({ configDir: rt.dir, logger: rt.logger, clock: systemClock });
  mountActions(http.router, actions, systemClock);
  http.server.setActionTokenVerifier((token) => actions.authenticate(token));
  return withNotifications({
    async apply(s) {
      availability.configure(s.availability);
      actions.configure(s.actions, s.revokedTokens, actionNodeOf(identity, s.node));
      await reporter.apply(s);
      void reporter.reassess(); // a state's effect may be defined anew
      reporter.setNodeRecord(nodeRecordOf(identity, s.node, http.configure(s)));
    },
    async stop() {
      await http.stop();
      await reporter.stop();
    },
  }, notifier);
},
);
