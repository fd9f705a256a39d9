/**
 * Moving a FakeClock in unit tests. `flush` lets promise callbacks run after the clock fired
 * timers (not a sleep: no time passes); `advance` moves the clock in steps, flushing after
 * each, so code that awaits between timers sees time move as it would.
 */
import type { FakeClock } from '../../src/core/clock.js';

export const flush = () => new Promise<void>((r) => setImmediate(r));

export async function advance(clock: FakeClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}
