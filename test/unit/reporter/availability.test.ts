/**
 * The reporter's availability override: a healthy instance is published as its state's effect
 * says (up, "state": "drain", or not at all), from its very first publication on; health still
 * rules (a failing instance is never published, whatever the state).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Registry } from '../../../src/core/registry.js';
import type { CheckPlugin, DiscoveryPlugin } from '../../../src/core/plugin.js';
import type { ServiceNode } from '../../../src/core/node.js';
import type { LoadedConfig } from '../../../src/config/store.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { Reporter } from '../../../src/reporter/reporter.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(effect: { now: 'up' | 'drain' | 'withdraw' }) {
  const calls: { op: 'register' | 'unregister'; service: string; node: ServiceNode }[] = [];
  const health = { ok: true };
  const registry = new Registry([
    { kind: 'check', name: 'fake', schema: z.object({}), create: () => ({ run: async () => ({ ok: health.ok }) }) } satisfies CheckPlugin,
    {
      kind: 'discovery',
      name: 'rec',
      schema: z.object({}),
      create: () => ({
        start: async () => {},
        stop: async () => {},
        register: async (service, node) => void calls.push({ op: 'register', service, node }),
        unregister: async (service, node) => void calls.push({ op: 'unregister', service, node }),
        watch: () => () => {},
        connected: true,
      }),
    } satisfies DiscoveryPlugin,
  ]);
  const clock = new FakeClock();
  const reporter = new Reporter({
    registry,
    logger: silentLogger(),
    clock,
    identity: { host: 'a.test', ip: '127.0.0.1', peer: { name: 'a.test', ip: '127.0.0.1', port: 1024 } },
    availability: { effectFor: () => effect.now },
  });
  const web: ServiceConfig = {
    name: 'web', ports: [8080], host: '127.0.0.1', discovery: 'rec', intervalMs: 1000,
    checks: [{ name: 'fake', rise: 1, fall: 1, timeoutMs: 500, options: {} }], metadata: {}, flap: { maxChanges: 100, windowMs: 60_000 },
  };
  const config: LoadedConfig = { node: { peer_port: 1024 }, plugins: [], balancers: new Map(), discovery: new Map([['rec', {}]]), clusters: new Map(), services: new Map([['web', web]]) };
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await flush();
    }
  };
  return { reporter, config, calls, health, run };
}

const summary = (calls: { op: string; node: ServiceNode }[]) => calls.map((c) => `${c.op}${c.node.state ? `:${c.node.state}` : ''}`);

test('a node that starts disabled publishes its healthy instance as draining, never up first', async () => {
  const effect = { now: 'drain' as const };
  const { reporter, config, calls, run } = setup(effect);
  await reporter.apply(config);
  await run(3000);
  assert.deepEqual(summary(calls), ['register:drain']);
  await reporter.stop();
});

test('changes of state: withdraw deletes, up publishes without a state, drain adds it', async () => {
  const effect: { now: 'up' | 'drain' | 'withdraw' } = { now: 'withdraw' };
  const { reporter, config, calls, run } = setup(effect);
  await reporter.apply(config);
  await run(3000);
  assert.deepEqual(summary(calls), ['unregister'], 'an offline node creates no znode (the unregister is a no-op)');
  effect.now = 'up';
  assert.equal(await reporter.reassess(), true);
  effect.now = 'drain';
  await reporter.reassess();
  effect.now = 'withdraw';
  await reporter.reassess();
  assert.deepEqual(summary(calls), ['unregister', 'register', 'register:drain', 'unregister']);
  assert.equal(calls[1].node.name, 'a.test:8080');
  await reporter.stop();
});

test('health still rules: a failing instance is not published by a change of state', async () => {
  const effect: { now: 'up' | 'drain' | 'withdraw' } = { now: 'up' };
  const { reporter, config, calls, health, run } = setup(effect);
  health.ok = false;
  await reporter.apply(config);
  await run(3000);
  effect.now = 'drain';
  await reporter.reassess();
  effect.now = 'up';
  await reporter.reassess();
  assert.deepEqual(summary(calls), []);
  health.ok = true;
  await run(2000);
  assert.deepEqual(summary(calls), ['register']);
  await reporter.stop();
});
