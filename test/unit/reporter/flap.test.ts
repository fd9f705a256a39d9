import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/core/clock.js';
import { FlapDamper } from '../../../src/reporter/flap.js';

test('down is always immediate; up waits once the budget of changes is spent', () => {
  const clock = new FakeClock();
  const d = new FlapDamper(3, 60_000, clock);
  // up, down, up: three changes within the window
  for (const up of [true, false, true]) {
    assert.equal(d.delayFor(up), 0);
    d.record();
    clock.advance(1000);
  }
  assert.equal(d.delayFor(false), 0, 'going down is never held');
  d.record();
  // four changes at t=0,1,2,3 s with a budget of 3: the next up waits until t=1 s ages out
  assert.equal(d.delayFor(true), 58_000);
  clock.advance(57_999);
  assert.ok(d.delayFor(true) > 0, 'still held');
  clock.advance(1);
  assert.equal(d.delayFor(true), 0, 'allowed once the window moved on');
});
