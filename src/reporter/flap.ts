/**
 * Flap damping: at most `maxChanges` published state changes of one instance per `windowMs`.
 * Going down is always immediate (never keep a failing instance in rotation); going up while
 * the budget is spent is held until the oldest change leaves the window, so a flapping instance
 * ends up held down instead of bouncing every consumer's HAProxy.
 */
import type { Clock } from '../core/clock.js';

export class FlapDamper {
  private changes: number[] = [];
  constructor(
    private maxChanges: number,
    private windowMs: number,
    private readonly clock: Clock,
  ) {}

  reconfigure(maxChanges: number, windowMs: number): void {
    this.maxChanges = maxChanges;
    this.windowMs = windowMs;
  }

  /** 0 if a change to `up` may be published now, else ms until it may. Down: always 0. */
  delayFor(up: boolean): number {
    if (!up) return 0;
    const now = this.clock.now();
    this.changes = this.changes.filter((t) => now - t < this.windowMs);
    if (this.changes.length < this.maxChanges) return 0;
    return this.changes[this.changes.length - this.maxChanges] + this.windowMs - now;
  }

  record(): void {
    this.changes.push(this.clock.now());
  }
}
