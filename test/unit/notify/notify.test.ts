import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Confirmations } from '../../../src/notify/confirm.js';
import { DeliveryQueue } from '../../../src/notify/queue.js';
import type { Backend, Notification } from '../../../src/notify/types.js';

const flush = () => new Promise<void>((r) => setImmediate(r));
const note = (to: string): Notification => ({ daemon: 'reporter', kind: 'instance', service: 'web', node: 'n', port: 1, from: 'x', to, time: '' });

test('confirmations: a change counts after `required` consecutive sightings; a shorter flap never', () => {
  const c = new Confirmations();
  const seq = (states: string[]) => states.map((s) => c.observe('k', s, 3));
  assert.deepEqual(seq(['down', 'up', 'up']), [null, null, null], 'nothing confirmed yet');
  assert.deepEqual(c.observe('k', 'up', 3), { subject: 'k', from: 'up', to: 'up' }, 'the first confirmed state is a baseline');
  assert.deepEqual(seq(['down', 'down', 'up', 'down', 'down']), [null, null, null, null, null], 'flaps shorter than 3');
  assert.equal(c.pending('k'), true);
  assert.deepEqual(c.observe('k', 'down', 3), { subject: 'k', from: 'up', to: 'down' });
  assert.deepEqual(seq(['down', 'down', 'down']), [null, null, null], 'one notification per transition');
  assert.deepEqual(c.notified(), new Map([['k', 'down']]));
  const restarted = new Confirmations(c.notified());
  assert.equal(restarted.observe('k', 'down', 1), null, 'a restart in the same state notifies nothing');
});

test('delivery queue: retries with backoff, gives up after max_attempts, drops the oldest when full', async () => {
  const clock = new FakeClock();
  const got: string[] = [];
  let fail = 2;
  const backend: Backend = {
    name: 'test 1',
    async send(n) {
      if (fail-- > 0) throw new Error('unreachable');
      got.push(n.to);
    },
  };
  const events: string[] = [];
  const q = new DeliveryQueue(backend, {
    size: 2, maxAttempts: 3, timeoutMs: 1000, clock, log: silentLogger(),
    events: { sent: (_b, n) => events.push(`sent ${n.to}`), failed: (_b, n) => events.push(`failed ${n.to}`), dropped: (_b, n) => events.push(`dropped ${n.to}`) },
  });
  q.push(note('a'));
  await flush();
  assert.deepEqual(got, []);
  clock.advance(999);
  await flush();
  assert.deepEqual(got, [], 'first retry after 1 s');
  clock.advance(1);
  await flush();
  clock.advance(2000);
  await flush();
  assert.deepEqual(got, ['a'], 'delivered on the third attempt');
  assert.deepEqual({ ...q.stats }, { sent: 1, failed: 0, dropped: 0, attemptsFailed: 2, queued: 0 });

  fail = 100;
  q.push(note('b'));
  q.push(note('c'));
  q.push(note('d')); // full: b (being retried) goes
  assert.deepEqual(events.slice(-1), ['dropped b']);
  for (let i = 0; i < 20; i++) {
    clock.advance(1000);
    await flush();
  }
  assert.ok(q.stats.failed >= 1, 'given up after 3 attempts');
  assert.ok(events.includes('failed c'), `events: ${events.join(', ')}`);
  await q.close();
});

test('writer side: a cluster that empties is looked at once a second until confirmed; a failed apply is notified at once', async () => {
  const { writerObserver } = await import('../../../src/notify/hooks.js');
  const clock = new FakeClock();
  const confirm = new Confirmations();
  const sent: string[] = [];
  const notifier = {
    observe(s: { key: string }, state: string, _detail?: string, required = 3) {
      const c = confirm.observe(s.key, state, required);
      if (c && c.from !== c.to) sent.push(`${s.key} ${c.from}->${c.to}`);
    },
    pending: (key: string) => confirm.pending(key),
    forget: (key: string) => confirm.forget(key),
  };
  const w = writerObserver(notifier as never, clock);
  for (let i = 0; i < 3; i++) w.members('web', 2); // the baseline: serving
  w.members('web', 0);
  assert.deepEqual(sent, []);
  clock.advance(1000);
  assert.deepEqual(sent, [], 'seen empty twice');
  clock.advance(1000);
  assert.deepEqual(sent, ['cluster:web serving->empty'], 'confirmed by the writer looking again, with no new event');
  clock.advance(10_000);
  assert.equal(sent.length, 1, 'once');
  w.members('web', 1);
  w.members('web', 0); // back for a moment only
  clock.advance(5000);
  assert.equal(sent.length, 1, 'a short return is no change');
  w.applied('haproxy', { runtimeCommands: 0, reloaded: false, ms: 1 });
  w.applyFailed('haproxy', new Error('haproxy -c rejected the config'));
  assert.deepEqual(sent.slice(1), ['balancer:haproxy ok->failing']);
  w.applied('haproxy', { runtimeCommands: 0, reloaded: false, ms: 1 });
  assert.deepEqual(sent.slice(2), ['balancer:haproxy failing->ok']);
});
