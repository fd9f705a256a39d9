/**
 * The discovery connections a daemon holds: one per discovery/*.yaml, created from its plugin,
 * replaced when its config changes, stopped when its file goes away. Shared by the reporter
 * (publishing) and the writer (watching).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { Discovery, DiscoveryObserver, SessionEvent } from '../core/plugin.js';

interface Entry {
  config: unknown;
  discovery: Discovery;
}

export class DiscoveryPool {
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;

  constructor(private readonly opts: { registry: Registry; logger: Logger; clock: Clock; discoveryObserver?: DiscoveryObserver }) {
    this.log = opts.logger.child({ component: 'discovery' });
  }

  get(name: string): Discovery | undefined {
    return this.entries.get(name)?.discovery;
  }

  /** every connection, by discovery name */
  all(): [string, Discovery][] {
    return [...this.entries].map(([name, e]) => [name, e.discovery]);
  }

  /** Bring connections in line with `configs`; returns the names that are new or replaced. */
  async apply(configs: ReadonlyMap<string, unknown>): Promise<string[]> {
    const fresh: string[] = [];
    for (const [name, entry] of this.entries) {
      const config = configs.get(name);
      if (config !== undefined && isDeepStrictEqual(config, entry.config)) continue;
      this.log.info({ discovery: name }, config === undefined ? 'discovery removed' : 'discovery config changed: reconnecting');
      this.entries.delete(name);
      await entry.discovery.stop().catch((err) => this.log.error({ err, discovery: name }, 'discovery stop failed'));
    }
    for (const [name, config] of configs) {
      if (this.entries.has(name)) continue;
      const plugin = this.opts.registry.discovery.get(name)!;
      const o = this.opts.discoveryObserver;
      const events = o && { sessionEvent: (e: SessionEvent) => o.sessionEvent(name, e), watchEvent: () => o.watchEvent(name) };
      const discovery = plugin.create(config, { logger: this.opts.logger, clock: this.opts.clock, ...(events && { events }) });
      this.entries.set(name, { config, discovery });
      void discovery.start().catch((err) => this.log.error({ err, discovery: name }, 'discovery not connected yet; retrying in the background'));
      fresh.push(name);
    }
    return fresh;
  }

  /** every connection and whether its session is usable (readiness, metrics) */
  sessions(): { discovery: string; connected: boolean }[] {
    return [...this.entries].map(([discovery, e]) => ({ discovery, connected: e.discovery.connected }));
  }

  async stop(): Promise<void> {
    const all = [...this.entries.entries()];
    this.entries.clear();
    await Promise.all(all.map(([name, e]) => e.discovery.stop().catch((err) => this.log.error({ err, discovery: name }, 'discovery stop failed'))));
  }
}
