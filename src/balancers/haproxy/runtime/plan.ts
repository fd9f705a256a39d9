/**
 * Pure: what the running HAProxy has (`show servers state` rows) + what the model wants ->
 * the runtime API commands that make it so, without a reload.
 *
 * Each desired server is placed on one entry of its backend:
 *   1. the server of the same (stable) name, if the running config lists it;
 *   2. else a spare entry still holding its address (a node that joined earlier, or left and
 *      came back: the entry keeps its address);
 *   3. else a free slot, in-maintenance ones first;
 *   4. else an entry named after a node that is gone (it serves under that name until the next
 *      reload renames it);
 *   5. else, when the backend allows dynamic servers, `add server` under its own name (what the
 *      config file names it too, so a reload keeps it as is).
 * Entries left without a desired server are put in maintenance (and stay, spare). A server that
 * finds no entry (a static algorithm out of slots, or an address that is a hostname: `set server
 * addr` takes IPs only) is "unplaced": the caller reloads, and the config file names it.
 *
 * Commands bring servers up before taking others down, so a backend whose members are all
 * replaced never has zero servers in between; and a slot gets its address and weight before it
 * is set ready, so it never takes traffic at a stale address.
 *
 * Every word of a command that comes from a node or from HAProxy's rows (backend and server
 * names, address, port, weight) passes `token()` / `integer()` (src/core/address.ts) as the
 * command is built, and RuntimeApi refuses any command with a line break or `;`: no value can
 * become a second command.
 */
import { isIP } from 'node:net';
import { integer, token } from '../../../core/address.js';
import { isSlot, type BackendModel, type ServerModel } from '../config/model.js';
import { ADMIN, adminMode, type AdminMode, type ServerStateRow } from './parse.js';

export interface RuntimePlan {
  commands: string[];
  unplaced: { backend: string; server: string; reason: string }[];
  /** servers serving under another entry's name in a backend with cookie persistence: they
   * take traffic now, and get their own cookie at the next reload (which they ask for) */
  cookieless: { backend: string; server: string; entry: string }[];
  /** the rows as they will be once the commands ran: the caller's new view (planRuntime) */
  next: ServerStateRow[];
  /** backends with at least one command */
  changed: string[];
}

const STATE_CMD: Record<AdminMode, string> = { up: 'ready', drain: 'drain', maint: 'maint' };

export interface BackendPlan {
  /** ups first, then downs */
  commands: string[];
  unplaced: RuntimePlan['unplaced'];
  cookieless: RuntimePlan['cookieless'];
  /** the backend's rows as they will be once the commands ran (same order as given, then the
   * servers added) */
  next: ServerStateRow[];
}

export function planRuntime(rows: readonly ServerStateRow[], backends: readonly BackendModel[], dynamic: (b: BackendModel) => boolean = () => false): RuntimePlan {
  const byBackend = groupRows(rows);
  const plan: RuntimePlan = { commands: [], unplaced: [], cookieless: [], next: [], changed: [] };
  const updated = new Map<ServerStateRow, ServerStateRow>();
  const added: ServerStateRow[] = [];
  for (const b of backends) {
    const entries = byBackend.get(b.name) ?? [];
    const p = planBackend(entries, b, dynamic(b));
    entries.forEach((e, i) => p.next[i] !== e && updated.set(e, p.next[i]));
    added.push(...p.next.slice(entries.length));
    if (p.commands.length) plan.changed.push(b.name);
    plan.commands.push(...p.commands);
    plan.unplaced.push(...p.unplaced);
    plan.cookieless.push(...p.cookieless);
  }
  plan.next = [...rows.map((r) => updated.get(r) ?? r), ...added];
  return plan;
}

/** `show servers state` rows by backend name, in their order. */
export function groupRows(rows: readonly ServerStateRow[]): Map<string, ServerStateRow[]> {
  const byBackend = new Map<string, ServerStateRow[]>();
  for (const r of rows) {
    const list = byBackend.get(r.backend);
    if (list) list.push(r);
    else byBackend.set(r.backend, [r]);
  }
  return byBackend;
}

/** One backend: its running entries + its model -> commands. Costs O(its servers).
 * `dynamic`: the backend takes `add server` (allowsAddServer), the overflow once no entry is
 * spare (not in a backend the worker does not have: that is a new structure, a reload). */
