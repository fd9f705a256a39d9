/**
 * A backend's members as the model has them: its nodes as servers (stable, unique names;
 * built from the previous servers at the cost of what changed) and as peers, and the names,
 * addresses and name order they share. Pure, like model.ts, whose types these are.
 *
 * Every word a server or peer line takes from a node (name, address, port, weight, cookie)
 * passes `token()` here, where its model object is built (once per node change, not per
 * render): the znode format validated it already, this is the last line, so that no bug upstream can
 * put a line break, a `;` or a `#` into haproxy.cfg or a runtime command.
 */
import { isIP } from 'node:net';
import { integer, token } from '../../../core/address.js';
import { knownSorted, type ServiceNode } from '../../../core/node.js';
import type { PeerModel, PreviousBackend, ServerModel } from './model.js';

/** HAProxy proxy and server names: letters, digits and `_ . : -`. */
export function haproxyName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/** "host:port", "[v6]:port": a host name or IPv4 address never contains ':' */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function samePeer(a: ServiceNode['peer'], b: ServiceNode['peer']): boolean {
  return a === b || (a !== null && b !== null && a.name === b.name && a.ip === b.ip && a.port === b.port);
}

/** Distinct peers: one per IP:PORT (the Python Lighthouse's peer identity), then one per name
 * (HAProxy refuses two peers of one name); sorted by name, so equal sets render equal. */
export function peerModels(nodes: readonly ServiceNode[]): PeerModel[] {
  const byAddress = new Map<string, PeerModel>();
  for (const n of nodes) {
    if (!n.peer) continue;
    const address = hostPort(token(n.peer.ip, 'peer address'), integer(n.peer.port, 1, 65535, 'peer port'));
    const name = token(haproxyName(n.peer.name), 'peer name');
    const seen = byAddress.get(address);
    if (!seen || name < seen.name) byAddress.set(address, { name, address });
  }
  const named = new Map<string, PeerModel>();
  for (const p of byAddress.values()) {
    const seen = named.get(p.name);
    if (!seen || p.address < seen.address) named.set(p.name, p);
  }
  return [...named.values()].sort(byName);
}

/** Peer sets compare equal when they render equal. */
export function samePeers(a: readonly PeerModel[], b: readonly PeerModel[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.address === b[i].address);
}

/** Every peer of `a` is in `b`. */
export function peersWithin(a: readonly PeerModel[], b: readonly PeerModel[]): boolean {
  return a.every((p) => b.some((q) => q.name === p.name && q.address === p.address));
}

/** Stable, unique server names; a name collision after sanitizing gets `_2`, `_3`, ... in
 * node-name order, so the same node set always yields the same names. */
export function serverModels(nodes: readonly ServiceNode[], options: string, cookies = false): ServerModel[] {
  return serverModelsFrom(nodes, options, cookies);
}

/**
 * serverModels, at the cost of what changed when the previous model of the backend is given:
 * when the node names are the same as before (a weight, state or address changed), every
 * server keeps its name (names depend on nothing but the sorted node names), an unchanged node
 * (same object) keeps its ServerModel object, and only changed nodes get a new one. Otherwise (a
 * node came or went: collision suffixes may move) everything is built afresh, but for one node
 * that came or went where no server has a suffix (every server is named as its node, as
 * HOST:PORT names are): then the others keep their ServerModels. Either way the result equals
 * what serverModels(nodes) returns.
 */
