/**
 * The node model shared by discovery, the writer and balancers: one instance of a service
 * (a host:port) as discovered. The znode format that produces it lives in
 * src/discovery/zookeeper/znode-format.ts.
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

/** Set on a list known to be in name order, by whoever built it so: checking the order of a
 * cluster of 5,000 is 5,000 string comparisons, and a change passes the watcher, the writer
 * and the model, each of which used to check it again. The mark lives on the list itself
 * (non-enumerable: equality, copies and JSON ignore it), not in a table of this module; the
 * lists are readonly, so the order it vouches for cannot change under it. */
const SORTED = Symbol('lighthouse.sortedByName');

/** Mark `list` as in name order (the caller built it so, and changes it no more) and return it. */
export function markSorted<T extends readonly { name: string }[]>(list: T): T {
  if (!(SORTED in list)) Object.defineProperty(list, SORTED, { value: true });
  return list;
}

/** `list` was marked as in name order (markSorted, sortNodes). */
export function knownSorted(list: readonly { name: string }[]): boolean {
  return SORTED in list;
}

/** Stable order so snapshots compare equal regardless of ZooKeeper's child order. A copy, in
 * name order (sorted only when it is not already, as discovery sends it). */
export function sortNodes(nodes: readonly ServiceNode[]): ServiceNode[] {
  const copy = nodes.slice();
  if (!knownSorted(nodes)) {
    for (let i = 1; i < copy.length; i++) {
      if (copy[i - 1].name > copy[i].name) {
        copy.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        break;
      }
    }
  }
  return markSorted(copy);
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
