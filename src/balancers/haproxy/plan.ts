/**
 * Pure: what the running HAProxy has (`show servers state` rows) + what the model wants ->
 * the runtime API commands that make it so, without a reload.
 *
 * Each desired server is placed on one entry of its backend:
 *   1. the server of the same (stable) name, if the running config lists it;
 *   2. else a slot already holding its address (a node that joined earlier, or left and came
 *      back: the slot still has its address);
 *   3. else a free slot, in-maintenance ones first.
 * Entries left without a desired server are put in maintenance. A server that finds no entry
 * (out of slots, or an address that is a hostname: `set server addr` takes IPs only) is
 * "unplaced": the caller reloads, and the config file names it.
 *
 * Commands bring servers up before taking others down, so a backend whose members are all
 * replaced never has zero servers in between; and a slot gets its address and weight before it
 * is set ready, so it never takes traffic at a stale address.
 */
import { isIP } from 'node:net';
import { SLOT_PREFIX, type BackendModel, type ServerModel } from './model.js';
import { ADMIN, adminMode, type AdminMode, type ServerStateRow } from './runtime-parse.js';

export interface RuntimePlan {
  commands: string[];
  unplaced: { backend: string; server: string; reason: string }[];
  /** the rows as they will be once the commands ran: the caller's new view (planRuntime) */
  next: ServerStateRow[];
  /** backends with at least one command */
  changed: string[];
}

const STATE_CMD: Record<AdminMode, string> = { up: 'ready', drain: 'drain', maint: 'maint' };

export function isSlot(name: string): boolean {
  return name.startsWith(SLOT_PREFIX) && /^\d+$/.test(name.slice(SLOT_PREFIX.length));
}

export interface BackendPlan {
  /** ups first, then downs */
  commands: string[];
  unplaced: RuntimePlan['unplaced'];
  /** the backend's rows as they will be once the commands ran (same order as given) */
  next: ServerStateRow[];
}

export function planRuntime(rows: readonly ServerStateRow[], backends: readonly BackendModel[]): RuntimePlan {
  const byBackend = groupRows(rows);
  const plan: RuntimePlan = { commands: [], unplaced: [], next: [], changed: [] };
  const updated = new Map<ServerStateRow, ServerStateRow>();
  for (const b of backends) {
    const entries = byBackend.get(b.name) ?? [];
    const p = planBackend(entries, b);
    entries.forEach((e, i) => p.next[i] !== e && updated.set(e, p.next[i]));
    if (p.commands.length) plan.changed.push(b.name);
    plan.commands.push(...p.commands);
    plan.unplaced.push(...p.unplaced);
  }
  plan.next = rows.map((r) => updated.get(r) ?? r);
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

/** One backend: its running entries + its model -> commands. Costs O(its servers). */
export function planBackend(entries: readonly ServerStateRow[], b: BackendModel): BackendPlan {
  const unplaced: BackendPlan['unplaced'] = [];
  const ups: string[] = [];
  const downs: string[] = [];
  const taken = new Set<ServerStateRow>();
  const placements: [ServerModel, ServerStateRow][] = [];
  const rest: ServerModel[] = [];

  const named = new Map<string, ServerStateRow>();
  const slots: ServerStateRow[] = [];
  for (const e of entries) {
    if (isSlot(e.name)) slots.push(e);
    else named.set(e.name, e);
  }
  for (const s of b.servers) {
    const e = named.get(s.name);
    if (e) {
      taken.add(e);
      placements.push([s, e]);
    } else rest.push(s);
  }
  const unassigned: ServerModel[] = [];
  for (const s of rest) {
    const holding = slots.filter((e) => !taken.has(e) && e.addr === s.addr && e.port === s.port).sort((x, y) => Number(adminMode(x.adminState) === 'maint') - Number(adminMode(y.adminState) === 'maint'))[0];
    if (holding) {
      taken.add(holding);
      placements.push([s, holding]);
    } else unassigned.push(s);
  }
  const free = unassigned.length ? slots.filter((e) => !taken.has(e)).sort((x, y) => Number(adminMode(y.adminState) === 'maint') - Number(adminMode(x.adminState) === 'maint') || x.id - y.id) : [];
  for (const s of unassigned) {
    if (!isIP(s.addr)) {
      unplaced.push({ backend: b.name, server: s.name, reason: `address ${s.addr} is not an IP` });
      continue;
    }
    const e = free.shift();
    if (!e) {
      unplaced.push({ backend: b.name, server: s.name, reason: 'no free slot' });
      continue;
    }
    taken.add(e);
    placements.push([s, e]);
  }

  const updated = new Map<ServerStateRow, ServerStateRow>();
  for (const [s, e] of placements) {
    const id = `${b.name}/${e.name}`;
    let next: ServerStateRow | null = null;
    // a named server whose node has a hostname: HAProxy resolved it, leave the address be
    if ((e.addr !== s.addr || e.port !== s.port) && isIP(s.addr)) {
      ups.push(`set server ${id} addr ${s.addr} port ${s.port}`);
      next = { ...e, addr: s.addr, port: s.port };
    }
    const weight = s.weight ?? e.iweight;
    if (e.uweight !== weight) {
      ups.push(`set server ${id} weight ${weight}`);
      next = { ...(next ?? e), uweight: weight };
    }
    if (adminMode(e.adminState) !== s.state) {
      (s.state === 'maint' ? downs : ups).push(`set server ${id} state ${STATE_CMD[s.state]}`);
      next = { ...(next ?? e), adminState: withMode(e.adminState, s.state) };
    }
    if (next) updated.set(e, next);
  }
  for (const e of entries) {
    if (taken.has(e) || adminMode(e.adminState) === 'maint') continue;
    downs.push(`set server ${b.name}/${e.name} state maint`);
    updated.set(e, { ...e, adminState: withMode(e.adminState, 'maint') });
  }
  return { commands: [...ups, ...downs], unplaced, next: updated.size ? entries.map((e) => updated.get(e) ?? e) : [...entries] };
}

function withMode(adminState: number, mode: AdminMode): number {
  const base = adminState & ~(ADMIN.FMAINT | ADMIN.FDRAIN);
  return mode === 'maint' ? base | ADMIN.FMAINT : mode === 'drain' ? base | ADMIN.FDRAIN : base;
}
