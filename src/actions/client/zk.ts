/**
 * The client's short ZooKeeper visit: one session to read the node inventory (and a cluster's
 * members for --cluster), closed at once. Errors name the ensemble and the znode.
 */
import { systemClock } from '../../core/clock.js';
import { LighthouseError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { NodeRecord } from '../../core/node-record.js';
import { readClusterHosts, readInventory } from '../../discovery/zookeeper/inventory.js';
import { ZkSession } from '../../discovery/zookeeper/session.js';
import type { ClientConfig } from './config.js';

export interface Lookup {
  inventory: NodeRecord[];
  /** records that did not parse */
  problems: string[];
  /** --cluster: the hosts serving it now */
  clusterHosts?: string[];
}

export async function lookUp(c: ClientConfig, cluster?: string): Promise<Lookup> {
  if (cluster !== undefined && !c.zookeeper.path) throw new LighthouseError('LH_ERR_USAGE', `--cluster needs zookeeper.path (where clusters are) in ${c.file}`);
  if (cluster !== undefined && !/^[A-Za-z0-9._-]+$/.test(cluster)) throw new LighthouseError('LH_ERR_USAGE', `'${cluster}' is not a cluster name`);
  const session = new ZkSession({
    hosts: c.zookeeper.hosts,
    sessionTimeout: c.zookeeper.sessionTimeout,
    connectTimeout: c.timeoutMs,
    logger: silentLogger(),
    clock: systemClock,
  });
  try {
    await session.start();
    const { nodes, problems } = await readInventory(session, c.zookeeper.nodesPath);
    if (cluster === undefined) return { inventory: nodes, problems };
    const members = await readClusterHosts(session, c.zookeeper.path!, cluster);
    if (!members.exists) throw new LighthouseError('LH_ERR_USAGE', `no cluster '${cluster}' at ${c.zookeeper.path}/${cluster}`);
    return { inventory: nodes, problems: [...problems, ...members.problems], clusterHosts: members.hosts };
  } finally {
    await session.close();
  }
}
