/**
 * `redis` check (Python Lighthouse semantics): send PING, pass on +PONG. An inline command
 * ("PING\r\n") is valid RESP for every Redis version and keeps the probe one write, one read.
 * A server that needs AUTH answers "-NOAUTH ..." and fails with that text as the detail.
 */
import { z } from 'zod';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { errorDetail, PASS, quote } from './detail.js';
import { exchangeLine } from './tcp.js';

/** redis check keys: none (`rise`, `fall`, `timeout` are common and handled by the reporter). */
export const redisSchema = z.strictObject({});
export type RedisConfig = z.output<typeof redisSchema>;

export function createRedisCheck(target: CheckTarget): Check {
  const where = `redis ${target.host}:${target.port}`;
  return {
    async run(signal: AbortSignal): Promise<CheckResult> {
      try {
        const line = ((await exchangeLine(target, { send: 'PING\r\n', readLine: true, signal })) ?? '').trim();
        if (line === '+PONG') return PASS;
        return { ok: false, detail: `${where}: expected '+PONG', got ${quote(line)}` };
      } catch (err) {
        return { ok: false, detail: `${where}: ${errorDetail(err)}` };
      }
    },
  };
}

export const redisCheck = {
  kind: 'check',
  name: 'redis',
  schema: redisSchema,
  create: (_config, target, _deps) => createRedisCheck(target),
} satisfies CheckPlugin<RedisConfig>;
