/**
 * One timer queue shared by every CheckLoop of a reporter.
 *
 * Why not a Node timer per wait: each loop would arm two timers per probe (the wait for the
 * next one and the deadline of the current one), and Node's timer lists (one list per distinct
 * jittered delay, kept in a priority queue and a dictionary keyed by the delay) then were a
 * large share of the reporter's CPU and garbage (bench/reporter-checks.ts), and a timer firing
 * at its own millisecond woke the process once per probe.
 *
 * Here a loop puts (due time, itself) into one binary heap, and one clock timer is armed for
 * the earliest entry. Each entry's time is rounded up to a slot: a multiple of `resolutionMs`,
 * or of the entry's own `slackMs` where that is smaller (a loop with a short interval asks for
 * less lateness). Probes due within the same slot run in one wake-up, and their replies tend
 * to arrive together too. A wait may end up to a slot late, never early. With `resolutionMs` 0
 * every entry fires at its exact time (unit tests).
 *
 * Fewer, fuller wake-ups are the cheapest thing a reporter can do for its CPU: each one costs
 * an epoll wait, timer processing and cold caches. Coarser slots cost less CPU; how much is
 * measured by bench/reporter-checks.ts.
 *
 * Nothing is allocated per schedule: the heap lives in parallel arrays that are reused.
 * Cancelling is lazy: each schedule returns a token, the target remembers its latest one and
 * ignores a call with any other; a stale entry is dropped when it comes due, or before, when
 * the queue arms its clock timer and the target says it no longer waits for it. The second is
 * what lets an idle reporter sleep: every probe leaves its deadline behind when it answers,
 * and at a few probes a second those deadlines were as many wake-ups as the probes.
 *
 * The slots merge wake-ups of loops whose due times happen to be close; phase groups
 * (phases.ts) make loops with the same interval due at the same time on purpose.
 */
import type { Clock } from '../core/clock.js';
import { PhaseGroups } from './phases.js';

export interface TimerTarget {
  /** `token` is what `schedule` returned; the target ignores tokens it no longer waits for. */
  onTimer(token: number): void;
  /** Whether the target still waits for `token`. Optional: with it, an entry the target gave
   * up on (the deadline of a probe that already answered) is dropped before the queue arms a
   * clock timer for it, instead of waking the process for nothing. */
  waits?(token: number): boolean;
}

export interface CheckTimersOptions {
  /** wake-ups are rounded up to multiples of this many ms (at most); default 0 (exact) */
  resolutionMs?: number;
  /** runs the entries of a wake-up: `setImmediate` in a reporter (see `fire`); default at once */
  defer?: (run: () => void) => void;
}

export class CheckTimers {
  private readonly clock: Clock;
  private readonly resolutionMs: number;
  // the heap, as parallel arrays: entry k is (slots[k], ats[k], targets[k], tokens[k]), where
  // slots is when it fires (its time rounded up) and ats the time it asked for (the order within a slot)
  private readonly slots: number[] = [];
  private readonly ats: number[] = [];
  private readonly targets: TimerTarget[] = [];
  private readonly tokens: number[] = [];
  private size = 0;
  private lastToken = 0;
  private armed: { cancel(): void } | null = null;
  /** the slot time the armed clock timer was set for */
  private armedAt = Infinity;
  /** a wake-up's entries are being run, or are about to be (deferred): do not arm a timer */
  private firing = false;
  private readonly defer: ((run: () => void) => void) | null;
  /** which loops of this queue probe together (see phases.ts) */
  readonly phases = new PhaseGroups();

  constructor(clock: Clock, opts: CheckTimersOptions = {}) {
    this.clock = clock;
    this.resolutionMs = opts.resolutionMs ?? 0;
    this.defer = opts.defer ?? null;
  }

  get now(): number {
    return this.clock.now();
  }

  /** Call `target.onTimer(token)` at clock time `at`, or up to min(resolutionMs, slackMs) later. */
  schedule(target: TimerTarget, at: number, slackMs = Infinity): number {
    const token = ++this.lastToken;
    this.push(this.slot(at, Math.min(this.resolutionMs, slackMs)), at, target, token);
    if (!this.firing) this.arm(token);
    return token;
  }

