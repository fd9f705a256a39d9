import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { FakeClock } from '../../../src/core/clock.js';
import type { Check, CheckResult } from '../../../src/core/plugin.js';
import type { HysteresisState } from '../../../src/checks/hysteresis.js';
import { CheckLoop, type CheckLoopOptions } from '../../../src/checks/scheduler.js';
import { PhaseGroups } from '../../../src/checks/phases.js';
import { abortDetail } from '../../../src/checks/detail.js';
import { CheckTimers } from '../../../src/checks/timers.js';
import { advance, flush } from '../../helpers/fake-time.js';

/** A check whose probes the test settles by hand; it honours its signal like a real one. */
class ManualCheck implements Check {
  calls: { at: number; signal: AbortSignal; resolve: (r: CheckResult) => void }[] = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly honourAbort = true,
  ) {}
  run(signal: AbortSignal): Promise<CheckResult> {
    return new Promise((resolve) => {
      this.calls.push({ at: this.clock.now(), signal, resolve });
      if (this.honourAbort) signal.addEventListener('abort', () => resolve({ ok: false, detail: abortDetail(signal) }));
    });
  }
  settle(ok: boolean) {
    this.calls.at(-1)!.resolve({ ok });
  }
}

/** A check answering at once with the next scripted result (repeating the last). */
function scripted(results: boolean[], clock: FakeClock) {
  const at: number[] = [];
  const check: Check = {
    async run() {
      at.push(clock.now());
      return { ok: results.length > 1 ? results.shift()! : results[0] };
    },
  };
  return { check, at };
}

function loop(clock: FakeClock, check: Check, extra: Partial<CheckLoopOptions> = {}) {
  const seen: { result: CheckResult; state: HysteresisState }[] = [];
  const l = new CheckLoop({
    key: 'web:8080:http',
    check,
    clock,
    intervalMs: 1000,
    timeoutMs: 300,
    rise: 2,
    fall: 2,
    onResult: (result, state) => seen.push({ result, state }),
    ...extra,
  });
  return { l, seen };
}

/** Advance in small steps, flushing promise callbacks between them. */
test('phase groups: up to 50 checks of one interval share a phase; more open evenly spaced ones', () => {
  const g = new PhaseGroups(50);
  const first = Array.from({ length: 50 }, () => g.join(1000));
  assert.deepEqual(new Set(first), new Set([0]), 'the first 50 share phase 0');
  assert.equal(g.join(1000), 500, 'the 51st opens the middle of the largest gap');
  for (let i = 0; i < 49; i++) g.join(1000);
  assert.equal(g.join(1000), 250, 'then the middle of the next largest gap');
  assert.equal(g.join(2000), 0, 'another interval has its own groups');
  g.leave(1000, 500);
  assert.equal(g.join(1000), 500, 'a place left in a group is taken again first');
});

test('loops of one interval probe in the same wake-up; later probes exactly one interval apart', async () => {
  const clock = new FakeClock();
  const timers = new CheckTimers(clock, { resolutionMs: 50 });
  const runs = Array.from({ length: 5 }, () => scripted([true], clock));
  const loops = runs.map((r, i) => loop(clock, r.check, { key: `s${i}`, timers }).l);
  clock.advance(123); // started at an arbitrary time: the first probe waits for the phase
  for (const l of loops) l.start();
  await advance(clock, 20_000);
  for (const l of loops) l.stop();
  for (const r of runs) assert.deepEqual(r.at, runs[0].at, 'every loop probes at the same times');
  assert.equal(runs[0].at[0], 1000, 'the first probe at the next phase (0 mod 1000)');
  const gaps = runs[0].at.slice(1).map((t, i) => t - runs[0].at[i]);
  assert.ok(gaps.every((g) => g === 1000), `gaps: ${gaps}`);
});

