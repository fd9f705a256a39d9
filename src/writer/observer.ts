/**
 * What the writer tells an observer (notifications, status, metrics): how many members each
 * cluster has after every member list that changed them, a cluster leaving the config, and each
 * balancer apply (a reload among them) that succeeded, with what it did, or failed.
 */
import type { ApplyResult } from '../core/plugin.js';

/** what an apply did, and how long it took (ms) */
export type ApplyOutcome = ApplyResult & { ms: number };

export interface WriterObserver {
  members(cluster: string, count: number): void;
  removed(cluster: string): void;
  applied(balancer: string, outcome: ApplyOutcome): void;
  applyFailed(balancer: string, err: Error): void;
}
