/**
 * The writer's own logic with an in-memory discovery plugin and a balancer that records what it
 * is asked to apply (the real ones are exercised by test/integration/writer.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.js';
import { pino } from 'pino';
import { Registry } from '../../../src/core/registry.js';
import type { BalancerPlugin, DesiredState, MembersListener } from '../../../src/core/plugin.js';
import type { ServiceNode } from '../../../src/core/node.js';
import { STARTUP_WAIT_MS, Writer } from '../../../src/writer/writer.js';
import { memoryDiscovery, memoryWriterConfig } from '../../helpers/memory-discovery.js';

const node = (port: number): ServiceNode => ({ name: `127.0.0.1:${port}`, host: '127.0.0.1', ip: '127.0.0.1', port, peer: null, metadata: {} });

function setup(clusters: string[], clock = new FakeClock()) {
  const listeners = new Map<string, MembersListener>();
  const applied: DesiredState[] = [];
  const stopped: string[] = [];
  const started: string[] = [];
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
  const registry = new Registry([
    memoryDiscovery('mem', listeners),
    {
      kind: 'balancer',
      name: 'rec',
      schema: z.object({}),
      clusterSchema: z.object({}),
      create: () => ({
        start: async () => void started.push('rec'),
        stop: async () => void stopped.push('rec'),
        apply: async (d: DesiredState) => (applied.push(d), { runtimeCommands: 0, reloaded: false }),
      }),
    } satisfies BalancerPlugin,
  ]);
  const writer = new Writer({ registry, logger, clock, configDir: '/nonexistent' });
  const config = memoryWriterConfig('rec', Object.fromEntries(clusters.map((n) => [n, {}])));
  const names = (d: DesiredState | undefined) => d?.clusters.map((c) => c.name).join(',');
  return { writer, config, listeners, applied, clock, names, stopped, started, logs };
}

test('at start, the first apply waits for every cluster\'s first member list: one apply, not one per cluster', async () => {
  const { writer, config, listeners, applied, names } = setup(['a', 'b', 'c']);
  await writer.apply(config);
  listeners.get('a')!([node(1)]);
  await writer.settled();
  listeners.get('b')!([node(2)]);
  await writer.settled();
  assert.equal(applied.length, 0, 'c not heard yet');
  listeners.get('c')!([]);
  await writer.settled();
  assert.deepEqual(applied.map(names), ['a,b,c']);
  listeners.get('a')!([node(1), node(3)]);
  await writer.settled();
  assert.equal(applied.length, 2, 'after start, every change applies at once');
  await writer.stop();
});

test('the wait is bounded: a cluster never heard from does not hold the others back', async () => {
  const { writer, config, listeners, applied, clock, names } = setup(['a', 'b']);
  await writer.apply(config);
  listeners.get('a')!([node(1)]);
  await writer.settled();
  assert.equal(applied.length, 0);
  clock.advance(STARTUP_WAIT_MS);
  await writer.settled();
  assert.deepEqual(applied.map(names), ['a'], 'applied without b at the deadline');
  listeners.get('b')!([node(2)]);
  await writer.settled();
  assert.deepEqual(applied.map(names), ['a', 'a,b'], 'b joins when it comes');
  await writer.stop();
});

test('the desired state follows member changes incrementally: untouched clusters keep their objects, a late cluster joins, a config change rebuilds', async () => {
  const { writer, config, listeners, applied, clock, names } = setup(['a', 'b', 'c']);
  await writer.apply(config);
  listeners.get('a')!([node(1)]);
  listeners.get('b')!([node(2)]);
  clock.advance(STARTUP_WAIT_MS); // c never answers: a and b are applied
  await writer.settled();
  const first = applied.at(-1)!;
  assert.equal(names(first), 'a,b');

  listeners.get('b')!([node(2), node(3)]);
  await writer.settled();
  const second = applied.at(-1)!;
  assert.notEqual(second, first);
  assert.equal(second.clusters[0], first.clusters[0], 'a: the same ClusterModel object');
  assert.deepEqual(second.clusters[1].nodes.map((n) => n.port), [2, 3]);
  assert.deepEqual(first.clusters[1].nodes.map((n) => n.port), [2], 'the state applied before is not changed under the balancer');
  assert.ok(second.version! > first.version!, 'states are numbered');
  assert.deepEqual(second.changedSince, { version: first.version, at: [1] }, 'the hint: b (position 1) is all that changed since the state before');

  listeners.get('b')!([node(3), node(2)]); // the same members: nothing to apply
  await writer.settled();
  assert.equal(applied.at(-1), second);

  listeners.get('c')!([node(4)]); // a cluster's first member list: it joins, in config order
  await writer.settled();
  assert.equal(names(applied.at(-1)), 'a,b,c');
  assert.equal(applied.at(-1)!.changedSince, undefined, 'a cluster joined: no hint (positions moved)');
  assert.equal(applied.at(-1)!.clusters[0], first.clusters[0]);

  const next = { ...config, clusters: new Map([...config.clusters].filter(([n]) => n !== 'a')) };
  await writer.apply(next); // a gone from the config
  await writer.settled();
  assert.equal(names(applied.at(-1)), 'b,c');
  listeners.get('c')!([node(4), node(5)]);
  await writer.settled();
  assert.deepEqual(applied.at(-1)!.clusters.map((c) => c.nodes.length), [2, 2]);
  await writer.stop();
});

/** A clock whose timers fire half a millisecond early, as Node's may (they round to whole ms). */
class EarlyClock extends FakeClock {
  override setTimeout(fn: () => void, ms: number) {
    return super.setTimeout(fn, Math.max(0, ms - 0.5));
  }
}

