/**
 * CheckLoop: runs one Check forever, feeding a Hysteresis.
 *
 * - Phase: loops with the same interval probe together, in phase groups of up to 50 (see
 *   phases.ts): a node's few checks cost one wake-up per interval, not one each, and many
 *   checks are spread over evenly spaced groups. The first probe comes at the group's next
 *   phase, within one interval of the start.
 * - Never overlapping: the next probe is scheduled only after the current one settles, one
 *   interval after the current one was *due*; a slow probe delays the next, never doubles it.
 *   Counted from when it was due, not from when it started: the timer queue may start a
 *   probe up to 5% of the interval late (below), and counted from the start that lateness
 *   would add up, fewer probes than the interval says, and the loop would drift out of its
 *   group. A probe that settles after its
 *   successor was due (a check that ignored its abort) skips to the group's next phase.
 * - Timeout: the probe's AbortSignal fires after `timeoutMs` (timers come from the injected
 *   Clock). A check that ignores its signal is given up on after a grace period, so one
 *   misbehaving plugin cannot stall its loop forever; its late result is ignored.
 *
 * - Signals are reused from probe to probe until one is aborted (see signal()). Reuse is an
 *   optimisation, not a contract a check must know of: one that adds an abort listener per
 *   probe and never removes it gets a fresh signal every 32 probes, so its leak is bounded.
 * - Waits, deadlines and grace periods go through a CheckTimers queue (timers.ts), shared by
 *   every loop of a reporter: one clock timer for all of them instead of two Node timers per
 *   probe. A loop waits for at most one entry at a time; `token` says which. Each wait may end
 *   up to 5% of its length late, so that the queue can run many in one wake-up.
 *
 * The loop does not own the Check: whoever created it calls `check.close()`.
 */
import { getEventListeners, setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Check, CheckResult } from '../core/plugin.js';
import { errorDetail } from './detail.js';
import { Hysteresis, type HysteresisState } from './hysteresis.js';
import { CheckTimers, type TimerTarget } from './timers.js';
import { nextInPhase } from './phases.js';

export interface CheckTiming {
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

export interface CheckLoopOptions extends CheckTiming {
  /** identity of this check in logs (e.g. "web:8080:http") */
  key: string;
  check: Check;
  clock: Clock;
  /** `ms`: how long the probe took (metrics) */
  onResult(result: CheckResult, state: HysteresisState, ms: number): void;
  /** start passing (e.g. a reconfigured check taking over from a passing one); default false */
  initialPassing?: boolean;
  logger?: Logger;
  /** the reporter's shared timer queue; default a queue of this loop's own on `clock` */
  timers?: CheckTimers;
}

/** A wait may end this share of its length late (the timer queue rounds it up to a shared slot,
 * at most the queue's resolution): with a 1 s interval, up to 50 ms. */
const SLACK = 0.05;

/** How long after aborting we still wait for a check that ignores its signal. */
const ABORT_GRACE_MS = 1000;

/** Every this many probes on one signal, its abort listeners are counted (see signal()). */
const LEAK_CHECK_EVERY = 32;

/** A controller whose signal may carry one listener per probe until the next count without
 * Node's listener-leak warning: a check written for a fresh signal per probe is bounded, not
 * a leak. */
function freshController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(LEAK_CHECK_EVERY + 1, controller.signal);
  return controller;
}

function assertTiming(t: CheckTiming): void {
  if (!(t.intervalMs > 0)) throw new RangeError(`check intervalMs must be > 0, got ${t.intervalMs}`);
  if (!(t.timeoutMs > 0)) throw new RangeError(`check timeoutMs must be > 0, got ${t.timeoutMs}`);
}

/** what the one pending timer entry of a loop means when it fires */
const enum Wait {
  Next,
  Deadline,
  Grace,
}

export class CheckLoop implements TimerTarget {
  private readonly opts: CheckLoopOptions;
  private timing: CheckTiming;
  private readonly hysteresis: Hysteresis;
  private readonly timers: CheckTimers;
  private readonly ownTimers: boolean;
  /** token of the timer entry this loop waits for (0 = none) and what it is for */
  private token = 0;
  private waitFor = Wait.Next;
  private controller = freshController();
  private signalInUse: AbortSignal = this.controller.signal;
  /** whether `controller` was aborted (known here: only this loop aborts it) */
  private aborted = false;
  private probesOnController = 0;
  private running = false;
  /** number of the probe in flight (0 = none): results and timers of other probes are stale */
  private inflight = 0;
  private seq = 0;
  /** when the probe in flight started (its duration goes to onResult) */
  private probeStarted = 0;
  /** the timeout of the probe in flight, for its failure detail */
  private inflightTimeoutMs = 0;
  /** when the last probe was due, and when the pending one is due */
  private anchor = 0;
  private dueAt = 0;
  private firstTick = true;
  /** this loop's phase group (see phases.ts), while running */
  private phase = 0;
  private lastResult: CheckResult | null = null;

  constructor(opts: CheckLoopOptions) {
    this.timing = { intervalMs: opts.intervalMs, timeoutMs: opts.timeoutMs, rise: opts.rise, fall: opts.fall };
    assertTiming(this.timing);
    this.opts = opts;
    this.hysteresis = new Hysteresis(opts.rise, opts.fall, opts.initialPassing ?? false);
    this.ownTimers = !opts.timers;
    this.timers = opts.timers ?? new CheckTimers(opts.clock);
  }

