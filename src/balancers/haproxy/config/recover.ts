/**
 * What HAProxy serves for each backend, read back as nodes, for the clusters the writer has not
 * heard from ZooKeeper yet in this process (DesiredState.pending): after a reboot the config
 * file on disk is what HAProxy was started from; after a restart of the writer, the running
 * HAProxy's `show servers state` is the truth (it has the runtime changes the file may lack),
 * the file telling a node in maintenance from the entry of a node that is gone.
 *
 * The nodes are built so that the model renders them as they were: the same server names (a
 * node's name is its server's), addresses, weights and states; a node's peer is the peer of
 * the backend's `peers` section at its IP (reporters advertise their own IP as their peer's).
 */
import { isIP } from 'node:net';
import type { NodeState, ServiceNode } from '../../../core/node.js';
import { parseSections, peerLines, serverLines, type ServerLine } from './sections.js';
import { isSlot } from './model.js';

/** A server as the running HAProxy reports it (`show servers state`, read by runtime/parse.ts
 * `runningServer`): its admin bits read as the mode Lighthouse sets. */
export interface RunningServer {
  readonly backend: string;
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly uweight: number;
  readonly iweight: number;
  readonly mode: NodeState;
}

export interface Recovered {
  /** the backend's `server` lines in the file */
  servers: ServerLine[];
  /** its `peers` section's peers */
  peers: { name: string; ip: string; port: number }[];
  /** its rows in the running HAProxy, when one runs */
  rows: RunningServer[] | null;
}

const NO_METADATA = Object.freeze({});

/** Backends of a config text, by name. */
export function recoverFromConfig(text: string): Map<string, Recovered> {
  const out = new Map<string, Recovered>();
  const sections = parseSections(text);
  const peers = new Map(sections.filter((s) => s.kind === 'peers').map((s) => [s.name, peerLines(s)]));
  for (const s of sections) if (s.kind === 'backend') out.set(s.name, { servers: serverLines(s), peers: peers.get(s.name) ?? [], rows: null });
  return out;
}

/** The running HAProxy's rows, by backend, added to what the file says. */
export function addRuntimeRows(recovered: Map<string, Recovered>, rows: readonly RunningServer[]): void {
  for (const r of rows) {
    let b = recovered.get(r.backend);
    if (!b) recovered.set(r.backend, (b = { servers: [], peers: [], rows: [] }));
    (b.rows ??= []).push(r);
  }
}

/** The nodes of a recovered backend; `options` is the cluster's server_options (so that a
 * `weight` of the options is not taken for the node's own). */
export function recoveredNodes(b: Recovered, options: string): ServiceNode[] {
  const nodes: ServiceNode[] = [];
  const seen = new Set<string>();
  const add = (name: string, addr: string, port: number, weight: number | undefined, state: NodeState) => {
    if (seen.has(name)) return;
    seen.add(name);
    const suffix = `:${port}`;
    const host = name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : addr;
    const ip = isIP(addr) ? addr : '';
    const p = ip ? b.peers.find((x) => x.ip === ip) : undefined;
    nodes.push({ name, host, ip, port, peer: p ? { name: p.name, ip: p.ip, port: p.port } : null, metadata: NO_METADATA, weight, state });
  };
  const inFile = new Map(b.servers.map((s) => [s.name, { ...s, ...fromTail(s.tail, options) }]));
  const running = new Set<string>();
  for (const r of b.rows ?? []) {
    running.add(r.name);
    const mode = r.mode;
    if (isSlot(r.name)) {
      // a slot in use holds a node that joined at runtime
      if (mode !== 'maint' && r.addr !== '0.0.0.0' && isIP(r.addr)) add(`${r.addr.includes(':') ? `[${r.addr}]` : r.addr}:${r.port}`, r.addr, r.port, r.uweight === r.iweight ? undefined : r.uweight, mode);
      continue;
    }
    const f = inFile.get(r.name);
    if (f && f.addr === r.addr && f.port === r.port) {
      // the file's line, but for what was set at runtime: a forced state, another weight (a
      // `disabled` server set ready keeps the config's maintenance bit: the file, written
      // after each change, says which)
      add(f.name, f.addr, f.port, r.uweight === r.iweight ? f.weight : r.uweight, mode === 'up' ? f.state : mode);
      continue;
    }
    // in maintenance and not in the file: the entry of a node that is gone
    if (mode === 'maint' && !f) continue;
    add(r.name.endsWith(`:${r.port}`) && !f ? r.name : `${r.addr}:${r.port}`, r.addr, r.port, r.uweight === r.iweight ? undefined : r.uweight, mode);
  }
  // named in the file but not running (HAProxy has no row for them): as the file says
  for (const f of inFile.values()) if (!running.has(f.name)) add(f.name, f.addr, f.port, f.weight, f.state);
  return nodes.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** `cookie C`, the options, `weight N`, `disabled`: the order server.hbs writes them in. */
function fromTail(tail: string, options: string): { weight: number | undefined; state: NodeState } {
  let rest = tail.replace(/^cookie\s+\S+\s*/, '');
  let state: NodeState = 'up';
  if (/(^|\s)disabled$/.test(rest)) {
    state = 'maint';
    rest = rest.replace(/\s*disabled$/, '');
  }
  const m = rest === options ? null : /(?:^|\s)weight\s+(\d{1,3})$/.exec(rest);
  const weight = m && Number(m[1]) <= 256 ? Number(m[1]) : undefined;
  return { weight, state };
}