export function planBackend(entries: readonly ServerStateRow[], b: BackendModel, dynamic = false): BackendPlan {
  const unplaced: BackendPlan['unplaced'] = [];
  const adds: string[] = [];
  const ups: string[] = [];
  const downs: string[] = [];
  const taken = new Set<ServerStateRow>();
  const placements: [ServerModel, ServerStateRow][] = [];
  const rest: ServerModel[] = [];

  const named = new Map<string, ServerStateRow>();
  for (const e of entries) if (!isSlot(e.name)) named.set(e.name, e);
  for (const s of b.servers) {
    const e = named.get(s.name);
    if (e) {
      taken.add(e);
      placements.push([s, e]);
    } else rest.push(s);
  }
  // spare: slots, and entries named after nodes that are gone (or servers added at runtime)
  const spare = rest.length ? entries.filter((e) => !taken.has(e)) : [];
  const byAddr = new Map<string, ServerStateRow[]>();
  for (const e of spare) {
    const k = `${e.addr}:${e.port}`;
    const list = byAddr.get(k);
    if (list) list.push(e);
    else byAddr.set(k, [e]);
  }
  const unassigned: ServerModel[] = [];
  for (const s of rest) {
    // an entry still holding its address (it left and came back), a serving one first
    const holding = byAddr.get(`${s.addr}:${s.port}`)?.filter((e) => !taken.has(e)).sort((x, y) => Number(isMaint(x)) - Number(isMaint(y)))[0];
    if (holding) {
      taken.add(holding);
      placements.push([s, holding]);
    } else unassigned.push(s);
  }
  // slots before named entries (a node that comes back finds its own), in maintenance first
  const free = unassigned.length ? spare.filter((e) => !taken.has(e)).sort((x, y) => Number(isSlot(y.name)) - Number(isSlot(x.name)) || Number(isMaint(y)) - Number(isMaint(x)) || x.id - y.id) : [];
  let nextId = entries.reduce((m, e) => Math.max(m, e.id), 0);
  const added: ServerStateRow[] = [];
  for (const s of unassigned) {
    if (!isIP(s.addr)) {
      unplaced.push({ backend: b.name, server: s.name, reason: `address ${s.addr} is not an IP` });
      continue;
    }
    let e = free.shift();
    if (!e && dynamic && entries.length) {
      // starts in maintenance with the options' weight; the placement below sets weight and state
      const id = serverId(b.name, s.name);
      adds.push(`add server ${id} ${token(s.address, 'server address')}${s.options ? ` ${s.options}` : ''}`);
      if (/(^|\s)check(\s|$)/.test(s.options)) adds.push(`enable health ${id}`);
      if (/(^|\s)agent-check(\s|$)/.test(s.options)) adds.push(`enable agent ${id}`);
      const w = Number(/(?:^|\s)weight\s+(\d+)/.exec(s.options)?.[1] ?? 1);
      e = { backend: b.name, backendId: entries[0]?.backendId ?? 0, name: s.name, id: ++nextId, addr: s.addr, port: s.port, opState: 0, adminState: ADMIN.FMAINT, uweight: w, iweight: w, raw: '' };
      added.push(e);
    }
    if (!e) {
      unplaced.push({ backend: b.name, server: s.name, reason: 'no free slot' });
      continue;
    }
    taken.add(e);
    placements.push([s, e]);
  }

  const cookieless: BackendPlan['cookieless'] = [];
  const updated = new Map<ServerStateRow, ServerStateRow>();
  for (const [s, e] of placements) {
    if (b.cookiePersistence && e.name !== s.name) cookieless.push({ backend: b.name, server: s.name, entry: e.name });
    const next = place(b.name, s, e, ups, downs);
    if (next) updated.set(e, next);
  }
  for (const e of entries) {
    if (taken.has(e) || isMaint(e)) continue;
    downs.push(`set server ${serverId(b.name, e.name)} state maint`);
    updated.set(e, { ...e, adminState: withMode(e.adminState, 'maint') });
  }
  const next = updated.size ? entries.map((e) => updated.get(e) ?? e) : [...entries];
  for (const e of added) next.push(updated.get(e) ?? e);
  return { commands: [...adds, ...ups, ...downs], unplaced, cookieless, next };
}

/**
 * planBackend for a backend the worker serves exactly as `prev` says (its rows are that plan's
 * `next`), where `b` has the same servers by name and in order, and only some differ (by
 * identity: the model reuses an unchanged node's ServerModel). Only those are looked at, each
 * on the row of its own name, as planBackend places it: the other servers keep their rows and
 * their commands are none. null when a changed server has no row of its name (it serves on a
 * slot or another entry): then plan the backend in full.
 */