test('results go through rise/fall and onResult sees the transitions', async () => {
  const clock = new FakeClock();
  const { check } = scripted([true, true, true, false, false, false], clock);
  const { l, seen } = loop(clock, check, {});
  l.start();
  await advance(clock, 5500);
  l.stop();
  assert.deepEqual(
    seen.map((s) => [s.result.ok, s.state.passing, s.state.changed]),
    [
      [true, false, false],
      [true, true, true],
      [true, true, false],
      [false, true, false],
      [false, false, true],
      [false, false, false],
    ],
  );
  assert.equal(l.passing, false);
});

test('probes never overlap: a slow probe delays the next one', async () => {
  const clock = new FakeClock();
  const check = new ManualCheck(clock);
  const { l, seen } = loop(clock, check, { timeoutMs: 60_000, key: 'k' });
  l.start();
  await advance(clock, 5500);
  assert.equal(check.calls.length, 1, 'still waiting for the first probe');
  check.settle(true);
  await flush();
  assert.equal(seen.length, 1);
  // the next one was due long ago: it comes at the loop's next phase, keeping its group
  await advance(clock, 10);
  assert.equal(check.calls.length, 1);
  await advance(clock, 1000);
  assert.equal(check.calls.length, 2);
  assert.equal(check.calls[1].at, 6000, 'in phase');
  l.stop();
});

test('a probe is aborted at the timeout and fails with the timeout as detail', async () => {
  const clock = new FakeClock();
  const check = new ManualCheck(clock);
  const { l, seen } = loop(clock, check, { timeoutMs: 300, initialPassing: true, fall: 1 });
  l.start();
  await advance(clock, 300);
  assert.equal(check.calls.length, 1);
  assert.equal(check.calls[0].signal.aborted, true);
  assert.deepEqual(seen[0].result, { ok: false, detail: 'timed out after 300 ms' });
  assert.deepEqual(seen[0].state, { passing: false, changed: true });
  l.stop();
});

test('a check that ignores its abort is given up on after a grace period', async () => {
  const clock = new FakeClock();
  const check = new ManualCheck(clock, false);
  const { l, seen } = loop(clock, check, { timeoutMs: 300 });
  l.start();
  await advance(clock, 300);
  assert.equal(seen.length, 0, 'grace period not over yet');
  await advance(clock, 1000);
  assert.equal(seen.length, 1);
  assert.match(seen[0].result.detail!, /timed out after 300 ms \(check ignored the abort\)/);
  check.calls[0].resolve({ ok: true }); // late: ignored
  await flush();
  assert.equal(seen.length, 1);
  l.stop();
});

test('a check that throws or rejects only fails its probe', async () => {
  const clock = new FakeClock();
  let n = 0;
  const check: Check = {
    run() {
      if (n++ % 2) throw new Error('sync boom');
      return Promise.reject(new Error('async boom'));
    },
  };
  const { l, seen } = loop(clock, check, {});
  l.start();
  await advance(clock, 1500);
  l.stop();
  assert.deepEqual(
    seen.map((s) => s.result),
    [
      { ok: false, detail: 'check threw: async boom' },
      { ok: false, detail: 'check threw: sync boom' },
    ],
  );
});

test('stop aborts the probe in flight, drops its result and schedules nothing more', async () => {
  const clock = new FakeClock();
  const check = new ManualCheck(clock);
  const { l, seen } = loop(clock, check);
  l.start();
  await advance(clock, 100);
  assert.equal(check.calls.length, 1);
  l.stop();
  assert.equal(check.calls[0].signal.aborted, true);
  await advance(clock, 10_000);
  assert.equal(check.calls.length, 1);
  assert.equal(seen.length, 0);
});

test('reconfigure: a new interval re-times the pending wait; rise/fall keep the state', async () => {
  const clock = new FakeClock();
  const { check, at } = scripted([true], clock);
  const { l } = loop(clock, check, { rise: 1 });
  l.start();
  await advance(clock, 990);
  assert.equal(at.length, 1);
  assert.equal(l.passing, true);
  l.reconfigure({ intervalMs: 5000, rise: 3, fall: 3 });
  assert.equal(l.passing, true);
  const from = at[0];
  await advance(clock, from + 4990 - clock.now());
  assert.equal(at.length, 1, 'old 1 s interval no longer applies');
  await advance(clock, 20);
  assert.deepEqual(at, [from, from + 5000]);
  assert.throws(() => l.reconfigure({ timeoutMs: 0 }), RangeError);
  l.stop();
});

