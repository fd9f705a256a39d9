/**
 * CONFIG_DIR/availability.yaml (reporter): the availability states a node or a service can be
 * put in, as Plight's, and where the state in force is kept. Every key is optional:
 *
 *   states:                       # merged with the three defaults, by name
 *     enabled:  {code: 200, message: "node is available",   effect: up}
 *     disabled: {code: 404, message: "node is unavailable", effect: drain}
 *     offline:  {code: 503, message: "node is offline",     effect: withdraw}
 *   default_state: enabled        # the state when the state file holds none
 *   state_file: /var/lib/lighthouse/availability.json
 *
 * A state's `effect` is what the reporter publishes for healthy instances in it: `up` (as
 * without availability control), `drain` (the znode carries "state": "drain": writers stop new
 * sessions, existing ones finish) or `withdraw` (no znode: writers take the server out).
 */
import { z } from 'zod';

export const EFFECTS = ['up', 'drain', 'withdraw'] as const;
export type Effect = (typeof EFFECTS)[number];

export interface StateDef {
  name: string;
  /** the HTTP status `GET /` answers while the node is in this state */
  code: number;
  /** the text/plain body of that answer */
  message: string;
  effect: Effect;
}

export const DEFAULT_STATES: readonly StateDef[] = [
  { name: 'enabled', code: 200, message: 'node is available', effect: 'up' },
  { name: 'disabled', code: 404, message: 'node is unavailable', effect: 'drain' },
  { name: 'offline', code: 503, message: 'node is offline', effect: 'withdraw' },
];

export const DEFAULT_STATE_FILE = '/var/lib/lighthouse/availability.json';

/** State names travel in URLs, JSON and command lines: a small alphabet. */
export const stateName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a state name: a lowercase letter, then up to 31 of a-z 0-9 _ -');

const stateBody = z.strictObject({
  /** HTTP status 100-599; required for a new state */
  code: z.number().int().min(100).max(599).optional(),
  /** one line of text; required for a new state */
  message: z.string().min(1).max(200).regex(/^[^\r\n]*$/, 'expected one line of text').optional(),
  /** up | drain | withdraw; required for a new state */
  effect: z.enum(EFFECTS).optional(),
});

export interface AvailabilityConfig {
  /** every state by name: the defaults, overridden or extended by `states:` */
  states: ReadonlyMap<string, StateDef>;
  defaultState: string;
  /** absolute, or relative to the config dir */
  stateFile: string;
}

export const availabilitySchema = z
  .strictObject({
    states: z.record(z.string(), stateBody).default({}),
    default_state: stateName.default('enabled'),
    state_file: z.string().min(1).default(DEFAULT_STATE_FILE),
  })
  .superRefine((v, ctx) => {
    const known = new Set([...DEFAULT_STATES.map((s) => s.name), ...Object.keys(v.states)]);
    for (const [name, body] of Object.entries(v.states)) {
      const named = stateName.safeParse(name);
      if (!named.success) ctx.addIssue({ code: 'custom', path: ['states', name], message: named.error.issues[0].message });
      if (DEFAULT_STATES.some((s) => s.name === name)) continue;
      for (const key of ['code', 'message', 'effect'] as const) {
        if (body[key] === undefined) ctx.addIssue({ code: 'custom', path: ['states', name], message: `'${key}' is required for a state that is not one of the defaults (${DEFAULT_STATES.map((s) => s.name).join(', ')})` });
      }
    }
    if (!known.has(v.default_state)) ctx.addIssue({ code: 'custom', path: ['default_state'], message: `no state named '${v.default_state}' (known: ${[...known].join(', ')})` });
  })
  .transform((v): AvailabilityConfig => {
    const states = new Map(DEFAULT_STATES.map((s) => [s.name, s]));
    for (const [name, body] of Object.entries(v.states)) {
      const base = states.get(name);
      states.set(name, { name, code: body.code ?? base!.code, message: body.message ?? base!.message, effect: body.effect ?? base!.effect });
    }
    return { states, defaultState: v.default_state, stateFile: v.state_file };
  });

/** What a config dir without availability.yaml gets. */
export function defaultAvailabilityConfig(): AvailabilityConfig {
  return availabilitySchema.parse({});
}
