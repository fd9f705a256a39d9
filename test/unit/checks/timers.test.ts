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

test('an entry with less slack than the resolution fires in a slot of its own size', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 50 });
  const log: [string, number, number][] = [];
  timers.schedule(recorder(clock, log, 'wide'), 1); // default slack: the resolution
  timers.schedule(recorder(clock, log, 'narrow'), 3, 10);
  timers.schedule(recorder(clock, log, 'exact'), 12, 4);
  clock.advance(100);
  assert.deepEqual(
    log.map(([name, at]) => [name, at]),
    [['narrow', 10], ['exact', 12], ['wide', 50]],
  );
});

test('many entries with mixed slack: none early, none past its slot, in (slot, due) order', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 25 });
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const fired: { at: number; slack: number; t: number }[] = [];
  for (let i = 0; i < 500; i++) {
    const at = Math.floor(rand() * 1000);
    const slack = [1, 5, 10, 1000][Math.floor(rand() * 4)];
    timers.schedule({ onTimer: () => void fired.push({ at, slack, t: clock.now() }) }, at, slack);
  }
  clock.advance(2000);
  assert.equal(fired.length, 500, 'every entry fired');
  for (const f of fired) {
    const r = Math.min(25, f.slack);
    assert.ok(f.t >= f.at && f.t === Math.ceil(f.at / r) * r, `due ${f.at} slack ${f.slack} fired at ${f.t}`);
  }
  for (let i = 1; i < fired.length; i++) {
    const [a, b] = [fired[i - 1], fired[i]];
    assert.ok(a.t < b.t || (a.t === b.t && a.at <= b.at), `entry due ${b.at} fired after ${a.at} in slot ${b.t}`);
  }
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

test('an entry its target gave up on is dropped before a clock timer is armed for it', () => {
  const clock = new CountingClock();
  const timers = new CheckTimers(clock, { resolutionMs: 5 });
  let current = 0;
  const fired: number[] = [];
  const target: TimerTarget = { onTimer: (t) => void fired.push(t), waits: (t) => t === current };
  current = timers.schedule(target, 100); // a deadline
  current = 0; // the probe answered: the target waits for the deadline no more...
  current = timers.schedule(target, 1000); // ...but for the next probe
  clock.advance(2000);
  assert.deepEqual(fired, [current]);
  assert.equal(clock.wakeups, 1, 'no wake-up for the abandoned deadline');
});

test('with defer, a wake-up runs its entries only when the deferred run comes, and skips the ones given up on meanwhile', () => {
  const clock = new CountingClock();
  const runs: (() => void)[] = [];
  const timers = new CheckTimers(clock, { defer: (run) => void runs.push(run) });
  const log: [string, number, number][] = [];
  const givenUp = new Set<number>();
  const target = (name: string): TimerTarget => ({
    onTimer: (token) => void (givenUp.has(token) || log.push([name, clock.now(), token])),
    waits: (token) => !givenUp.has(token),
  });
  timers.schedule(target('a'), 10);
  const b = timers.schedule(target('b'), 10);
  clock.advance(10);
  assert.equal(log.length, 0, 'the clock timer fired, but the entries wait for the deferred run');
  assert.equal(runs.length, 1);
  // what the poll phase in between did: b's probe answered, so b no longer waits for its entry
  givenUp.add(b);
  timers.schedule(target('c'), 10); // and a reply scheduled something due now
  assert.equal(clock.armed, 1, 'no clock timer armed while a run is pending');
  runs.shift()!();
  assert.deepEqual(log.map(([name]) => name), ['a', 'c'], 'the due entries run, not the one given up on');
  assert.equal(clock.armed, 1);
});