export function serverModelsFrom(nodes: readonly ServiceNode[], options: string, cookies: boolean, prev?: PreviousBackend | null): ServerModel[] {
  const list = sorted(nodes);
  if (prev) {
    const was = sorted(prev.nodes);
    const before = prev.backend.servers;
    const same = before[0]?.options === options && (before[0]?.cookie !== null) === cookies;
    if (same && was.length === list.length && before.length === list.length) {
      const servers: ServerModel[] = new Array(list.length);
      let i = 0;
      for (; i < list.length; i++) {
        const n = list[i];
        if (n === was[i]) servers[i] = before[i];
        else if (n.name === was[i].name) servers[i] = serverModel(n, before[i].name, options, cookies);
        else break;
      }
      if (i === list.length) return servers;
    }
    if (same && before.length === was.length && Math.abs(list.length - was.length) === 1) {
      const servers = oneCameOrWent(list, was, before, options, cookies);
      if (servers) return servers;
    }
  }
  const seen = new Set<string>();
  return list.map((n) => {
    let name = haproxyName(n.name);
    for (let i = 2; seen.has(name); i++) name = `${haproxyName(n.name)}_${i}`;
    seen.add(name);
    return serverModel(n, name, options, cookies);
  });
}

/** Set on a server list known to have no collision suffix (every server named as its node):
 * on the list itself, non-enumerable, as core/node.ts marks sorted lists; the list is readonly. */
const UNSUFFIXED = Symbol('lighthouse.unsuffixed');

function markUnsuffixed(list: readonly ServerModel[]): void {
  if (!(UNSUFFIXED in list)) Object.defineProperty(list, UNSUFFIXED, { value: true });
}

/**
 * The servers of `list` when it is `was` with one node more or one fewer and otherwise the same
 * objects, and `before` (the servers of `was`) has no suffix: the others keep their
 * ServerModels. null otherwise. Without suffixes every name is its node's own; a node whose
 * name HAProxy takes as it is (no character replaced) and that no other node has keeps that.
 */
function oneCameOrWent(list: readonly ServiceNode[], was: readonly ServiceNode[], before: readonly ServerModel[], options: string, cookies: boolean): ServerModel[] | null {
  const longer = list.length > was.length ? list : was;
  const shorter = longer === list ? was : list;
  let k = 0;
  while (k < shorter.length && shorter[k] === longer[k]) k++;
  for (let i = k; i < shorter.length; i++) if (shorter[i] !== longer[i + 1]) return null;
  if (!(UNSUFFIXED in before)) {
    for (let i = 0; i < before.length; i++) if (before[i].name !== was[i].name) return null;
    markUnsuffixed(before);
  }
  let servers: ServerModel[];
  if (longer === list) {
    const n = list[k];
    if (haproxyName(n.name) !== n.name || list[k - 1]?.name === n.name || list[k + 1]?.name === n.name) return null;
    servers = [...before.slice(0, k), serverModel(n, n.name, options, cookies), ...before.slice(k)];
  } else {
    servers = [...before.slice(0, k), ...before.slice(k + 1)];
  }
  markUnsuffixed(servers);
  return servers;
}

/** a host name that does not resolve leaves its server without an address (in maintenance)
 * rather than failing the config: HAProxy's default (last,libc) makes it fatal */
const HOSTNAME_INIT_ADDR = 'last,libc,none';

function serverModel(n: ServiceNode, name: string, options: string, cookies: boolean): ServerModel {
  const addr = token(n.ip || n.host, 'server address');
  const state = n.state ?? 'up';
  const port = integer(n.port, 1, 65535, 'server port');
  const weight = n.weight === undefined ? null : integer(n.weight, 0, 256, 'server weight');
  token(name, 'server name');
  return { name, address: hostPort(addr, port), addr, port, initAddr: isIP(addr) ? null : HOSTNAME_INIT_ADDR, weight, state, disabled: state === 'maint', cookie: cookies ? name : null, options };
}

/** `list` sorted by name (itself when it already is: the writer sorts nodes) */
export function sorted<T extends { name: string }>(list: readonly T[]): readonly T[] {
  if (knownSorted(list)) return list;
  for (let i = 1; i < list.length; i++) if (list[i - 1].name > list[i].name) return [...list].sort(byName);
  return list;
}

export function byName<T extends { name: string }>(a: T, b: T): number {
  return cmp(a.name, b.name);
}
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
