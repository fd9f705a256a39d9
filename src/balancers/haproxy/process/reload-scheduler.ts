/**
 * Rate limit and coalescing of reloads (synapse's `restart_interval`): reloads start at least
 * `intervalMs` apart; every request made while one waits shares it. A request made while a
 * reload runs gets the next one (that reload may have read the config before the request's
 * write). `request()` resolves when a reload started after the request has finished.
 */
import type { Clock } from '../../../core/clock.js';

interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class ReloadScheduler {
  private lastStart = -Infinity;
  private running = false;
  private waiting: Waiter | null = null;
  private timer: { cancel(): void } | null = null;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock,
    private readonly run: () => Promise<void>,
  ) {}

  /** true while a reload is waiting for its turn or running */
  get busy(): boolean {
    return this.running || this.waiting !== null;
  }

  request(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('reload scheduler closed'));
    if (this.waiting) return this.waiting.promise;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.waiting = { promise, resolve, reject };
    this.schedule(); // may start it right away (and clear `waiting`)
    return promise;
  }

  /** Accept requests again after `close()` (a balancer started again). */
  open(): void {
    this.closed = false;
  }

  /** Cancel a waiting reload; its requesters' promises reject. A running one completes. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    const w = this.waiting;
    this.waiting = null;
    w?.promise.catch(() => {});
    w?.reject(new Error('reload cancelled: balancer stopped'));
  }

  private schedule(): void {
    if (this.running || this.timer || !this.waiting) return;
    const wait = this.lastStart + this.intervalMs - this.clock.now();
    if (wait <= 0) void this.fire();
    else
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        void this.fire();
      }, wait);
  }

  private async fire(): Promise<void> {
    const w = this.waiting;
    if (!w || this.closed) return;
    this.waiting = null;
    this.running = true;
    this.lastStart = this.clock.now();
    try {
      await this.run();
      w.resolve();
    } catch (err) {
      w.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
