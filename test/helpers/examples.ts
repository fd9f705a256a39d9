/**
 * The example config dirs (config-examples/) rendered as the writer would, with sample nodes:
 * shared by examples.test.ts (haproxy -c, per-dir assertions) and python-compat.test.ts (side by
 * side with the Python Lighthouse's output for the same inputs).
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haproxyBalancer, type HaproxyBalancer } from '../../src/balancers/haproxy/index.js';
import { ConfigStore, type ConfigSnapshot } from '../../src/config/store.js';
import { builtinRegistry } from '../../src/plugins.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Peer, ServiceNode } from '../../src/core/node.js';
import type { DesiredState } from '../../src/core/plugin.js';

export const EXAMPLES_DIR = resolve(fileURLToPath(import.meta.url), '../../../config-examples');
export const PEERS: Peer[] = [
  { name: 'app01.example.com', ip: '127.0.0.1', port: 11024 },
  { name: 'app02.example.com', ip: '127.0.0.2', port: 11024 },
];

/** three nodes per cluster: two on the first peer host, one on the second */
function sampleNodes(base: number): ServiceNode[] {
  return [PEERS[0], PEERS[0], PEERS[1]].map((peer, i) => {
    const ip = peer.ip;
    const port = base + i;
    return { name: `${ip}:${port}`, host: ip, ip, port, peer, metadata: {} };
  });
}

function desiredOf(snap: ConfigSnapshot): DesiredState {
  return {
    clusters: [...snap.clusters.values()].map((c, i) => ({
      name: c.name,
      discovery: c.discovery,
      metaCluster: c.meta_cluster,
      balancer: c.balancers.haproxy,
      nodes: sampleNodes(20000 + i * 10),
    })),
  };
}

/** One example dir loaded through the config store (no problem, no warning) and rendered. */
export async function renderExample(name: string): Promise<{ snap: ConfigSnapshot; text: string }> {
  const dir = join(EXAMPLES_DIR, name);
  const store = new ConfigStore({ dir, registry: builtinRegistry(), logger: silentLogger() });
  const { snapshot: snap, problems, warnings } = await store.load();
  await store.close();
  assert.deepEqual(problems, [], `${name}: problems`);
  assert.deepEqual(warnings, [], `${name}: warnings`);
  const config = snap.balancers.get('haproxy');
  assert.ok(config, `${name}: a haproxy balancer config`);
  const lb = haproxyBalancer.create(config as never, { logger: silentLogger(), clock: systemClock, configDir: dir }) as HaproxyBalancer;
  try {
    return { snap, text: lb.renderConfig(desiredOf(snap)) };
  } finally {
    await lb.stop();
  }
}
