/**
 * ServiceInstance with a scripted check on a fake clock: what it says about an instance that
 * is not registered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.js';
import { Registry } from '../../../src/core/registry.js';
import type { CheckPlugin, CheckResult } from '../../../src/core/plugin.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { ServiceInstance } from '../../../src/reporter/instance.js';

function setup(script: () => CheckResult) {
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const plugin = { kind: 'check', name: 'scripted', schema: z.object({}), create: () => ({ run: async () => script() }) } satisfies CheckPlugin;
  const service: ServiceConfig = {
    name: 'web', ports: [8080], host: '127.0.0.1', discovery: 'mem', intervalMs: 1000, metadata: {},
    checks: [{ name: 'scripted', options: {}, rise: 2, fall: 2, timeoutMs: 500 }],
    flap: { maxChanges: 100, windowMs: 60_000 },
  };
  const clock = new FakeClock();
  const changes: boolean[] = [];
  const inst = new ServiceInstance({ service, port: 8080, registry: new Registry([plugin]), logger, clock, initialUp: false, onChange: (up) => changes.push(up) });
  const notRegistered = () => lines.filter((l) => l.msg.startsWith('instance not registered'));
  /** one probe (the loop probes once per second) and its result settled */
  const tick = async () => {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
  };
  return { inst, notRegistered, tick, changes };
}

test('a check that never passes: why the instance is not registered is logged once per reason, not per probe', async () => {
  let result: CheckResult = { ok: false, detail: 'tcp 127.0.0.1:8080: timed out after 500 ms' };
  const { inst, notRegistered, tick, changes } = setup(() => result);
  inst.start();
  for (let i = 0; i < 10; i++) await tick();
  assert.deepEqual(notRegistered().map((l) => l.reason), ['check scripted failing: tcp 127.0.0.1:8080: timed out after 500 ms'], 'said once in ten probes');

  result = { ok: false, detail: "tcp 127.0.0.1:8080: expected '+PONG', got 'HTTP/1.1 400'" };
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(notRegistered().length, 2, 'a new reason is said once');
  assert.match(notRegistered()[1].msg, /expected '\+PONG'/);

  result = { ok: true };
  for (let i = 0; i < 3; i++) await tick();
  assert.deepEqual(changes, [true], 'registered after rise');
  result = { ok: false, detail: 'tcp 127.0.0.1:8080: connection refused (ECONNREFUSED)' };
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(changes, [true, false]);
  assert.equal(notRegistered().length, 2, 'going down is said by the check and instance lines; the same reason is not repeated');
  result = { ok: false, detail: 'tcp 127.0.0.1:8080: timed out after 500 ms' };
  await tick();
  assert.equal(notRegistered().length, 3, 'a new reason while down');
  inst.stop();
});
