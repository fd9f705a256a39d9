import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hysteresis } from '../../../src/checks/hysteresis.js';

const run = (h: Hysteresis, results: boolean[]) => results.map((ok) => h.record(ok));

test('a new instance needs `rise` consecutive passes before it first passes', () => {
  const h = new Hysteresis(3, 2);
  assert.equal(h.passing, false);
  assert.deepEqual(run(h, [true, true]), [
    { passing: false, changed: false },
    { passing: false, changed: false },
  ]);
  assert.deepEqual(h.record(true), { passing: true, changed: true });
  assert.deepEqual(h.record(true), { passing: true, changed: false });
});

test('a failure resets the rise streak', () => {
  const h = new Hysteresis(2, 2);
  run(h, [true, false, true]);
  assert.equal(h.passing, false);
  assert.deepEqual(h.record(true), { passing: true, changed: true });
});

test('when passing, `fall` consecutive failures fail it; a pass resets the fall streak', () => {
  const h = new Hysteresis(1, 3);
  assert.deepEqual(h.record(true), { passing: true, changed: true });
  run(h, [false, false, true, false, false]);
  assert.equal(h.passing, true, 'two failures, a pass, two failures: never 3 in a row');
  assert.deepEqual(h.record(false), { passing: false, changed: true });
  assert.deepEqual(h.record(false), { passing: false, changed: false });
});

test('failures while not passing change nothing', () => {
  const h = new Hysteresis(1, 1);
  assert.deepEqual(h.record(false), { passing: false, changed: false });
});

test('initial=true starts passing and then follows `fall`', () => {
  const h = new Hysteresis(5, 2, true);
  assert.equal(h.passing, true);
  assert.deepEqual(h.record(false), { passing: true, changed: false });
  assert.deepEqual(h.record(false), { passing: false, changed: true });
  // and the way back needs the full rise
  assert.equal(run(h, [true, true, true, true]).some((s) => s.passing), false);
  assert.deepEqual(h.record(true), { passing: true, changed: true });
});

test('reconfigure keeps the passing state and applies new thresholds', () => {
  const h = new Hysteresis(1, 1);
  h.record(true);
  h.reconfigure(2, 3);
  assert.equal(h.passing, true);
  run(h, [false, false]);
  assert.equal(h.passing, true);
  assert.deepEqual(h.record(false), { passing: false, changed: true });
  h.reconfigure(1, 1);
  assert.equal(h.passing, false);
  assert.deepEqual(h.record(true), { passing: true, changed: true });
});

test('rise and fall must be integers >= 1', () => {
  assert.throws(() => new Hysteresis(0, 1), RangeError);
  assert.throws(() => new Hysteresis(1, 1.5), RangeError);
  assert.throws(() => new Hysteresis(1, 1).reconfigure(1, 0), RangeError);
});
