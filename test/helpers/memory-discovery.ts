/**
 * An in-memory discovery plugin for writer tests and benchmarks: `watch` keeps each cluster's
 * listener in `listeners`, so the caller sends member lists itself; `initial(cluster)`, when given
 * and not undefined, is sent at once as the cluster's first member list.
 */
import { z } from 'zod';
import type { ServiceNode } from '../../src/core/node.js';
import type { DiscoveryPlugin, MembersListener } from '../../src/core/plugin.js';

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
