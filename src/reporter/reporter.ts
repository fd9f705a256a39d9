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
import type { Discovery } from '../core/plugin.js';
import { nodeName, type ServiceNode } from '../core/node.js';
import type { ConfigSnapshot } from '../config/store.js';
import type { ServiceConfig } from '../config/schema.js';
import { ServiceInstance } from './instance.js';
import type { Identity } from './identity.js';

export interface ReporterOptions {
  registry: Registry;
  logger: Logger;
  clock: Clock;
  identity: Identity;
}

interface DiscoveryEntry {
  config: unknown;
  discovery: Discovery;
  started: Promise<void>;
}

export class Reporter {
  private readonly discoveries = new Map<string, DiscoveryEntry>();
  private readonly instances = new Map<string, ServiceInstance>();
  private readonly log: Logger;
  private identity: Identity;

  constructor(private readonly opts: ReporterOptions) {
    this.log = opts.logger.child({ component: 'reporter' });
    this.identity = opts.identity;
  }

  /** Apply a config snapshot: discovery connections first, then instances. */
  async apply(snap: ConfigSnapshot): Promise<void> {
    await this.applyDiscoveries(snap);
    const wanted = new Map<string, ServiceConfig>();
    for (const svc of snap.services.values()) for (const port of svc.ports) wanted.set(key(svc.name, port), svc);

    for (const [k, inst] of this.instances) {
      const svc = wanted.get(k);
      if (svc && isDeepStrictEqual(inst.service, svc)) continue;
      inst.stop();
      this.instances.delete(k);
      if (svc) {
        // changed: rebuild, inheriting the up/down state so an edit causes no blip
        this.spawn(svc, inst.port, inst.up);
        if (inst.up) this.publish(svc, inst.port, true); // new metadata / weight
      } else {
        this.log.info({ service: inst.service.name, port: inst.port }, 'instance removed from config');
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
    await Promise.all([...this.discoveries.values()].map((d) => d.discovery.stop().catch((err) => this.log.error({ err }, 'discovery stop failed'))));
    this.discoveries.clear();
  }

  private spawn(svc: ServiceConfig, port: number, initialUp: boolean): void {
    const inst = new ServiceInstance({
      service: svc,
      port,
      registry: this.opts.registry,
      logger: this.log,
      clock: this.opts.clock,
      initialUp,
      onChange: (up) => this.publish(svc, port, up),
    });
    this.instances.set(key(svc.name, port), inst);
    inst.start();
  }

  private publish(svc: ServiceConfig, port: number, up: boolean): void {
    const entry = this.discoveries.get(svc.discovery);
    if (!entry) {
      this.log.warn({ service: svc.name }, `service refers to discovery '${svc.discovery}' which is not configured; not published`);
      return;
    }
    const node = this.node(svc, port);
    const op = up ? entry.discovery.register(svc.name, node) : entry.discovery.unregister(svc.name, node);
    op.catch((err) => this.log.error({ err, service: svc.name, node: node.name }, `could not ${up ? 'register' : 'unregister'} instance`));
  }

  private node(svc: ServiceConfig, port: number): ServiceNode {
    const { host, ip, peer } = this.identity;
    return { name: nodeName(host, port), host, ip, port, peer, metadata: svc.metadata, weight: svc.weight };
  }

  private async applyDiscoveries(snap: ConfigSnapshot): Promise<void> {
    for (const [name, entry] of this.discoveries) {
      const config = snap.discovery.get(name);
      if (config !== undefined && isDeepStrictEqual(config, entry.config)) continue;
      this.log.info({ discovery: name }, config === undefined ? 'discovery removed' : 'discovery config changed: reconnecting');
      this.discoveries.delete(name);
      await entry.discovery.stop().catch((err) => this.log.error({ err }, 'discovery stop failed'));
    }
    for (const [name, config] of snap.discovery) {
      if (this.discoveries.has(name)) continue;
      const plugin = this.opts.registry.discovery.get(name)!;
      const discovery = plugin.create(config, { logger: this.opts.logger, clock: this.opts.clock });
      const started = discovery.start().catch((err) => this.log.error({ err, discovery: name }, 'discovery not connected yet; retrying in the background'));
      this.discoveries.set(name, { config, discovery, started });
      // instances that are up re-register through the new connection
      for (const inst of this.instances.values()) if (inst.up && inst.service.discovery === name) this.publish(inst.service, inst.port, true);
    }
  }
}

function key(service: string, port: number): string {
  return `${service}:${port}`;
}