test('onResult throwing does not stop the loop', async () => {
  const clock = new FakeClock();
  const { check, at } = scripted([true], clock);
  const l = new CheckLoop({
    key: 'x', check, clock, intervalMs: 1000, timeoutMs: 100, rise: 1, fall: 1,
    onResult: () => {
      throw new Error('handler bug');
    },
  });
  l.start();
  await advance(clock, 3000);
  l.stop();
  assert.ok(at.length >= 2, `kept probing: ${at.length}`);
});

test('a signal is kept for as long as its check leaves at most one listener on it; a check that leaks one per probe gets a fresh signal every 32 probes', async () => {
  const clock = new FakeClock();
  const probe = (leak: boolean) => {
    const signals: AbortSignal[] = [];
    let kept = false;
    const check: Check = {
      async run(signal) {
        signals.push(signal);
        const onAbort = () => {};
        if (leak) signal.addEventListener('abort', onAbort);
        else if (!kept) (signal.addEventListener('abort', onAbort), (kept = true)); // one, kept (as the http check does)
        return { ok: true };
      },
    };
    return { check, signals };
  };
  const tidy = probe(false);
  const leaky = probe(true);
  const loops = [loop(clock, tidy.check, { key: 'tidy' }), loop(clock, leaky.check, { key: 'leaky' })];
  for (const { l } of loops) l.start();
  await advance(clock, 100_500, 100);
  for (const { l } of loops) l.stop();
  assert.ok(tidy.signals.length >= 100 && leaky.signals.length >= 100, `probed: ${tidy.signals.length}, ${leaky.signals.length}`);
  assert.equal(new Set(tidy.signals).size, 1, 'one signal for 100 probes');
  const distinct = new Set(leaky.signals);
  assert.ok(distinct.size >= 3 && distinct.size <= 5, `a fresh signal every 32 probes: ${distinct.size} for ${leaky.signals.length}`);
  for (const sig of distinct) assert.ok(getEventListeners(sig, 'abort').length <= 32, 'the leak is bounded');
});

test('signals are reused while unaborted; after a timeout the next probe gets a fresh one', async () => {
  const clock = new FakeClock();
  const check = new ManualCheck(clock);
  const { l, seen } = loop(clock, check, { key: 'k', timeoutMs: 300 });
  l.start();
  await advance(clock, 10); // the first probe at phase 0
  check.settle(true);
  await advance(clock, 1000);
  check.settle(true);
  assert.equal(check.calls.length, 2);
  assert.equal(check.calls[1].signal, check.calls[0].signal, 'one signal for consecutive probes');
  await advance(clock, 1000 + 300); // third probe times out
  assert.equal(check.calls[2].signal.aborted, true);
  await advance(clock, 1000 - 300 + 10); // into the fourth probe, before its own deadline
  assert.equal(check.calls.length, 4);
  assert.notEqual(check.calls[3].signal, check.calls[2].signal);
  assert.equal(check.calls[3].signal.aborted, false, 'a timeout does not doom the probes after it');
  check.settle(true);
  await flush();
  assert.deepEqual(seen.map((s) => s.result.ok), [true, true, false, true]);
  l.stop();
});

test('loops sharing one timer queue: probes of one slot run together; stopping one leaves the other', async () => {
  const clock = new FakeClock();
  const timers = new CheckTimers(clock, { resolutionMs: 5 });
  const a = scripted([true], clock);
  const b = scripted([true], clock);
  const la = loop(clock, a.check, { key: 'a', timers }).l;
  const lb = loop(clock, b.check, { key: 'b', timers }).l;
  la.start();
  lb.start();
  await advance(clock, 3000, 1);
  for (const at of [...a.at, ...b.at]) assert.equal(at % 5, 0, `probe at ${at} is on a 5 ms slot`);
  assert.deepEqual(a.at, b.at, 'one phase group: probed together');
  assert.deepEqual(a.at, [0, 1000, 2000, 3000]);
  la.stop();
  const [na, nb] = [a.at.length, b.at.length];
  await advance(clock, 2990, 1);
  assert.equal(a.at.length, na, 'the stopped loop probes no more');
  assert.equal(b.at.length, nb + 2, 'the other loop goes on');
  lb.stop();
});

