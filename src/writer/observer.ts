/**
 * What the writer tells an observer (notifications, later status and metrics): how many
 * members each cluster has after every member list, a cluster leaving the config, and each
 * balancer apply (a reload among them) that succeeded or failed.
 */
export interface WriterObserver {
  members(cluster: string, count: number): void;
  removed(cluster: string): void;
  applied(balancer: string): void;
  applyFailed(balancer: string, err: Error): void;
}
