/**
 * The notifier of one daemon: observations in, confirmed transitions out to every configured
 * backend's queue. Configured from notify.yaml through the config store (`configure` with each
 * loaded config: backends are rebuilt only when their config changes). Without notify.yaml nothing
 * is counted, queued or loaded.
 *
 * Metrics read it without touching this code: `stats()` gives counters per backend, and the
 * notifier emits 'sent' (backend, notification), 'failed' (backend, notification, error) and
 * 'dropped' (backend, notification) as they happen.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { createBackend } from './backends.js';
import { Confirmations } from './confirm.js';
import { DeliveryQueue, type DeliveryStats } from './queue.js';
import type { NotifyConfig } from './schema.js';
import { StateFile } from './state.js';
import type { Notification } from './types.js';

export interface NotifierOptions {
  daemon: Notification['daemon'];
  /** this node's name in notifications */
  node: string;
  logger: Logger;
  clock: Clock;
  /** default directory of the state file; default $LIGHTHOUSE_STATE_DIR or /var/lib/lighthouse */
  stateDir?: string;
}

/** What is observed: a subject (unique key) and what the notification says about it. */
export interface Subject {
  key: string;
  kind: Notification['kind'];
  service: string;
  port?: number;
}

export class Notifier extends EventEmitter {
  private readonly log: Logger;
  private config: NotifyConfig | undefined;
  private queues: DeliveryQueue[] = [];
  private confirm = new Confirmations();
  private state: StateFile | null = null;
  private loading: Promise<void> = Promise.resolve();

  constructor(private readonly opts: NotifierOptions) {
    super();
    this.log = opts.logger.child({ component: 'notify' });
  }

  get enabled(): boolean {
    return this.config !== undefined && this.config.backends.length > 0;
  }

  /** Apply notify.yaml (undefined: no file, notifications off). Resolves once the state file is read. */
  configure(config: NotifyConfig | undefined): Promise<void> {
    if (isDeepStrictEqual(config, this.config)) return this.loading;
    const before = this.config;
    this.config = config;
    const delivery = (c?: NotifyConfig) => c && { backends: c.backends, size: c.queue_size, attempts: c.max_attempts, timeout: c.timeout };
    if (!isDeepStrictEqual(delivery(config), delivery(before))) {
      for (const q of this.queues) void q.close();
      this.queues = (config?.backends ?? []).map((b, i) => new DeliveryQueue(createBackend(b, i), this.queueOptions(config!)));
      if (config?.backends.length) this.log.info({ backends: this.queues.map((q) => q.backend.name) }, 'notifications on');
    }
    const path = config ? (config.state_file ?? join(this.opts.stateDir ?? process.env.LIGHTHOUSE_STATE_DIR ?? '/var/lib/lighthouse', `notify-${this.opts.daemon}.json`)) : null;
    if (path !== this.state?.path) {
      this.state = path ? new StateFile(path, this.log) : null;
      const state = this.state;
      this.loading = (state ? state.load() : Promise.resolve(new Map<string, string>())).then((known) => {
        this.confirm = new Confirmations(known);
      });
    }
    return this.loading;
  }

  /** One observation of `subject` in `state`. `required` overrides retries_before_notify
   * (1: notify at once, for events such as a failed reload). */
  observe(subject: Subject, state: string, detail?: string, required?: number): void {
    if (!this.enabled) return;
    const c = this.confirm.observe(subject.key, state, required ?? this.config!.retries_before_notify);
    if (!c) return;
    void this.state?.save(this.confirm.notified());
    if (c.from === c.to) return; // a new subject's first state: recorded, nothing changed
    const n: Notification = {
      daemon: this.opts.daemon,
      kind: subject.kind,
      service: subject.service,
      node: this.opts.node,
      ...(subject.port !== undefined ? { port: subject.port } : {}),
      from: c.from,
      to: c.to,
      ...(detail ? { detail } : {}),
      time: new Date().toISOString(),
    };
    this.log.info({ service: n.service, port: n.port, from: n.from, to: n.to }, `notifying: ${n.kind} ${n.service} ${n.from} -> ${n.to}`);
    for (const q of this.queues) q.push(n);
  }

  /** A change of `key` waits for confirmation. */
  pending(key: string): boolean {
    return this.confirm.pending(key);
  }

  /** The subject is gone (removed from the config): forget it, and its state. */
  forget(key: string): void {
    this.confirm.forget(key);
    if (this.enabled) void this.state?.save(this.confirm.notified());
  }

  /** Counters per backend ("webhook 1": {...}). */
  stats(): Record<string, DeliveryStats> {
    return Object.fromEntries(this.queues.map((q) => [q.backend.name, { ...q.stats }]));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
    this.queues = [];
  }

  private queueOptions(c: NotifyConfig) {
    return {
      size: c.queue_size,
      maxAttempts: c.max_attempts,
      timeoutMs: c.timeout * 1000,
      clock: this.opts.clock,
      log: this.log,
      events: {
        sent: (b: string, n: Notification) => this.emit('sent', b, n),
        failed: (b: string, n: Notification, e: Error) => this.emit('failed', b, n, e),
        dropped: (b: string, n: Notification) => this.emit('dropped', b, n),
      },
    };
  }
}
