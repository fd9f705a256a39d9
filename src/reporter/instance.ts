/**
 * One instance of a local service: a service on one port. Runs every configured check in its
 * own loop (shared rise/fall hysteresis), is up only while every check passes, and passes state
 * changes through flap damping before they reach discovery.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { CheckResult } from '../core/plugin.js';
import type { ServiceConfig } from '../config/schema.js';
import { CheckLoop } from '../checks/scheduler.js';
import type { CheckTimers } from '../checks/timers.js';
import { FlapDamper } from './flap.js';
import type { InstanceObserver } from './observer.js';

export interface InstanceOptions {
  service: ServiceConfig;
  port: number;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** the reporter's timer queue, shared by every check loop */
  timers?: CheckTimers;
  /** state to start from: a reconfigured instance inherits the old one's, a new one starts down */
  initialUp: boolean;
  onChange(up: boolean): void;
  /** each probe round (of the first check) once the state is known: see observer.ts */
  onObserve?(up: boolean, detail: string | undefined): void;
  /** metrics: every probe, published change and flap hold */
  observer?: InstanceObserver;
}

export interface CheckStatus {
  name: string;
  passing: boolean;
  last?: CheckResult;
  /** when the last result came (clock ms) and how long its probe took */
  at?: number;
  ms?: number;
  /** failed probes in a row */
  fails: number;
}

export class ServiceInstance {
  readonly port: number;
  readonly service: ServiceConfig;
  private readonly loops: { name: string; loop: CheckLoop; close?: () => void; last?: CheckResult; failedWith?: string; at?: number; ms?: number; fails: number }[] = [];
  private readonly damper: FlapDamper;
  private readonly log: Logger;
  private held?: { cancel(): void };
  /** why the instance is not registered, as last logged (null while up, or not said yet) */
  private why: string | null = null;
  private stopped = false;
  /** a probe failed since start: a down state is then known, not just the start-up default */
  private seenFailure = false;
  /** the state published (after damping) */
  up: boolean;
  /** when `up` last changed (clock ms; the instance's start if it never did) */
  since: number;
  /** the state before the last change (null: none yet) */
  lastUp: boolean | null = null;
  /** a change held back by flap damping */
  get flapHeld(): boolean {
    return this.held !== undefined;
  }

  constructor(private readonly opts: InstanceOptions) {
    this.port = opts.port;
    this.service = opts.service;
    this.up = opts.initialUp;
    this.since = opts.clock.now();
    this.log = opts.logger.child({ service: opts.service.name, port: opts.port });
    this.damper = new FlapDamper(opts.service.flap.maxChanges, opts.service.flap.windowMs, opts.clock);
    const s = opts.service;
    for (const [index, c] of s.checks.entries()) {
      const plugin = opts.registry.checks.get(c.name)!;
      const check = plugin.create(c.options, { host: s.host, port: opts.port }, { logger: this.log, clock: opts.clock });
      const entry: (typeof this.loops)[number] = { name: c.name, loop: undefined as unknown as CheckLoop, close: check.close?.bind(check), fails: 0 };
      entry.loop = new CheckLoop({
        check,
        key: `${s.name}:${opts.port}:${c.name}`,
        intervalMs: s.intervalMs,
        timeoutMs: c.timeoutMs,
        rise: c.rise,
        fall: c.fall,
        initialPassing: opts.initialUp,
        clock: opts.clock,
        timers: opts.timers,
        onResult: (result, state, ms) => {
          entry.last = result;
          entry.at = opts.clock.now();
          entry.ms = ms;
          entry.fails = result.ok ? 0 : entry.fails + 1;
          opts.observer?.probed?.(s.name, opts.port, c.name, result.ok, ms);
          if (!result.ok) {
            this.seenFailure = true;
            // why it fails, once per reason (a check that never passed has no transition to log)
            if (result.detail !== entry.failedWith) this.log.debug({ check: c.name, detail: result.detail }, `check ${c.name} failed`);
          }
          entry.failedWith = result.ok ? undefined : result.detail;
          if (state.changed) {
            this.log.info({ check: c.name, detail: result.detail }, `check ${c.name} ${state.passing ? 'passing' : 'failing'}`);
            this.evaluate();
          }
          if (!result.ok && !this.up) this.explain();
          if (index === 0) this.observe();
        },
      });
      this.loops.push(entry);
    }
  }

  start(): void {
    for (const l of this.loops) l.loop.start();
  }

  stop(): void {
    this.stopped = true;
    this.held?.cancel();
    for (const l of this.loops) {
      l.loop.stop();
      l.close?.();
    }
  }

  checks(): CheckStatus[] {
    return this.loops.map((l) => ({ name: l.name, passing: l.loop.passing, last: l.last, at: l.at, ms: l.ms, fails: l.fails }));
  }

  private observe(): void {
    if (this.stopped || !this.opts.onObserve || !(this.up || this.seenFailure || this.opts.initialUp)) return;
    const failing = this.up ? undefined : this.loops.find((l) => l.last && !l.last.ok)?.last?.detail;
    this.opts.onObserve(this.up, failing);
  }

  private evaluate(): void {
    if (this.stopped) return;
    const want = this.loops.every((l) => l.loop.passing);
    if (want === this.up) {
      this.held?.cancel();
      this.held = undefined;
      return;
    }
    const delay = this.damper.delayFor(want);
    if (delay > 0) {
      if (!this.held) {
        this.log.warn({ holdMs: Math.round(delay) }, 'instance is flapping: held down by flap damping');
        this.opts.observer?.held?.(this.service.name, this.port);
        this.held = this.opts.clock.setTimeout(() => {
          this.held = undefined;
          this.evaluate();
        }, delay);
      }
      return;
    }
    this.damper.record();
    this.lastUp = this.up;
    this.up = want;
    this.since = this.opts.clock.now();
    this.opts.observer?.changed?.(this.service.name, this.port, want);
    this.log.info(`instance ${want ? 'up' : 'down'}`);
    this.why = want ? null : this.reason();
    this.opts.onChange(want);
  }

  /** A check that never passes (a hang, no reply, the wrong protocol) flips nothing, so
   * without this line the operator would never learn why the instance stays unregistered:
   * said once per reason, not per probe. */
  private explain(): void {
    const why = this.reason();
    if (why === null || why === this.why) return;
    this.why = why;
    this.log.info({ reason: why }, `instance not registered: ${why}`);
  }

  /** the first check (in config order) whose last probe failed, and its detail */
  private reason(): string | null {
    const failing = this.loops.find((l) => l.last && !l.last.ok);
    return failing ? `check ${failing.name} failing: ${failing.last!.detail ?? 'no detail'}` : null;
  }
}
