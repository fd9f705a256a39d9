/**
 * The HAProxy balancer plugin: `balancers/haproxy.yaml` + the `haproxy:` section of clusters.
 * The work is in balancer.ts; this file is the plugin object the registry lists.
 */
import { resolve } from 'node:path';
import type { BalancerPlugin } from '../../core/plugin.js';
import { HaproxyBalancer } from './balancer.js';
import { haproxyCrossCheck } from './config/cross-check.js';
import { haproxyDryRun } from './dry-run.js';
import { configuredPeerName } from './local-peer.js';
import {
  haproxyClusterSchema, haproxyClusterWarnings, haproxyConfigWarnings, haproxySchema,
  type HaproxyClusterConfig, type HaproxyConfig,
} from './config/schema.js';

/** The config's paths resolved against the config dir, as the balancer uses them. */
function resolvePaths(config: HaproxyConfig, configDir: string): HaproxyConfig {
  const at = (p: string) => resolve(configDir, p);
  return {
    ...config,
    config_file: at(config.config_file),
    socket_file: at(config.socket_file),
    pid_file: at(config.pid_file),
    master_socket: at(config.master_socket),
    server_state_file: at(config.server_state_file),
    template_dir: config.template_dir === undefined ? undefined : at(config.template_dir),
  };
}

export const haproxyBalancer = {
  kind: 'balancer',
  name: 'haproxy',
  schema: haproxySchema,
  clusterSchema: haproxyClusterSchema,
  warnings: { config: haproxyConfigWarnings, cluster: haproxyClusterWarnings },
  crossCheck: haproxyCrossCheck,
  dryRun: (config, file, desired, clusters, deps) => haproxyDryRun(resolvePaths(config, deps.configDir), file, desired, clusters),
  create(config, deps) {
    return new HaproxyBalancer({ ...resolvePaths(config, deps.configDir), peer_name: configuredPeerName(config.peer_name, deps.advertisedHost) }, deps);
  },
} satisfies BalancerPlugin<HaproxyConfig, HaproxyClusterConfig>;

export { HaproxyBalancer } from './balancer.js';
export type { HaproxyConfig, HaproxyClusterConfig } from './config/schema.js';
