/**
 * One backend's delivery queue: bounded, one delivery at a time, retries with backoff.
 * Nothing here ever blocks the caller: `push` only appends (dropping the oldest waiting
 * notification when full, counted), and deliveries run on their own timers, so a dead
 * webhook costs the checks and the writer nothing but a few timers.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Backend, Notification } from './types.js';

/** Counters per backend, read by metrics (issue: notifications sent/failed). */
export interface DeliveryStats {
  /** delivered */
  sent: number;
  /** given up on after max_attempts */
  failed: number;
  /** dropped from a full queue */
  dropped: number;
  /** delivery attempts that failed (each retry counts) */
  attemptsFailed: number;
  /** waiting now */
  queued: number;
}

export interface QueueEvents {
  sent(backend: string, n: Notification): void;
  failed(backend: string, n: Notification, err: Error): void;
  dropped(backend: string, n: Notification): void;
}

export interface QueueOptions {
  size: number;
  maxAttempts: number;
  timeoutMs: number;
  clock: Clock;
  log: Logger;
  events: QueueEvents;
}

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

export class DeliveryQueue {
  readonly stats: DeliveryStats = { sent: 0, failed: 0, dropped: 0, attemptsFailed: 0, queued: 0 };
  private readonly items: Notification[] = [];
  private attempt = 0;
  private busy = false;
  private timer: { cancel(): void } | null = null;
  private closed = false;

  constructor(
    readonly backend: Backend,
    private readonly opts: QueueOptions,
  ) {}

  push(n: Notification): void {
    if (this.closed) return;
    if (this.items.length >= this.opts.size) {
      // the oldest goes: the newest state is what a reader acts on
      const old = this.items.shift()!;
      if (this.busy || this.timer) this.attempt = 0;
      this.stats.dropped++;
      this.opts.log.warn({ backend: this.backend.name, service: old.service }, 'notification queue full: oldest notification dropped');
      this.opts.events.dropped(this.backend.name, old);
    }
    this.items.push(n);
    this.stats.queued = this.items.length;
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    await this.backend.close?.();
  }

  private pump(): void {
    if (this.busy || this.timer || this.closed || this.items.length === 0) return;
    this.busy = true;
    const n = this.items[0];
    const ac = new AbortController();
    const deadline = this.opts.clock.setTimeout(() => ac.abort(new Error('timed out')), this.opts.timeoutMs);
    let sending: Promise<void>;
    try {
      sending = this.backend.send(n, ac.signal);
    } catch (err) {
      sending = Promise.reject(err);
    }
    sending.then(
      () => this.settle(n, deadline, null),
      (err: unknown) => this.settle(n, deadline, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private settle(n: Notification, deadline: { cancel(): void }, err: Error | null): void {
    deadline.cancel();
    this.busy = false;
    if (this.closed) return;
    // the item may have been dropped from a full queue while it was being sent
    const head = this.items[0] === n;
    if (!err) {
      if (head) this.items.shift();
      this.attempt = 0;
      this.stats.sent++;
      this.opts.events.sent(this.backend.name, n);
    } else {
      this.stats.attemptsFailed++;
      if (!head) this.attempt = 0;
      else if (++this.attempt >= this.opts.maxAttempts) {
        this.items.shift();
        this.attempt = 0;
        this.stats.failed++;
        this.opts.log.error({ backend: this.backend.name, service: n.service, err: err.message }, `notification not delivered after ${this.opts.maxAttempts} attempts: ${err.message}`);
        this.opts.events.failed(this.backend.name, n, err);
      } else {
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.attempt - 1));
        this.opts.log.warn({ backend: this.backend.name, service: n.service, retryInMs: delay, err: err.message }, `notification delivery failed: ${err.message}`);
        this.stats.queued = this.items.length;
        this.timer = this.opts.clock.setTimeout(() => {
          this.timer = null;
          this.pump();
        }, delay);
        return;
      }
    }
    this.stats.queued = this.items.length;
    this.pump();
  }
}
