/**
 * What both daemons' composition roots share for HTTP: one router, one server (http.yaml,
 * users.yaml), the daemon's metrics, the probes and the dashboard. Each daemon mounts its own
 * routes (availability, actions, status) on `router`.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { ConfigStore, LoadedConfig } from '../config/store.js';
import type { Secrets } from '../core/redact.js';
import { Router } from '../http/router.js';
import { HttpServer } from '../http/server.js';
import { httpSettings, type DaemonName, type HttpSettings } from '../http/schema.js';
import { Users, type UsersConfig } from '../http/users.js';
import { DaemonMetrics, type MetricsSources } from '../metrics/metrics.js';
import { mountProbes } from './probes.js';
import { mountDashboard } from './dashboard.js';

export interface DaemonHttp {
  router: Router;
  server: HttpServer;
  metrics: DaemonMetrics;
  /** after each applied snapshot; the settings in force (null: a broken http.yaml with no
   * good version, not served) */
  configure(cfg: LoadedConfig): HttpSettings | null;
  stop(): Promise<void>;
}

const isHttp = (p: { file: string }) => p.file === 'http.yaml' || p.file === 'http.yml';

export function daemonHttp(opts: {
  daemon: DaemonName;
  dir: string;
  logger: Logger;
  clock: Clock;
  store: ConfigStore;
  /** the daemon's secrets: masked in every answer */
  secrets: Secrets;
  sources: Omit<MetricsSources, 'configProblems'>;
}): DaemonHttp {
  const { store, logger } = opts;
  const router = new Router();
  const metrics = new DaemonMetrics(opts.daemon, { ...opts.sources, configProblems: () => store.problems() }, opts.clock);
  const server = new HttpServer({ router, logger, clock: opts.clock, redact: (text) => opts.secrets.redact(text) });
  let settings: HttpSettings | null = null;
  let users: { config: UsersConfig; users: Users } | undefined;
  let said: boolean | null = null;
  mountProbes(router, {
    metrics,
    readiness: { configured: () => settings !== null, sessions: opts.sources.sessions },
    access: () => (settings?.probesAuth ? 'read' : 'public'),
  });
  mountDashboard(router);
  return {
    router,
    server,
    metrics,
    configure(cfg) {
      // a broken http.yaml with no good version is not served with the defaults (every
      // interface) the file may have been written to avoid
      if (cfg.http === undefined && store.problems().some(isHttp)) return null;
      settings = httpSettings(cfg.http, opts.daemon, opts.dir);
      if (cfg.users !== users?.config) users = cfg.users && { config: cfg.users, users: new Users(cfg.users) };
      server.configure(settings, users?.users);
      // only a TCP listener has anything to say about users.yaml
      if (settings.port !== null && said !== (users !== undefined)) {
        said = users !== undefined;
        if (users) logger.info({ users: Object.keys(users.config).length }, 'status API and dashboard: for the users of users.yaml');
        else logger.warn('no users.yaml: the status API and dashboard answer only on the local Unix socket');
      }
      return settings;
    },
    stop: () => server.stop(),
  };
}
