/**
 * Failed logins per source address: past MAX_FAILURES within FAILURE_WINDOW_MS an address is
 * refused (429) until its window passes, whatever it presents, so passwords cannot be guessed
 * at the rate scrypt allows. Bounded: past MAX_TRACKED addresses the oldest is forgotten.
 */
import type { Clock } from '../core/clock.js';

export const MAX_FAILURES = 10;
export const FAILURE_WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

export class LoginLimit {
  /** count and when the window began, per address */
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly clock: Clock) {}

  limited(from: string): boolean {
    const f = this.failures.get(from);
    if (!f) return false;
    if (this.clock.now() - f.since > FAILURE_WINDOW_MS) {
      this.failures.delete(from);
      return false;
    }
    return f.count >= MAX_FAILURES;
  }

  failed(from: string): void {
    const now = this.clock.now();
    const f = this.failures.get(from);
    if (f && now - f.since <= FAILURE_WINDOW_MS) return void f.count++;
    this.failures.delete(from);
    if (this.failures.size >= MAX_TRACKED) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(from, { count: 1, since: now });
  }
}