  /** Drop every entry and the clock timer (nothing is due any more: the reporter stopped). */
  clear(): void {
    this.armed?.cancel();
    this.armed = null;
    this.armedAt = Infinity;
    this.targets.fill(undefined as unknown as TimerTarget, 0, this.size);
    this.size = 0;
  }

  private slot(at: number, r: number): number {
    return r > 0 ? Math.ceil(at / r) * r : at;
  }

  /** `fresh`: the token being returned to its target, which cannot know it yet */
  private arm(fresh = 0): void {
    while (this.size > 0 && this.tokens[0] !== fresh && this.targets[0].waits?.(this.tokens[0]) === false) this.pop();
    if (this.size === 0) {
      this.armed?.cancel();
      this.armed = null;
      this.armedAt = Infinity;
      return;
    }
    const at = this.slots[0];
    // armed earlier than the first entry: for entries just dropped, so re-armed, not woken for
    if (this.armed && this.armedAt === at) return;
    this.armed?.cancel();
    this.armedAt = at;
    this.armed = this.clock.setTimeout(this.fire, Math.max(0, at - this.clock.now()));
  }

  /**
   * A wake-up first lets the replies that are already in (the poll phase) be read, then runs
   * its entries (with `defer` = setImmediate). Node runs expired timers before it polls for
   * I/O: a process that was kept off the CPU past a probe's deadline would otherwise time out
   * the probe whose answer has been waiting in its socket all along, and on a loaded machine
   * that is most of a burst of probes, each then paying a new connection.
   */
  private readonly fire = (): void => {
    this.armed = null;
    this.firing = true;
    if (this.defer) this.defer(this.runDue);
    else this.runDue();
  };

  private readonly runDue = (): void => {
    // a Node timer can fire a little before our clock reaches its slot (its loop time is
    // cached): what the timer was armed for is due, whatever now() says
    const limit = Math.max(this.clock.now(), this.armedAt);
    const last = this.lastToken; // entries added while firing wait for the next wake-up
    this.armedAt = Infinity;
    try {
      while (this.size > 0 && this.slots[0] <= limit && this.tokens[0] <= last) {
        const target = this.targets[0];
        const token = this.tokens[0];
        this.pop();
        target.onTimer(token);
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  };

  /** whether heap entry k comes before (slot, at): by slot, then by due time within a slot */
  private before(k: number, slot: number, at: number): boolean {
    const d = this.slots[k];
    return d < slot || (d === slot && this.ats[k] <= at);
  }

  private move(to: number, from: number): void {
    this.slots[to] = this.slots[from];
    this.ats[to] = this.ats[from];
    this.targets[to] = this.targets[from];
    this.tokens[to] = this.tokens[from];
  }

  private put(k: number, slot: number, at: number, target: TimerTarget, token: number): void {
    this.slots[k] = slot;
    this.ats[k] = at;
    this.targets[k] = target;
    this.tokens[k] = token;
  }

  private push(slot: number, at: number, target: TimerTarget, token: number): void {
    let k = this.size++;
    // sift up: move parents down until the place for the new entry is found
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (this.before(p, slot, at)) break;
      this.move(k, p);
      k = p;
    }
    this.put(k, slot, at, target, token);
  }

  private pop(): void {
    const n = --this.size;
    const slot = this.slots[n];
    const at = this.ats[n];
    const target = this.targets[n];
    const token = this.tokens[n];
    this.targets[n] = undefined as unknown as TimerTarget; // do not keep a stopped loop alive
    if (n === 0) return;
    // sift down the last entry from the root
    let k = 0;
    for (;;) {
      let c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(c + 1, this.slots[c], this.ats[c])) c++;
      if (!this.before(c, slot, at)) break;
      this.move(k, c);
      k = c;
    }
    this.put(k, slot, at, target, token);
  }
}
