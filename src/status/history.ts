/**
 * What the writer's status shows beyond its members: when each cluster last changed and the
 * last reloads. Fed by the writer's observer interface, next to notifications and metrics.
 */
import type { Clock } from '../core/clock.js';
import type { WriterObserver } from '../writer/observer.js';

const KEPT = 20;

export class WriterHistory implements WriterObserver {
  readonly changed = new Map<string, number>();
  readonly reloads: { at: string; balancer: string; reason: string | null; seconds: number }[] = [];

  constructor(private readonly clock: Clock) {}

  members(cluster: string): void {
    this.changed.set(cluster, this.clock.now());
  }

  removed(cluster: string): void {
    this.changed.delete(cluster);
  }

  applied(balancer: string, o: { reloaded: boolean; reloadReason?: string; ms: number }): void {
    if (!o.reloaded) return;
    this.reloads.unshift({ at: new Date(this.clock.now()).toISOString(), balancer, reason: o.reloadReason ?? null, seconds: o.ms / 1000 });
    this.reloads.length = Math.min(this.reloads.length, KEPT);
  }

  applyFailed(): void {}
}
