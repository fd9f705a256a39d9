/**
 * An in-memory discovery plugin for writer tests and benchmarks: `watch` keeps each cluster's
 * listener in `listeners`, so the caller sends member lists itself; `initial(cluster)`, when given
 * and not undefined, is sent at once as the cluster's first member list.
 */
import { z } from 'zod';
import type { ServiceNode } from '../../src/core/node.js';
import type { DiscoveryPlugin, MembersListener } from '../../src/core/plugin.js';
import type { LoadedConfig } from '../../src/config/store.js';
import type { ClusterConfig } from '../../src/config/schema.js';

export function memoryDiscovery(name: string, listeners: Map<string, MembersListener>, initial?: (cluster: string) => ServiceNode[] | undefined): DiscoveryPlugin {
  return {
    kind: 'discovery',
    name,
    schema: z.object({}),
    create: () => ({
      start: async () => {},
      stop: async () => {},
      register: async () => {},
      unregister: async () => {},
      watch: (cluster, listener) => {
        listeners.set(cluster, listener);
        const first = initial?.(cluster);
        if (first) listener(first);
        return () => listeners.delete(cluster);
      },
      connected: true,
    }),
  } satisfies DiscoveryPlugin;
}

/** A writer's config on a memory discovery named `mem`: balancer `balancer` and, per entry of
 * `clusters`, a cluster with that section of the balancer. */
export function memoryWriterConfig(balancer: string, clusters: Record<string, unknown>): LoadedConfig {
  return {
    node: { peer_port: 1024 },
    plugins: [],
    balancers: new Map([[balancer, {}]]),
    discovery: new Map([['mem', {}]]),
    clusters: new Map(Object.entries(clusters).map(([name, section]): [string, ClusterConfig] => [name, { name, discovery: 'mem', balancers: { [balancer]: section } }])),
    services: new Map(),
  };
}
