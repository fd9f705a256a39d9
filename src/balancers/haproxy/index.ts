/**
 * The HAProxy balancer plugin: `balancers/haproxy.yaml` + the `haproxy:` section of clusters.
 * The work is in balancer.ts; this file is the plugin object the registry lists.
 */
import { resolve } from 'node:path';
import type { BalancerPlugin } from '../../core/plugin.js';
import { HaproxyBalancer } from './balancer.js';
import { configuredPeerName } from './local-peer.js';
import {
  haproxyClusterSchema, haproxyClusterWarnings, haproxyConfigWarnings, haproxySchema,
  type HaproxyClusterConfig, type HaproxyConfig,
} from './schema.js';

export const haproxyBalancer = {
  kind: 'balancer',
  name: 'haproxy',
  schema: haproxySchema,
  clusterSchema: haproxyClusterSchema,
  warnings: { config: haproxyConfigWarnings, cluster: haproxyClusterWarnings },
  create(config, deps) {
    const at = (p: string) => resolve(deps.configDir, p);
    return new HaproxyBalancer(
      {
        ...config,
        config_file: at(config.config_file),
        socket_file: at(config.socket_file),
        pid_file: at(config.pid_file),
        master_socket: at(config.master_socket),
        server_state_file: at(config.server_state_file),
        template_dir: config.template_dir === undefined ? undefined : at(config.template_dir),
        peer_name: configuredPeerName(config.peer_name, deps.configDir),
      },
      deps,
    );
  },
} satisfies BalancerPlugin<HaproxyConfig, HaproxyClusterConfig>;

export { HaproxyBalancer } from './balancer.js';
export type { HaproxyConfig, HaproxyClusterConfig } from './schema.js';
