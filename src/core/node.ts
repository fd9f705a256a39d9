/**
 * The node model shared by discovery, the writer and balancers: one instance of a service
 * (a host:port) as discovered. The wire format that produces it lives in
 * src/discovery/zookeeper/codec.ts.
 */
import { isDeepStrictEqual } from 'node:util';

export interface Peer {
  name: string;
  ip: string;
  port: number;
}

/** Administrative state carried with a node (availability control): up takes traffic,
 * drain keeps existing sessions only, maint takes none. */
export type NodeState = 'up' | 'drain' | 'maint';

export interface ServiceNode {
  /** host:port; unique inside one cluster. */
  readonly name: string;
  readonly host: string;
  readonly ip: string;
  readonly port: number;
  readonly peer: Peer | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** 0..256, HAProxy semantics; undefined = default (1 in HAProxy). */
  readonly weight?: number;
  readonly state?: NodeState;
  readonly labels?: Readonly<Record<string, string>>;
}

export const DEFAULT_PEER_PORT = 1024;

export function nodeName(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Stable order so snapshots compare equal regardless of ZooKeeper's child order. A copy, in
 * name order (sorted only when it is not already, as discovery sends it). */
export function sortNodes(nodes: readonly ServiceNode[]): ServiceNode[] {
  const copy = nodes.slice();
  for (let i = 1; i < copy.length; i++) if (copy[i - 1].name > copy[i].name) return copy.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return copy;
}

/** Equal member lists. A member keeps its node object while its data is unchanged, so identity
 * first and contents only for the objects that differ: a one-node change compares one node,
 * not the whole cluster. */
export function sameNodes(a: readonly ServiceNode[] | undefined, b: readonly ServiceNode[]): boolean {
  if (a === b) return true;
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !isDeepStrictEqual(a[i], b[i])) return false;
  return true;
}
