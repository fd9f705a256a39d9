/**
 * The liveness timer of the HAProxy balancer: every `liveness_interval` the balancer's check
 * runs (a dead HAProxy started again, a worker someone else reloaded converged), and once more
 * at once when the runtime connection drops. A failed check is logged, never thrown: the next
 * one tries again.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../../core/clock.js';

export class LivenessTimer {
  private timer: { cancel(): void } | null = null;
  private on = false;

  constructor(
    private readonly clock: Clock,
    /** 0: no timer (the check still runs before every apply) */
    private readonly intervalMs: number,
    private readonly check: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.on = true;
    this.arm();
  }

  stop(): void {
    this.on = false;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Run the check now. */
  now(): Promise<void> {
    return this.check().then(
      () => {},
      (err) => this.log.error({ err }, `HAProxy liveness check failed: ${(err as Error).message}`),
    );
  }

  private arm(): void {
    if (!this.intervalMs || !this.on) return;
    this.timer = this.clock.setTimeout(() => void this.now().finally(() => this.arm()), this.intervalMs);
  }
}