export function planChangedServers(entries: readonly ServerStateRow[], prev: BackendModel, b: BackendModel): BackendPlan | null {
  if (prev.name !== b.name || prev.servers.length !== b.servers.length) return null;
  const ups: string[] = [];
  const downs: string[] = [];
  let next: ServerStateRow[] | null = null;
  for (let j = 0; j < b.servers.length; j++) {
    const s = b.servers[j];
    if (s === prev.servers[j]) continue;
    if (s.name !== prev.servers[j].name) return null;
    // the last row of that name, as planBackend's map of names keeps it
    let k = entries.length - 1;
    while (k >= 0 && (entries[k].name !== s.name || isSlot(entries[k].name))) k--;
    if (k < 0) return null;
    const row = place(b.name, s, entries[k], ups, downs);
    if (row) (next ??= entries.slice())[k] = row;
  }
  return { commands: [...ups, ...downs], unplaced: [], cookieless: [], next: next ?? entries.slice() };
}

/** The commands (ups and downs) that bring entry `e` to server `s`: its address, weight and
 * admin state. Returns the entry as it will be, or null when it already is so. */
function place(backend: string, s: ServerModel, e: ServerStateRow, ups: string[], downs: string[]): ServerStateRow | null {
  // the view keeps its rows: one string for a name / address the model holds too, not two
  // (a row parsed from `show servers state` has its own copies; 50,000 servers: ~3 MB)
  if (e.name === s.name) e.name = s.name;
  if (e.addr === s.addr) e.addr = s.addr;
  let next: ServerStateRow | null = null;
  // a named server whose node has a hostname: HAProxy resolved it, leave the address be
  if ((e.addr !== s.addr || e.port !== s.port) && isIP(s.addr)) {
    ups.push(`set server ${serverId(backend, e.name)} addr ${token(s.addr, 'server address')} port ${integer(s.port, 1, 65535, 'server port')}`);
    next = { ...e, addr: s.addr, port: s.port };
  }
  const weight = s.weight ?? e.iweight;
  if (e.uweight !== weight) {
    ups.push(`set server ${serverId(backend, e.name)} weight ${integer(weight, 0, 256, 'server weight')}`);
    next = { ...(next ?? e), uweight: weight };
  }
  if (adminMode(e.adminState) !== s.state) {
    (s.state === 'maint' ? downs : ups).push(`set server ${serverId(backend, e.name)} state ${STATE_CMD[s.state]}`);
    next = { ...(next ?? e), adminState: withMode(e.adminState, s.state) };
  }
  return next;
}

/** "BACKEND/SERVER" of a runtime command, each a single word */
function serverId(backend: string, server: string): string {
  return `${token(backend, 'backend name')}/${token(server, 'server name')}`;
}

function isMaint(e: ServerStateRow): boolean {
  return adminMode(e.adminState) === 'maint';
}

const DYNAMIC_ALGOS = new Set(['roundrobin', 'leastconn', 'first', 'random']);

/**
 * Can this backend take `add server`? HAProxy refuses dynamic servers in backends with a static
 * algorithm (static-rr, or a hash with the default `hash-type map-based`), and does not apply
 * `default-server` lines to them (they would differ from the config's servers). The last
 * `balance` / `hash-type` line wins, the backend's over the defaults'. A refusal HAProxy still
 * makes is handled by the caller (runtime/view.ts: the server is then left to a reload).
 */
export function allowsAddServer(backendLines: readonly string[], defaultsLines: readonly string[]): boolean {
  const last = (kw: string) => {
    const find = (lines: readonly string[]) => lines.findLast((l) => l.trim().split(/\s+/)[0] === kw)?.trim().split(/\s+/)[1];
    return find(backendLines) ?? find(defaultsLines);
  };
  if ([...backendLines, ...defaultsLines].some((l) => l.trim().startsWith('default-server'))) return false;
  const algo = (last('balance') ?? 'roundrobin').replace(/\(.*$/, '');
  if (DYNAMIC_ALGOS.has(algo)) return true;
  return algo !== 'static-rr' && last('hash-type') === 'consistent';
}

function withMode(adminState: number, mode: AdminMode): number {
  const base = adminState & ~(ADMIN.FMAINT | ADMIN.FDRAIN);
  return mode === 'maint' ? base | ADMIN.FMAINT : mode === 'drain' ? base | ADMIN.FDRAIN : base;
}
