/**
 * A DesiredState with sample members, as the writer would build it once every cluster has
 * answered: for dry runs (`lighthousectl validate` renders it and runs `haproxy -c`) and for
 * the tests that render the example config dirs. Three nodes per cluster on loopback, on two
 * peer hosts, so that every part of a config renders (servers, slots, peers sections).
 */
import type { Peer, ServiceNode } from '../core/node.js';
import type { DesiredState } from '../core/plugin.js';
import type { LoadedConfig } from '../config/store.js';

export const SAMPLE_PEERS: readonly Peer[] = [
  { name: 'app01.example.com', ip: '127.0.0.1', port: 11024 },
  { name: 'app02.example.com', ip: '127.0.0.2', port: 11024 },
];

/** three nodes from port `base` on: two on the first peer host, one on the second */
function sampleNodes(base: number): ServiceNode[] {
  return [SAMPLE_PEERS[0], SAMPLE_PEERS[0], SAMPLE_PEERS[1]].map((peer, i) => {
    const ip = peer.ip;
    const port = base + i;
    return { name: `${ip}:${port}`, host: ip, ip, port, peer, metadata: {} };
  });
}

/** Every cluster of `cfg` with a section for balancer `balancer`, with sample members. */
export function sampleState(cfg: LoadedConfig, balancer: string): DesiredState {
  return {
    clusters: [...cfg.clusters.values()]
      .filter((c) => c.balancers[balancer] !== undefined)
      .map((c, i) => ({ name: c.name, discovery: c.discovery, metaCluster: c.meta_cluster, balancer: c.balancers[balancer], nodes: sampleNodes(20000 + i * 10) })),
  };
}
