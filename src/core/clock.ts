/** Time comes in through deps so unit tests can drive it (no module-level state). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A shared grid for wake-ups that may come early. Waking an idle process costs about what the
 * work it wakes for does, so a process with several reasons to wake (a reporter's probes, its
 * ZooKeeper pings) spends less when they share wake-ups. Checks probe on whole seconds (phase
 * 0 of an interval of whole seconds, phases.ts), so a timer with room to fire early fires on
 * the last whole second of its window.
 */
export const WAKE_GRID_MS = 1000;

/** The latest multiple of WAKE_GRID_MS in [earliest, at], else `at` itself. */
export function onWakeGrid(at: number, earliest: number): number {
  const grid = Math.floor(at / WAKE_GRID_MS) * WAKE_GRID_MS;
  return grid >= earliest ? grid : at;
}

/** A manual clock for unit tests: time moves only when `advance` is called. */
export class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.timers.push({ at: this.t + Math.max(0, ms), fn, id });
    return { cancel: () => void (this.timers = this.timers.filter((x) => x.id !== id)) };
  }
  /** Run every timer due within `ms`, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
