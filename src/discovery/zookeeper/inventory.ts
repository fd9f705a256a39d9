/**
 * The node inventory in ZooKeeper: one ephemeral znode per reporter at NODES_PATH/HOST
 * (zookeeper.yaml `nodes_path`, default /lighthouse/nodes), kept across sessions by its own
 * Publisher (as service znodes are) and gone when the reporter is. Its data is a JSON object:
 *
 *   {"endpoint": {"tls": true, "url": "https://10.0.0.5:10101"}, "host": "node01.example.com",
 *    "ip": "10.0.0.5", "metadata": {"ec2_id": "i-0abc"}, "name": "node01.example.com",
 *    "ranks": ["aws"]}
 *
 * Readers (lighthousectl) check every record (src/core/node-record.ts) and skip, with a
 * message, what does not parse.
 */
import type { NodeRecord } from '../../core/node-record.js';
import { parseNodeRecord } from '../../core/node-record.js';
import { decodeNode } from './znode-format.js';
import { ZK_ERR, zkCode, type ZkSession } from './session.js';

export const DEFAULT_NODES_PATH = '/lighthouse/nodes';

export function encodeNodeRecord(r: NodeRecord): string {
  return JSON.stringify(sorted(r));
}

export function nodeZnode(nodesPath: string, name: string): string {
  if (!name || name.includes('/') || name === '.' || name === '..') throw new Error(`node name ${JSON.stringify(name)} cannot be a znode name`);
  return `${nodesPath}/${name}`;
}

export interface InventoryRead {
  nodes: NodeRecord[];
  /** records that did not parse, by znode */
  problems: string[];
}

/** Every record under `nodesPath`, in name order. */
export async function readInventory(session: ZkSession, nodesPath: string): Promise<InventoryRead> {
  const children = await session.getChildren(nodesPath).catch((err) => {
    if (zkCode(err) === ZK_ERR.NO_NODE) return [] as string[];
    throw err;
  });
  const nodes: NodeRecord[] = [];
  const problems: string[] = [];
  await Promise.all(
    children.map(async (child) => {
      const path = `${nodesPath}/${child}`;
      const got = await session.getData(path).catch((err) => {
        if (zkCode(err) === ZK_ERR.NO_NODE) return null; // gone meanwhile
        throw err;
      });
      if (!got) return;
      let value: unknown;
      try {
        value = JSON.parse(got.data.toString('utf8'));
      } catch {
        problems.push(`znode ${path}: data is not JSON`);
        return;
      }
      const { record, problem } = parseNodeRecord(value);
      if (record) nodes.push(record);
      else problems.push(`znode ${path}: ${problem}`);
    }),
  );
  nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { nodes, problems };
}

/** The hosts serving `cluster` now (its members' `host`), as the writer decodes them. */
export async function readClusterHosts(session: ZkSession, basePath: string, cluster: string): Promise<{ hosts: string[]; problems: string[]; exists: boolean }> {
  const path = `${basePath}/${cluster}`;
  const children = await session.getChildren(path).catch((err) => {
    if (zkCode(err) === ZK_ERR.NO_NODE) return null;
    throw err;
  });
  if (children === null) return { hosts: [], problems: [], exists: false };
  const hosts = new Set<string>();
  const problems: string[] = [];
  await Promise.all(
    children.map(async (child) => {
      const got = await session.getData(`${path}/${child}`).catch((err) => {
        if (zkCode(err) === ZK_ERR.NO_NODE) return null;
        throw err;
      });
      if (!got) return;
      try {
        hosts.add(decodeNode(got.data, `${path}/${child}`, child).host);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }),
  );
  return { hosts: [...hosts].sort(), problems, exists: true };
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  return v;
}
