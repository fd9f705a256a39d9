/**
 * The session's own clock. node-zookeeper-client has no read timeout: partitioned (or with the
 * server stopped) it waits forever. So, as ZooKeeper's Java client does, we count from the last
 * contact and, over the negotiated timeout `t`:
 *  - ping once nothing was sent for t/3 (even while answers stream in: the server's session timer
 *    is reset by the requests it receives, not by the answers it sends), or up to t/6 sooner, on
 *    the shared wake-up grid (clock.ts): a reporter's ping then rides its probes' wake-up,
 *  - drop the connection once nothing was heard for 2t/3 (the client reconnects, possibly to
 *    another server, keeping the session),
 *  - report silence once nothing was heard for t.
 * One timer, re-armed at the next deadline.
 */
import { onWakeGrid, type Clock } from '../../core/clock.js';

export interface LivenessHooks {
  /** the connection is usable (pings and drops only then) */
  connected(): boolean;
  ping(): void;
  /** nothing heard for 2/3 of the timeout */
  drop(heardMs: number): void;
  /** nothing heard for the whole timeout */
  silent(heardMs: number, timeoutMs: number): void;
}

export class Liveness {
  /** the last answer heard from the server (contact: the connection is alive) */
  private lastContact = 0;
  /** the last request sent */
  private lastSent = 0;
  private timer: { cancel(): void } | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly timeout: () => number,
    private readonly hooks: LivenessHooks,
  ) {}

  /** A connection (re)established: contact now, and what the client queued meanwhile is sent. */
  connected(): void {
    this.contact();
    this.lastSent = this.lastContact;
    this.schedule();
  }

  contact(): void {
    this.lastContact = this.clock.now();
  }

  sent(): void {
    this.lastSent = this.clock.now();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(): void {
    this.timer?.cancel();
    const t = this.timeout();
    const now = this.clock.now();
    const due = [this.pingAt(t), this.lastContact + (2 * t) / 3, this.lastContact + t].filter((d) => d > now);
    const next = due.length ? Math.min(...due) - now : t / 3;
    this.timer = this.clock.setTimeout(() => this.check(), Math.max(1, Math.ceil(next)));
  }

  /** when the next ping is due: t/3 after the last request, or on the grid up to t/6 before */
  private pingAt(t: number): number {
    return onWakeGrid(this.lastSent + t / 3, this.lastSent + t / 6);
  }

  private check(): void {
    this.timer = null;
    const t = this.timeout();
    const now = this.clock.now();
    const heard = now - this.lastContact;
    if (heard >= t) return this.hooks.silent(heard, t);
    if (heard >= (2 * t) / 3 && this.hooks.connected()) this.hooks.drop(heard);
    // not held back by an unanswered ping: behind a backlog of answers it is still received
    // (a few ms early is due: Node's timers count from the loop's cached time, ours from now)
    else if (now + 5 >= this.pingAt(t) && this.hooks.connected()) this.hooks.ping();
    this.schedule();
  }
}
