/**
 * The reporter: services/*.yaml -> one ServiceInstance per (service, port) -> publish healthy
 * instances through their discovery plugin. Config snapshots are applied by diffing: an
 * unchanged instance keeps running untouched (a live edit adding a port disturbs nothing
 * else); a changed one is rebuilt and inherits its predecessor's up/down state.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import { DiscoveryPool } from '../discovery/pool.js';
import { nodeName, type ServiceNode } from '../core/node.js';
import type { ConfigSnapshot } from '../config/store.js';
import type { ServiceConfig } from '../config/schema.js';
import { CheckTimers } from '../checks/timers.js';
import { ServiceInstance } from './instance.js';
import type { Identity } from './identity.js';
import type { InstanceObserver } from './observer.js';

export interface ReporterOptions {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  identity: Identity;
  /** check wake-ups are rounded up to multiples of this (ms): probes due in one slot run in one
   * wake-up; default CHECK_TIMER_RESOLUTION_MS */
  checkTimerResolutionMs?: number;
  /** told of every instance's state at each probe round (notifications) */
  observer?: InstanceObserver;
}

/** A probe may start up to this much late (and never more than 5% of its interval late): next to
 * intervals of a second or more, nothing; the wake-ups it saves are most of the reporter's CPU
 * that is not a socket's (see timers.ts). */
export const CHECK_TIMER_RESOLUTION_MS = 50;

export class Reporter {
  private readonly pool: DiscoveryPool;
  private readonly instances = new Map<string, ServiceInstance>();
  private readonly log: Logger;
  private identity: Identity;
  /** one timer queue for every check loop of this reporter */
  private readonly timers: CheckTimers;

  constructor(private readonly opts: ReporterOptions) {
    this.log = opts.logger.child({ component: 'reporter' });
    this.identity = opts.identity;
    this.pool = new DiscoveryPool(opts);
    this.timers = new CheckTimers(opts.clock, { resolutionMs: opts.checkTimerResolutionMs ?? CHECK_TIMER_RESOLUTION_MS });
  }

  /** Apply a config snapshot: discovery connections first, then instances. */
  async apply(snap: ConfigSnapshot): Promise<void> {
    // instances that are up re-register through a new or replaced connection
    for (const name of await this.pool.apply(snap.discovery))
      for (const inst of this.instances.values()) if (inst.up && inst.service.discovery === name) this.publish(inst.service, inst.port, true);
    const wanted = new Map<string, ServiceConfig>();
    for (const svc of snap.services.values()) for (const port of svc.ports) wanted.set(key(svc.name, port), svc);

    for (const [k, inst] of [...this.instances]) {
      const svc = wanted.get(k);
      if (svc && isDeepStrictEqual(inst.service, svc)) continue;
      inst.stop();
      this.instances.delete(k);
      if (svc) {
        // changed: rebuild, inheriting the up/down state so an edit causes no blip
        if (inst.up && inst.service.discovery !== svc.discovery) this.publish(inst.service, inst.port, false);
        this.spawn(svc, inst.port, inst.up);
        if (inst.up) this.publish(svc, inst.port, true); // new metadata / weight
      } else {
        this.log.info({ service: inst.service.name, port: inst.port }, 'instance removed from config');
        this.opts.observer?.removed(inst.service.name, inst.port);
        if (inst.up) this.publish(inst.service, inst.port, false);
      }
    }
    for (const svc of snap.services.values()) for (const port of svc.ports) if (!this.instances.has(key(svc.name, port))) this.spawn(svc, port, false);
  }

  /** Everything this reporter runs, for status and tests. */
  status(): { service: string; port: number; up: boolean; checks: ReturnType<ServiceInstance['checks']> }[] {
    return [...this.instances.values()].map((i) => ({ service: i.service.name, port: i.port, up: i.up, checks: i.checks() }));
  }

  /** Stop checks, then remove every own znode and close sessions (SIGTERM). */
  async stop(): Promise<void> {
    for (const inst of this.instances.values()) inst.stop();
    this.instances.clear();
    this.timers.clear();
    await this.pool.stop();
  }

  private spawn(svc: ServiceConfig, port: number, initialUp: boolean): void {
    const inst = new ServiceInstance({
      service: svc,
      port,
      registry: this.opts.registry,
      logger: this.log,
      clock: this.opts.clock,
      timers: this.timers,
      initialUp,
      onChange: (up) => this.publish(svc, port, up),
      onObserve: this.opts.observer && ((up, detail) => this.opts.observer!.observed({ service: svc.name, port, up, detail })),
    });
    this.instances.set(key(svc.name, port), inst);
    inst.start();
  }

  private publish(svc: ServiceConfig, port: number, up: boolean): void {
    const discovery = this.pool.get(svc.discovery);
    if (!discovery) {
      this.log.warn({ service: svc.name }, `service refers to discovery '${svc.discovery}' which is not configured; not published`);
      return;
    }
    const node = this.node(svc, port);
    const op = up ? discovery.register(svc.name, node) : discovery.unregister(svc.name, node);
    op.catch((err) => this.log.error({ err, service: svc.name, node: node.name }, `could not ${up ? 'register' : 'unregister'} instance`));
  }

  private node(svc: ServiceConfig, port: number): ServiceNode {
    const { host, ip, peer } = this.identity;
    return { name: nodeName(host, port), host, ip, port, peer, metadata: svc.metadata, weight: svc.weight };
  }
}

function key(service: string, port: number): string {
  return `${service}:${port}`;
}
