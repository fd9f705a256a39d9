/**
 * The notifier as the daemons' observer: the reporter's instances (up / down), the writer's
 * clusters (serving / empty: a cluster it serves dropped to zero nodes or came back) and
 * balancers (ok / failing: an apply, such as a reload, failed; notified at once, and again
 * when one succeeds). A cluster's state changes only on ZooKeeper events, so while a change
 * waits for confirmation the writer side looks again once a second: retries_before_notify
 * is then a number of seconds, and nothing ticks while nothing is pending.
 */
import type { Clock } from '../core/clock.js';
import type { InstanceObserver } from '../reporter/observer.js';
import type { WriterObserver } from '../writer/observer.js';
import type { Notifier, Subject } from './notifier.js';

export function reporterObserver(notifier: Notifier): InstanceObserver {
  const subject = (service: string, port: number): Subject => ({ key: `instance:${service}:${port}`, kind: 'instance', service, port });
  return {
    observed: (o) => notifier.observe(subject(o.service, o.port), o.up ? 'up' : 'down', o.detail),
    removed: (service, port) => notifier.forget(subject(service, port).key),
  };
}

const CLUSTER_LOOK_MS = 1000;

export function writerObserver(notifier: Notifier, clock: Clock): WriterObserver {
  const sizes = new Map<string, number>();
  const subject = (cluster: string): Subject => ({ key: `cluster:${cluster}`, kind: 'cluster', service: cluster });
  const balancer = (name: string): Subject => ({ key: `balancer:${name}`, kind: 'balancer', service: name });
  let ticker: { cancel(): void } | null = null;
  const look = (cluster: string) => {
    const n = sizes.get(cluster)!;
    notifier.observe(subject(cluster), n > 0 ? 'serving' : 'empty', n > 0 ? `${n} node(s)` : 'no node left');
  };
  const tick = () => {
    ticker = null;
    const pending = [...sizes.keys()].filter((c) => notifier.pending(subject(c).key));
    for (const c of pending) look(c);
    arm();
  };
  const arm = () => {
    if (!ticker && [...sizes.keys()].some((c) => notifier.pending(subject(c).key))) ticker = clock.setTimeout(tick, CLUSTER_LOOK_MS);
  };
  return {
    members(cluster, count) {
      sizes.set(cluster, count);
      look(cluster);
      arm();
    },
    removed(cluster) {
      sizes.delete(cluster);
      notifier.forget(subject(cluster).key);
    },
    applied: (name) => notifier.observe(balancer(name), 'ok', undefined, 1),
    applyFailed: (name, err) => notifier.observe(balancer(name), 'failing', err.message, 1),
  };
}
