import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../../../src/core/clock.js';
import { ReloadScheduler } from '../../../../../src/balancers/haproxy/process/reload-scheduler.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('reload scheduler', () => {
  it('reloads at once, then at most once per interval, coalescing requests', async () => {
    const clock = new FakeClock();
    const starts: number[] = [];
    const s = new ReloadScheduler(2000, clock, async () => void starts.push(clock.now()));
    await s.request();
    assert.deepEqual(starts, [0]);
    clock.advance(500);
    let done = 0;
    const waiting = [s.request(), s.request(), s.request()].map((p) => p.then(() => done++));
    await tick();
    assert.deepEqual(starts, [0], 'waits for the interval');
    clock.advance(1499);
    await tick();
    assert.equal(starts.length, 1);
    clock.advance(1);
    await Promise.all(waiting);
    assert.deepEqual(starts, [0, 2000], 'three requests, one reload');
    assert.equal(done, 3);
  });

  it('a request made while a reload runs gets the next one', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    let runs = 0;
    const s = new ReloadScheduler(0, clock, () => {
      runs++;
      return runs === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    const first = s.request();
    await tick();
    const second = s.request();
    assert.notEqual(first, second);
    release();
    await first;
    await second;
    assert.equal(runs, 2);
  });

  it('a failed reload rejects its requesters; close() cancels a waiting one', async () => {
    const clock = new FakeClock();
    const s = new ReloadScheduler(1000, clock, async () => {
      throw new Error('boom');
    });
    await assert.rejects(s.request(), /boom/);
    const waiting = s.request();
    s.close();
    await assert.rejects(waiting, /cancelled/);
  });
});
