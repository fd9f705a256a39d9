/**
 * What the config store hands out: every file's last good version, by kind, with the file each
 * entry came from. Built whole from the store's entries each time, so two compare with
 * isDeepStrictEqual and an unchanged dir gives an equal value.
 */
import type { NotifyConfig } from '../notify/schema.js';
import type { ClusterConfig, LoggingConfig, NodeConfig, ServiceConfig } from './schema.js';
import type { AvailabilityConfig } from '../control/schema.js';
import type { HttpConfig } from '../http/schema.js';
import type { UsersConfig } from '../http/users.js';
import type { ActionDefinition } from '../actions/definition.js';
import type { FileKind } from './files.js';

export interface LoadedConfig {
  logging?: LoggingConfig;
  node: NodeConfig;
  plugins: string[];
  /** notify.yaml, when there is one */
  notify?: NotifyConfig;
  balancers: ReadonlyMap<string, unknown>;
  discovery: ReadonlyMap<string, unknown>;
  clusters: ReadonlyMap<string, ClusterConfig>;
  services: ReadonlyMap<string, ServiceConfig>;
  /** availability.yaml (reporter); undefined without one (defaultAvailabilityConfig) */
  availability?: AvailabilityConfig;
  /** http.yaml; undefined without one (each daemon fills its own defaults) */
  http?: HttpConfig;
  /** users.yaml: who may read the status API; undefined without one (the local socket only) */
  users?: UsersConfig;
  /** actions/NAME/ (metadata.yaml and its scripts), by name */
  actions?: ReadonlyMap<string, ActionDefinition>;
  /** actions/revoked.yaml: ids of action tokens that are refused */
  revokedTokens?: readonly string[];
  /** the file each entry came from (relative to the config dir), by kind and entry name;
   * absent in configs built by hand (then `clusters/NAME.yaml` and the like are assumed) */
  files?: ConfigFiles;
}

export interface ConfigFiles {
  balancers: ReadonlyMap<string, string>;
  discovery: ReadonlyMap<string, string>;
  clusters: ReadonlyMap<string, string>;
  services: ReadonlyMap<string, string>;
}

/** One valid file's value: its kind and its entry name (a cluster's own `name:`). */
export interface Entry {
  kind: FileKind;
  name: string;
  data: unknown;
}

/** The loaded config of `entries` (last good entry by file, relative path). */
export function loadedConfigOf(entries: ReadonlyMap<string, Entry>): LoadedConfig {
  const by = (kind: FileKind) => new Map([...entries.values()].filter((e) => e.kind === kind).map((e) => [e.name, e.data]));
  const one = (kind: FileKind) => [...entries.values()].find((e) => e.kind === kind)?.data;
  const files = (kind: FileKind) => new Map([...entries].filter(([, e]) => e.kind === kind).map(([rel, e]) => [e.name, rel]));
  return {
    logging: one('logging') as LoggingConfig | undefined,
    node: (one('node') as NodeConfig | undefined) ?? { peer_port: 1024 },
    plugins: ((one('plugins') as { plugins: string[] } | undefined)?.plugins) ?? [],
    notify: one('notify') as NotifyConfig | undefined,
    balancers: by('balancer'),
    discovery: by('discovery'),
    clusters: by('cluster') as Map<string, ClusterConfig>,
    services: by('service') as Map<string, ServiceConfig>,
    files: { balancers: files('balancer'), discovery: files('discovery'), clusters: files('cluster'), services: files('service') },
    availability: one('availability') as AvailabilityConfig | undefined,
    http: one('http') as HttpConfig | undefined,
    users: one('users') as UsersConfig | undefined,
    actions: by('action') as Map<string, ActionDefinition>,
    revokedTokens: ((one('revoked') as { revoked: string[] } | undefined)?.revoked) ?? [],
  };
}
