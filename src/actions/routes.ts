/**
 * The action endpoints of the reporter's HTTP server; all need a signed action token
 * (`Authorization: Bearer JWT`; the auth layer answers 401 for none, a bad signature, an expired
 * or revoked token):
 *   GET  /actions         the actions defined here, with summary, `confirm`, the variant this
 *                         node would run and whether the token may run each
 *   GET  /actions/NAME    one of them
 *   POST /actions/NAME    {"args"?: [...], "confirmed"?: bool}: run it. Refused before anything
 *                         runs with 403 (out of the token's scope), 404, 428 (asks for
 *                         confirmation), 409 (script not executable, or already running), 400.
 *                         Accepted: 200 and an NDJSON stream of events as they happen,
 *                         {"event":"start"}, {"event":"line","stream","text"}, {"event":"tick"}
 *                         (while silent, so proxies keep the connection), {"event":"end",
 *                         "exit_code", "signal", "timed_out", "cancelled", "duration_ms"}.
 *                         Closing the connection ends the run (as at its timeout).
 */
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { HttpError, type Request, type Router } from '../http/router.js';
import { isRefusal, type ActionService, type RunEvent } from './service.js';

/** how long a run may stay silent before a tick is sent */
const TICK_MS = 15_000;

const runBody = z.strictObject({
  args: z
    .array(z.string().max(4096).regex(/^[^\0]*$/, 'an argument cannot hold a NUL character'))
    .max(64)
    .default([]),
  confirmed: z.boolean().default(false),
});

export function mountActions(router: Router, service: ActionService, clock: Clock): void {
  router.add('GET', '/actions', 'action', async (req) => ({ status: 200, body: { actions: await service.list(claimsOf(req)) } }));
  router.add('GET', '/actions/:name', 'action', async (req) => {
    const r = await service.describe(req.params.name, claimsOf(req));
    if (isRefusal(r)) throw new HttpError(r.status, r.message);
    return { status: 200, body: r };
  });
  router.add('POST', '/actions/:name', 'action', async (req) => {
    const raw = await req.json();
    const body = runBody.safeParse(raw);
    if (!body.success) throw new HttpError(400, `bad request body: ${body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
    const accepted = await service.prepare(req.params.name, claimsOf(req), body.data);
    if (isRefusal(accepted)) throw new HttpError(accepted.status, accepted.message);
    return {
      status: 200,
      stream: async (write, signal) => {
        let tick: { cancel(): void } | undefined;
        const arm = () => {
          tick?.cancel();
          tick = clock.setTimeout(() => (write(line({ event: 'tick' })), arm()), TICK_MS);
        };
        arm();
        try {
          await accepted.run((e: RunEvent) => (write(line(e)), arm()), signal);
        } finally {
          tick?.cancel();
          accepted.release();
        }
      },
    };
  });
}

function claimsOf(req: Request) {
  // the auth layer lets no request without verified claims reach an `action` route
  if (!req.caller.claims) throw new HttpError(401, 'an action token is required');
  return req.caller.claims;
}

function line(e: RunEvent | { event: 'tick' }): string {
  return `${JSON.stringify(e)}\n`;
}
