/**
 * The availability endpoints of the reporter's HTTP server:
 *   GET|HEAD /    the node state's code, its message as text/plain (Plight's answer: any load
 *                 balancer or monitor can poll it)
 *   GET /state    JSON: node state, services' own states, every instance's effective state,
 *                 the configured states
 *   PUT /state    {"state", "reason"?, "service"?}: change a state (state null: a service
 *                 follows the node again); local socket or bearer token
 *   GET /drain    ESTABLISHED connections on the node's (?service=NAME: the service's) ports;
 *                 the connections themselves only to an authenticated caller
 */
import { z } from 'zod';
import { LighthouseError } from '../core/errors.js';
import { HttpError, type Request, type Router } from '../http/router.js';
import type { Availability, StateInForce } from './availability.js';
import { countOpen } from './drain.js';

/** The reporter as the endpoints see it. */
export interface ReporterView {
  status(): readonly { service: string; port: number; up: boolean }[];
  /** republish after a change; true once discovery has it */
  reassess(): Promise<boolean>;
}

export interface ControlDeps {
  availability: Availability;
  reporter: ReporterView;
  /** the advertised host name */
  host: string;
  /** how long PUT /state waits for discovery to take the change; default 5 s */
  publishWaitMs?: number;
}

const changeBody = z.strictObject({
  state: z.string().max(64).nullable(),
  reason: z.string().max(500).regex(/^[^\x00-\x1f\x7f]*$/, 'expected one line of printable text').optional(),
  service: z.string().min(1).max(200).optional(),
});

/** how many open connections GET /drain lists */
const LISTED = 100;

export function mountAvailability(router: Router, deps: ControlDeps): void {
  const { availability: a, reporter } = deps;
  router.add('GET', '/', 'public', () => {
    const s = a.node();
    return { status: s.code, body: `${s.message}\n` };
  });
  router.add('GET', '/state', 'public', () => ({ status: 200, body: stateView(deps) }));
  router.add('PUT', '/state', 'change', async (req) => {
    const parsed = changeBody.safeParse(await req.json());
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { state, reason, service } = parsed.data;
    if (service !== undefined) knownService(deps, service, state === null);
    let changed: boolean;
    try {
      ({ changed } = await a.set({ state, reason, service, by: req.caller.subject! }));
    } catch (err) {
      if (err instanceof LighthouseError && err.code === 'LH_ERR_STATE') throw new HttpError(400, err.message, { states: a.states().map((s) => s.name) });
      if (err instanceof LighthouseError && err.code === 'LH_ERR_STATE_FILE') throw new HttpError(500, `${err.message}; nothing changed`);
      throw err;
    }
    const published = await within(reporter.reassess(), deps.publishWaitMs ?? 5000);
    return { status: 200, body: { changed, published, ...stateView(deps) } };
  });
  router.add('GET', '/drain', 'public', (req) => drain(deps, req));
}

function knownService(deps: ControlDeps, service: string, clearing: boolean): void {
  const names = new Set(deps.reporter.status().map((i) => i.service));
  // a service that left the config may still have a state of its own to clear
  if (names.has(service) || (clearing && service in deps.availability.services())) return;
  throw new HttpError(400, `unknown service '${service}' (this node's services: ${[...names].sort().join(', ') || 'none'})`);
}

async function drain(deps: ControlDeps, req: Request) {
  const service = req.url.searchParams.get('service') ?? undefined;
  if (service !== undefined) knownService(deps, service, false);
  const ports = new Set(deps.reporter.status().filter((i) => service === undefined || i.service === service).map((i) => i.port));
  const open = await countOpen(ports);
  const state = service === undefined ? deps.availability.node() : deps.availability.effective(service);
  return {
    status: 200,
    body: {
      service: service ?? null,
      state: state.name,
      effect: state.effect,
      ports: [...ports].sort((x, y) => x - y),
      connections: open.length,
      // who is connected is for the node's operators only
      ...(req.caller.subject !== null && { open: open.slice(0, LISTED) }),
    },
  };
}

function view(s: StateInForce) {
  return { state: s.name, code: s.code, message: s.message, effect: s.effect, ...(s.reason !== undefined && { reason: s.reason }), by: s.by, since: s.since, scope: s.scope };
}

export function stateView(deps: ControlDeps) {
  const a = deps.availability;
  return {
    host: deps.host,
    node: view(a.node()),
    services: Object.fromEntries(Object.entries(a.services()).map(([name, s]) => [name, view(s)])),
    instances: deps.reporter.status().map((i) => {
      const s = a.effective(i.service);
      return { service: i.service, port: i.port, healthy: i.up, state: s.name, scope: s.scope, effect: s.effect, published: i.up ? (s.effect === 'withdraw' ? 'withdrawn' : s.effect) : 'down' };
    }),
    states: a.states(),
  };
}

/** `p`'s value, or false once `ms` passed */
async function within(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