test('the start-up wait ends even when its timer fires early (no member list ever comes)', async () => {
  const clock = new EarlyClock();
  const { writer, config, applied, names } = setup(['a', 'b'], clock);
  await writer.apply(config);
  await writer.settled();
  clock.advance(STARTUP_WAIT_MS - 0.5); // the timer fires, just before the deadline
  await writer.settled();
  assert.equal(applied.length, 0, 'still inside the wait');
  for (let i = 0; i < 5 && applied.length === 0; i++) {
    clock.advance(1);
    await writer.settled();
  }
  assert.deepEqual(applied.map(names), [''], 'the wait ended: the clusters known (none) applied');
  await writer.stop();
});

test('a balancer whose config file is deleted keeps its last good config, says so, and keeps applying membership', async () => {
  const { writer, config, listeners, applied, stopped, logs } = setup(['a']);
  await writer.apply(config);
  listeners.get('a')!([node(1)]);
  await writer.settled();
  assert.equal(applied.length, 1);
  await writer.apply({ ...config, balancers: new Map() }); // balancers/rec.yaml removed
  await writer.settled();
  assert.deepEqual(stopped, [], 'not stopped');
  const said = logs.filter((l) => l.level === 50 && l.msg.includes('balancers/rec.yaml'));
  assert.equal(said.length, 1, 'said once, naming the file');
  assert.match(said[0].msg, /keeping its last good config/);
  listeners.get('a')!([node(1), node(2)]);
  await writer.settled();
  assert.deepEqual(applied.at(-1)!.clusters[0].nodes.map((n) => n.port), [1, 2], 'membership still applied');
  await writer.apply({ ...config, balancers: new Map() }); // another config change: not said again
  await writer.settled();
  assert.equal(logs.filter((l) => l.msg.includes('balancers/rec.yaml')).length, 1);
  await writer.stop();
});

test('clusters not heard yet are passed as pending (kept by the balancer), never as empty; the balancer starts before the wait', async () => {
  const { writer, config, listeners, applied, clock, names, started } = setup(['a', 'b', 'c']);
  await writer.apply(config);
  await writer.settled();
  assert.deepEqual(started, ['rec'], 'started at once: HAProxy serves the config on disk during the wait');
  assert.equal(applied.length, 0);
  listeners.get('b')!([node(2)]);
  clock.advance(STARTUP_WAIT_MS); // ZooKeeper answers for b only
  await writer.settled();
  const first = applied.at(-1)!;
  assert.equal(names(first), 'b');
  assert.deepEqual(first.pending?.map((c) => [c.name, c.nodes.length]), [['a', 0], ['c', 0]]);
  listeners.get('b')!([node(2), node(3)]);
  await writer.settled();
  assert.equal(applied.at(-1)!.pending, first.pending, 'a member change keeps the same pending list');
  assert.ok(applied.at(-1)!.changedSince, 'and its hint');
  listeners.get('a')!([]); // heard: empty is ZooKeeper's word
  await writer.settled();
  assert.equal(names(applied.at(-1)), 'a,b');
  assert.deepEqual(applied.at(-1)!.pending?.map((c) => c.name), ['c']);
  listeners.get('c')!([node(4)]);
  await writer.settled();
  assert.equal(applied.at(-1)!.pending, undefined, 'all heard');
  await writer.stop();
});
