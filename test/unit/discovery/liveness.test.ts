/**
 * The session clock's pings land on the shared wake-up grid (whole seconds), where a reporter's
 * probes wake it anyway, never later than t/3 after the last request nor sooner than t/6.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, onWakeGrid } from '../../../src/core/clock.js';
import { Liveness } from '../../../src/discovery/zookeeper/liveness.js';

function setup(timeoutMs: number, startAt: number) {
  const clock = new FakeClock();
  clock.advance(startAt);
  const pings: number[] = [];
  const drops: number[] = [];
  const liveness: Liveness = new Liveness(clock, () => timeoutMs, {
    connected: () => true,
    ping: () => {
      pings.push(clock.now());
      liveness.sent();
      liveness.contact(); // answered at once
    },
    drop: (heard) => drops.push(heard),
    silent: () => {},
  });
  liveness.connected();
  return { clock, pings, drops };
}

describe('Liveness', () => {
  it('pings on whole seconds, within [t/6, t/3] of the last request', () => {
    const { clock, pings, drops } = setup(10_000, 250);
    clock.advance(20_000);
    // t/3 after 250 is 3583: the last whole second before it is 3000 (>= 250 + t/6)
    assert.deepEqual(pings, [3000, 6000, 9000, 12000, 15000, 18000]);
    assert.deepEqual(drops, []);
  });

  it('a window with no whole second in it keeps the exact time', () => {
    const { clock, pings } = setup(1_500, 2_100); // t/3 = 500, t/6 = 250: [2350, 2600] holds no whole second
    clock.advance(600);
    assert.deepEqual(pings, [2600]);
  });

  it('onWakeGrid: the latest whole second in the window, else the time itself', () => {
    assert.equal(onWakeGrid(3583, 1917), 3000);
    assert.equal(onWakeGrid(3000, 2500), 3000);
    assert.equal(onWakeGrid(3999, 3500), 3999);
  });
});