  get passing(): boolean {
    return this.hysteresis.passing;
  }

  get last(): CheckResult | null {
    return this.lastResult;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.firstTick = true;
    this.phase = this.timers.phases.join(this.timing.intervalMs);
    this.scheduleNext();
  }

  /** Stops probing; an in-flight probe is aborted and its result dropped. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.token = 0;
    this.timers.phases.leave(this.timing.intervalMs, this.phase);
    // a queue of our own holds nothing else: do not let its clock timer outlive the loop
    if (this.ownTimers) this.timers.clear();
    if (this.inflight) {
      this.inflight = 0;
      this.abort(new Error('check stopped'));
    }
  }

  /** New timing applies from now: a pending wait is re-measured against the new interval, a
   * running probe keeps its timeout, rise/fall apply to the next result. */
  reconfigure(t: Partial<CheckTiming>): void {
    const next = { ...this.timing, ...t };
    assertTiming(next);
    this.hysteresis.reconfigure(next.rise, next.fall);
    const intervalChanged = next.intervalMs !== this.timing.intervalMs;
    if (intervalChanged && this.running) {
      this.timers.phases.leave(this.timing.intervalMs, this.phase);
      this.phase = this.timers.phases.join(next.intervalMs);
    }
    this.timing = next;
    if (intervalChanged && this.token && !this.inflight) {
      this.firstTick = true; // into the new group's phase
      this.scheduleNext();
    }
  }

  waits(token: number): boolean {
    return token === this.token;
  }

  /** The timer queue calls this; only the latest entry counts. */
  onTimer(token: number): void {
    if (token !== this.token) return;
    this.token = 0;
    if (this.waitFor === Wait.Next) this.probe();
    else if (this.waitFor === Wait.Deadline) this.onDeadline();
    else this.settle(this.inflight, { ok: false, detail: `timed out after ${this.inflightTimeoutMs} ms (check ignored the abort)` });
  }

  /** `spanMs`: the length of the wait's period (interval, timeout); it may end 5% of that late */
  private wait(kind: Wait, at: number, spanMs: number): void {
    this.waitFor = kind;
    this.token = this.timers.schedule(this, at, spanMs * SLACK);
  }

  private scheduleNext(): void {
    const { intervalMs } = this.timing;
    const now = this.opts.clock.now();
    const next = this.anchor + intervalMs;
    this.dueAt = this.firstTick || next < now ? nextInPhase(now, intervalMs, this.phase) : next;
    this.wait(Wait.Next, this.dueAt, intervalMs);
  }

  /**
   * One AbortController serves probe after probe until it is aborted, because creating one per
   * probe was the largest cost of the loop (bench/reporter-checks.ts). Every 32 probes the
   * signal's listeners are counted, and a check that left more than one gets a fresh
   * controller, which bounds its leak. The count, not a renewal every 32 probes: a reporter's
   * checks start together, so renewals would come in bursts of all of them at once, which costs
   * more than it saves. Whether it was aborted is tracked here because the signal's getters cost
   * more than the rest of this function.
   */
  private signal(): AbortSignal {
    if (!this.aborted && ++this.probesOnController < LEAK_CHECK_EVERY) return this.signalInUse;
    this.probesOnController = 0;
    if (!this.aborted && getEventListeners(this.signalInUse, 'abort').length <= 1) return this.signalInUse;
    this.controller = freshController();
    this.signalInUse = this.controller.signal;
    this.aborted = false;
    return this.signalInUse;
  }

  private abort(reason: Error): void {
    this.aborted = true;
    this.controller.abort(reason);
  }

  private probe(): void {
    const { clock, check } = this.opts;
    const id = ++this.seq;
    this.inflight = id;
    this.firstTick = false;
    this.anchor = this.dueAt;
    this.inflightTimeoutMs = this.timing.timeoutMs;
    const signal = this.signal();
    this.probeStarted = clock.now();
    this.wait(Wait.Deadline, this.probeStarted + this.inflightTimeoutMs, this.inflightTimeoutMs);
    let pending: Promise<CheckResult>;
    try {
      pending = check.run(signal);
    } catch (err) {
      // run() is documented never to throw; a plugin that does still only fails its probe
      return this.settle(id, { ok: false, detail: `check threw: ${errorDetail(err)}` });
    }
    pending.then(
      (r) => this.settle(id, r ?? { ok: false, detail: 'check returned no result' }),
      (err: unknown) => this.settle(id, { ok: false, detail: `check threw: ${errorDetail(err)}` }),
    );
  }

  private onDeadline(): void {
    this.abort(new Error(`timed out after ${this.inflightTimeoutMs} ms`));
    // a check that ignores its signal is given up on; its late result is dropped by settle()
    if (this.inflight && !this.token) this.wait(Wait.Grace, this.opts.clock.now() + ABORT_GRACE_MS, ABORT_GRACE_MS);
  }

  private settle(id: number, result: CheckResult): void {
    if (id !== this.inflight) return;
    this.inflight = 0;
    this.token = 0;
    this.lastResult = result;
    const state = this.hysteresis.record(result.ok);
    try {
      this.opts.onResult(result, state, this.opts.clock.now() - this.probeStarted);
    } catch (err) {
      this.opts.logger?.error({ err, check: this.opts.key }, 'check result handler threw');
    }
    if (this.running && !this.token) this.scheduleNext();
  }
}
