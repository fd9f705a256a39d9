/**
 * The writer's wait at start: the first apply waits until every cluster has sent its first
 * member list, bounded.
 *
 * Why wait: applying as clusters trickle in means one structure per arrival, each a full
 * render, `haproxy -c` and (rate-limited) reload, which at a thousand clusters adds up to
 * many of them (bench/writer-process-scale.ts). Waiting for all (ZooKeeper answers quickly)
 * makes it one. Bounded, so a
 * discovery that does not answer never holds HAProxy back: past the wait the clusters known
 * are applied and the others join as they come.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

/** how long the first apply waits for every cluster's first member list, by default (ms) */
export const STARTUP_WAIT_MS = 5_000;
/** past the wait it goes on while first member lists keep arriving (a large deployment still
 * loading), each extending it this long, up to STARTUP_WAIT_MAX_MS */
const STARTUP_PROGRESS_MS = 1_000;
const STARTUP_WAIT_MAX_MS = 30_000;

export interface StartupWaitOptions {
  clock: Clock;
  log: Logger;
  /** default STARTUP_WAIT_MS */
  waitMs?: number;
  /** called when the wait may be over (the writer then flushes and asks `holding` again) */
  wake: () => void;
}

export class StartupWait {
  /** when the wait began; null before the first config and once it is over */
  private began: number | null = null;
  private done = false;
  /** when the last cluster sent its first member list */
  private lastFirstHeard = 0;
  private timer: { cancel(): void } | null = null;

  constructor(private readonly opts: StartupWaitOptions) {}

  private get waitMs(): number {
    return this.opts.waitMs ?? STARTUP_WAIT_MS;
  }

  /** The first config arrived: the wait begins (once per writer). */
  begin(): void {
    if (this.began !== null || this.done) return;
    this.began = this.opts.clock.now();
    this.timer = this.opts.clock.setTimeout(this.opts.wake, this.waitMs);
  }

  /** A cluster sent its first member list. */
  heardFirst(): void {
    if (this.began !== null) this.lastFirstHeard = this.opts.clock.now();
  }

  /** Still waiting, given the clusters not heard from yet? Past the wait those are named in a
   * warning and the wait is over for good. */
  holding(unheard: () => string[]): boolean {
    if (this.began === null) return false;
    const missing = unheard();
    const now = this.opts.clock.now();
    const deadline = this.began + this.waitMs;
    const until = Math.min(this.began + STARTUP_WAIT_MAX_MS, Math.max(deadline, this.lastFirstHeard + STARTUP_PROGRESS_MS));
    if (missing.length && now < until) {
      // always armed again for what is left: a timer may fire a little early (Node's timers
      // work in whole milliseconds), and a wait nobody wakes again never ends
      this.timer?.cancel();
      this.timer = this.opts.clock.setTimeout(this.opts.wake, Math.max(1, Math.ceil(until - now)));
      return true;
    }
    if (missing.length) this.opts.log.warn({ clusters: missing.slice(0, 10), count: missing.length }, `no member list yet from ${missing.length} clusters after ${Math.round(now - this.began)} ms: applying the others; these keep what the balancer serves for them until they are heard`);
    this.cancel();
    return false;
  }

  cancel(): void {
    this.began = null;
    this.done = true;
    this.timer?.cancel();
  }
}
