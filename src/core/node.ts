/**
 * The node model shared by discovery, the writer and balancers: one instance of a service
 * (a host:port) as discovered. The wire format that produces it lives in
 * src/discovery/zookeeper/codec.ts.
 */
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

/** Stable order so snapshots compare equal regardless of ZooKeeper's child order. */
export function sortNodes(nodes: ServiceNode[]): ServiceNode[] {
  return [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
