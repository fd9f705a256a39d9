import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/core/clock.js';
import { CheckTimers, type TimerTarget } from '../../../src/checks/timers.js';

/** A FakeClock that counts the clock timers armed and fired (one fired timer = one wake-up). */
class CountingClock extends FakeClock {
  armed = 0;
  wakeups = 0;
  override setTimeout(fn: () => void, ms: number) {
    this.armed++;
    return super.setTimeout(() => {
      this.wakeups++;
      fn();
    }, ms);
  }
}

/** A target that records (its name, the clock time, the token) for every call. */
function recorder(clock: FakeClock, log: [string, number, number][], name: string): TimerTarget {
  return { onTimer: (token) => void log.push([name, clock.now(), token]) };
}

test('entries fire in due order at their exact time with resolution 0', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock);
  const log: [string, number, number][] = [];
  const a = timers.schedule(recorder(clock, log, 'a'), 30);
  const b = timers.schedule(recorder(clock, log, 'b'), 10);
  const c = timers.schedule(recorder(clock, log, 'c'), 20);
  clock.advance(9);
  assert.deepEqual(log, [], 'nothing early');
  clock.advance(100);
  assert.deepEqual(log, [['b', 10, b], ['c', 20, c], ['a', 30, a]]);
});

test('with a resolution, entries due in one slot run in one wake-up, none early', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 5 });
  const log: [string, number, number][] = [];
  for (const at of [1, 2, 3, 4, 5, 6, 9]) timers.schedule(recorder(clock, log, `t${at}`), at);
  clock.advance(20);
  assert.deepEqual(
    log.map(([name, at]) => [name, at]),
    [['t1', 5], ['t2', 5], ['t3', 5], ['t4', 5], ['t5', 5], ['t6', 10], ['t9', 10]],
  );
  assert.equal(clock.wakeups, 2, 'two slots, two wake-ups');
});

test('an entry scheduled while firing waits for the next wake-up; an earlier one re-arms', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 5 });
  const log: [string, number, number][] = [];
  const again: TimerTarget = {
    onTimer: (token) => {
      log.push(['again', clock.now(), token]);
      if (log.length < 3) timers.schedule(again, clock.now()); // due now: still not in this pass
    },
  };
  timers.schedule(recorder(clock, log, 'late'), 100);
  timers.schedule(again, 3);
  clock.advance(200);
  assert.deepEqual(
    log.map(([name, at]) => [name, at]),
    [['again', 5], ['again', 5], ['again', 5], ['late', 100]],
  );
});

test('clear drops every entry and the clock timer', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 5 });
  const log: [string, number, number][] = [];
  timers.schedule(recorder(clock, log, 'a'), 10);
  timers.schedule(recorder(clock, log, 'b'), 20);
  timers.clear();
  clock.advance(100);
  assert.equal(log.length, 0);
  assert.equal(clock.wakeups, 0);
  // still usable afterwards
  timers.schedule(recorder(clock, log, 'c'), 110);
  clock.advance(100);
  assert.deepEqual(log.map(([name, at]) => [name, at]), [['c', 110]]);
});
