/**
 * The reporter: services/*.yaml -> one ServiceInstance per (service, port) -> availability
 * override -> publish healthy instances through their discovery plugin. Loaded configs are
 * applied by diffing: an unchanged instance keeps running untouched (a live edit adding a port
 * disturbs nothing else); a changed one is rebuilt and inherits its predecessor's up/down state.
 * Every publication goes through `publish`, which applies the availability effect (up, drain,
 * withdraw) of the instance's service: a healthy instance of a disabled node is published as
 * draining from its first znode on, never as up first.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import { DiscoveryPool } from '../discovery/pool.js';
import { nodeName, type ServiceNode } from '../core/node.js';
import type { LoadedConfig } from '../config/store.js';
import type { ServiceConfig } from '../config/schema.js';
import { CheckTimers } from '../checks/timers.js';
import { ServiceInstance } from './instance.js';
import type { Identity } from '../config/node-identity.js';
import type { NodeRecord } from '../core/node-record.js';

/** What the availability state asks of a healthy instance of `service` (src/control/). */
export interface AvailabilityView {
  effectFor(service: string): 'up' | 'drain' | 'withdraw';
}
import type { InstanceObserver } from './observer.js';
import type { DiscoveryObserver } from '../core/plugin.js';

export interface ReporterOptions {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  identity: Identity;
  /** check wake-ups are rounded up to multiples of this (ms): probes due in one slot run in one
   * wake-up; default CHECK_TIMER_RESOLUTION_MS */
  checkTimerResolutionMs?: number;
  /** the availability override; without one every healthy instance is published up */
  availability?: AvailabilityView;
  /** told of every instance's state at each probe round (notifications), and of probes,
   * changes and flap holds (metrics) */
  observer?: InstanceObserver;
  /** metrics: discovery session and watch events */
  discoveryObserver?: DiscoveryObserver;
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
  private record: NodeRecord | null = null;

  constructor(private readonly opts: ReporterOptions) {
    this.log = opts.logger.child({ component: 'reporter' });
    this.identity = opts.identity;
    this.pool = new DiscoveryPool(opts);
    // deadlines are judged after the replies already in are read (see CheckTimers.fire)
    this.timers = new CheckTimers(opts.clock, { resolutionMs: opts.checkTimerResolutionMs ?? CHECK_TIMER_RESOLUTION_MS, defer: setImmediate });
  }

  /** Apply a loaded config: discovery connections first, then instances. */
  async apply(cfg: LoadedConfig): Promise<void> {
    // instances that are up re-register through a new or replaced connection
    for (const name of await this.pool.apply(cfg.discovery)) {
      for (const inst of this.instances.values()) if (inst.up && inst.service.discovery === name) this.publish(inst.service, inst.port, true);
      this.publishRecord(name);
    }
    const wanted = new Map<string, ServiceConfig>();
    for (const svc of cfg.services.values()) for (const port of svc.ports) wanted.set(key(svc.name, port), svc);

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
    for (const svc of cfg.services.values()) for (const port of svc.ports) if (!this.instances.has(key(svc.name, port))) this.spawn(svc, port, false);
  }

  /** Publish every healthy instance as the availability state says now (after a change of
   * state). Resolves true once discovery has taken every change, false if some failed (they
   * are retried by discovery). */
  async reassess(): Promise<boolean> {
    const ops = [...this.instances.values()].filter((i) => i.up).map((i) => this.publish(i.service, i.port, true));
    return (await Promise.all(ops)).every(Boolean);
  }

  /** This node's inventory record (actions): published through every discovery that keeps
   * one, now and on every new or replaced connection; null takes it away. */
  setNodeRecord(record: NodeRecord | null): void {
    if (isDeepStrictEqual(record, this.record)) return;
    this.record = record;
    for (const [name] of this.pool.all()) this.publishRecord(name);
  }

  private publishRecord(discovery: string): void {
    const d = this.pool.get(discovery);
    if (!d?.publishNode) return;
    d.publishNode(this.record).catch((err) => this.log.warn({ err, discovery }, 'node inventory record not published yet; retrying'));
  }

  /** Everything this reporter runs, for status and tests. */
  status(): { service: string; port: number; up: boolean; lastUp: boolean | null; since: number; held: boolean; roles: readonly string[]; checks: ReturnType<ServiceInstance['checks']> }[] {
    return [...this.instances.values()].map((i) => ({ service: i.service.name, port: i.port, up: i.up, lastUp: i.lastUp, since: i.since, held: i.flapHeld, roles: i.service.roles ?? [], checks: i.checks() }));
  }

  /** the discovery connections' sessions (readiness, metrics) */
  sessions(): { discovery: string; connected: boolean }[] {
    return this.pool.sessions();
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
      onChange: (up) => void this.publish(svc, port, up),
      onObserve: this.opts.observer && ((up, detail) => this.opts.observer!.observed({ service: svc.name, port, up, detail })),
      ...(this.opts.observer && { observer: this.opts.observer }),
    });
    this.instances.set(key(svc.name, port), inst);
    inst.start();
  }

  /** `healthy`: the instance's checks pass. Resolves false if discovery did not take it. */
  private publish(svc: ServiceConfig, port: number, healthy: boolean): Promise<boolean> {
    const discovery = this.pool.get(svc.discovery);
    if (!discovery) {
      this.log.warn({ service: svc.name }, `service refers to discovery '${svc.discovery}' which is not configured; not published`);
      return Promise.resolve(false);
    }
    const effect = healthy ? (this.opts.availability?.effectFor(svc.name) ?? 'up') : 'withdraw';
    const node = this.node(svc, port, effect === 'drain');
    const op = effect === 'withdraw' ? discovery.unregister(svc.name, node) : discovery.register(svc.name, node);
    return op.then(
      () => true,
      (err) => {
        this.log.error({ err, service: svc.name, node: node.name }, `could not ${effect === 'withdraw' ? 'unregister' : 'register'} instance`);
        return false;
      },
    );
  }

  private node(svc: ServiceConfig, port: number, drain: boolean): ServiceNode {
    const { host, ip, peer } = this.identity;
    return { name: nodeName(host, port), host, ip, port, peer, metadata: svc.metadata, weight: svc.weight, ...(drain && { state: 'drain' as const }) };
  }
}

function key(service: string, port: number): string {
  return `${service}:${port}`;
}
