/**
 * GET /api/v1/status: the daemon's view in Platus's shape, `{"result": [...]}` with `name`,
 * `type`, `node`, `state`, `last_state`, `checked`, `elapsed`, `retries`, plus Lighthouse's own
 * fields. Each entry carries the roles of its service or cluster; a caller sees the entries its
 * roles meet (admin, the local socket and token_file tokens: all).
 */
import type { Router } from '../http/router.js';
import type { Clock } from '../core/clock.js';
import { allowed } from '../http/users.js';
import type { Availability } from '../control/availability.js';
import type { ServiceNode } from '../core/node.js';
import type { ServedServer } from '../core/plugin.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const stateName = (up: boolean | null) => (up === null ? null : up ? 'operational' : 'unhealthy');

export interface InstanceView {
  service: string;
  port: number;
  up: boolean;
  lastUp: boolean | null;
  since: number;
  held: boolean;
  roles: readonly string[];
  checks: { name: string; passing: boolean; last?: { ok: boolean; detail?: string }; at?: number; ms?: number; fails: number }[];
}

export function reporterStatus(deps: { host: string; instances(): readonly InstanceView[]; availability?: Availability }) {
  return deps.instances().map((i) => {
    const at = Math.max(0, ...i.checks.map((c) => c.at ?? 0));
    const ms = Math.max(0, ...i.checks.map((c) => c.ms ?? 0));
    const avail = deps.availability?.effective(i.service);
    return {
      name: i.service,
      type: 'service',
      node: deps.host,
      port: i.port,
      state: stateName(i.up),
      last_state: stateName(i.lastUp),
      checked: at ? iso(at) : null,
      elapsed: ms / 1000,
      retries: Math.max(0, ...i.checks.map((c) => c.fails)),
      since: iso(i.since),
      flap_hold: i.held,
      availability: avail ? { state: avail.name, effect: avail.effect } : null,
      checks: i.checks.map((c) => ({ name: c.name, passing: c.passing, detail: c.last?.detail ?? null, checked: iso(c.at), elapsed: (c.ms ?? 0) / 1000 })),
      roles: i.roles,
    };
  });
}

export interface ReloadRecord {
  at: number;
  balancer: string;
  ms: number;
}

/** The writer's clusters; `nodes` as the balancer serves them (HAProxy's runtime view: state
 * up / down / drain / maint and weight), as discovery lists them where the balancer says
 * nothing (not applied yet, or a balancer without `serving`). */
export function writerStatus(deps: { host: string; clusters(): ReadonlyMap<string, { roles?: string[] }>; members(): ReadonlyMap<string, ServiceNode[]>; serving(): ReadonlyMap<string, ServedServer[]>; since(cluster: string): number | undefined }) {
  const members = deps.members();
  const serving = deps.serving();
  return [...deps.clusters()].map(([name, c]) => {
    const nodes = members.get(name);
    return {
      name,
      type: 'cluster',
      node: deps.host,
      state: nodes === undefined ? 'unknown' : nodes.length ? 'operational' : 'down',
      last_state: null,
      checked: iso(deps.since(name)),
      members: nodes?.length ?? 0,
      nodes: serving.get(name)?.map((s) => ({ name: s.name, address: s.address, port: s.port, weight: s.weight, state: s.state, from: 'balancer' })) ?? (nodes ?? []).map((n) => ({ name: n.name, address: n.ip, port: n.port, weight: n.weight ?? null, state: n.state ?? 'up', from: 'discovery' })),
      roles: c.roles ?? [],
    };
  });
}

/** how often an event stream looks for changes */
const EVENTS_EVERY_MS = 500;
/** a comment line now and then keeps proxies from closing a quiet stream */
const KEEPALIVE_MS = 15_000;

/** GET /api/v1/status, and GET /api/v1/events: the same (filtered) view as server-sent
 * events, one `status` event at once and one each time it changes. Looking every
 * EVENTS_EVERY_MS per connected client keeps the daemons' hot paths free of any hook. */
export function mountStatus(router: Router, status: () => { result: { roles: readonly string[] }[]; [k: string]: unknown }, clock: Clock): void {
  const view = (roles: readonly string[] | undefined) => {
    const all = status();
    return { ...all, result: all.result.filter((e) => allowed(roles, e.roles)) };
  };
  router.add('GET', '/api/v1/status', 'read', (req) => ({ status: 200, body: view(req.caller.roles) }));
  router.add('GET', '/api/v1/events', 'read', (req) => ({
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' },
    async stream(write, signal) {
      let last = '';
      let quiet = 0;
      let wake: (() => void) | null = null;
      signal.addEventListener('abort', () => wake?.(), { once: true });
      while (!signal.aborted) {
        const text = JSON.stringify(view(req.caller.roles));
        if (text !== last) {
          last = text;
          quiet = 0;
          write(`event: status\ndata: ${text}\n\n`);
        } else if ((quiet += EVENTS_EVERY_MS) >= KEEPALIVE_MS) {
          quiet = 0;
          write(': keepalive\n\n');
        }
        await new Promise<void>((resolve) => {
          const t = clock.setTimeout((wake = resolve), EVENTS_EVERY_MS);
          wake = () => (t.cancel(), resolve());
        });
      }
    },
  }));
}