test('a loop on a coarse timer queue is late by at most 5% of its own interval and timeout', async () => {
  const clock = new FakeClock();
  const timers = new CheckTimers(clock, { resolutionMs: 50 });
  const fast = scripted([true], clock);
  const lf = loop(clock, fast.check, { key: 'fast', timers, intervalMs: 110, timeoutMs: 40 }).l;
  lf.start();
  await advance(clock, 1000, 1);
  lf.stop();
  assert.ok(fast.at.length >= 8, `about one probe per 110 ms: ${fast.at.length}`);
  // each probe is due one interval after the last was due: never early, at most 5.5 ms late
  for (let i = 1; i < fast.at.length; i++) {
    const late = fast.at[i] - (fast.at[0] + i * 110);
    assert.ok(late >= 0 && late <= 6, `probe ${i} at ${fast.at[i]} is ${late} ms late (interval 110, slack 5.5)`);
  }
  // a deadline is held to its own 5%: a 40 ms timeout fires within 2 ms, not at the next 50 ms slot
  const slow = new ManualCheck(clock);
  const ls = loop(clock, slow, { key: 'slow', timers, intervalMs: 1000, timeoutMs: 40 }).l;
  ls.start();
  for (let i = 0; i < 1100 && slow.calls.length === 0; i++) await advance(clock, 1, 1);
  assert.equal(slow.calls.length, 1, 'one probe started');
  const { at: started, signal } = slow.calls[0];
  let abortedAt = -1;
  signal.addEventListener('abort', () => (abortedAt = clock.now()));
  for (let i = 0; i < 100 && abortedAt < 0; i++) await advance(clock, 1, 1);
  const late = abortedAt - (started + 40);
  assert.ok(late >= 0 && late <= 3, `the 40 ms deadline fired ${late} ms late`);
  ls.stop();
});

test('on a coarse timer queue the probe rate is the interval\'s: lateness does not add up', async () => {
  const clock = new FakeClock();
  const timers = new CheckTimers(clock, { resolutionMs: 50 });
  const { check, at } = scripted([true], clock);
  const l = loop(clock, check, { key: 'rate', timers }).l; // 1 s interval
  l.start();
  await advance(clock, 200_000, 50);
  l.stop();
  // measured from each start, every wait ended up to a 50 ms slot late: ~195 probes
  assert.ok(at.length >= 199 && at.length <= 201, `one probe a second over 200 s: ${at.length}`);
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  assert.ok(Math.min(...gaps) >= 950 && Math.max(...gaps) <= 1050, `gaps within a slot: ${Math.min(...gaps)}..${Math.max(...gaps)}`);
});

test('on a deferring timer queue, an answer read before the deferred run beats a deadline already past', async () => {
  const clock = new FakeClock();
  const runs: (() => void)[] = [];
  const timers = new CheckTimers(clock, { defer: (run) => void runs.push(run) });
  const check = new ManualCheck(clock);
  const { l, seen } = loop(clock, check, { timers, timeoutMs: 300, fall: 1, initialPassing: true });
  l.start();
  clock.advance(0);
  runs.shift()!(); // the first probe, due at once
  assert.equal(check.calls.length, 1);
  // the process was kept off the CPU past the deadline: the clock timer fires late...
  clock.advance(500);
  assert.equal(runs.length, 1, 'the deadline waits for the deferred run');
  // ...and the poll phase before the deferred run reads the answer that was waiting
  check.settle(true);
  await flush();
  runs.shift()!();
  assert.equal(check.calls[0].signal.aborted, false, 'not aborted');
  assert.deepEqual(seen.map((s) => s.result), [{ ok: true }], 'the answer counts, no timeout');
  l.stop();
});
