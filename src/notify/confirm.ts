/**
 * Confirmation counting (Platus's `retries_before_notify`): a subject's state change is
 * notified once the new state was seen `required` consecutive times; a flap shorter than that
 * is never notified. A subject with no state yet (none in the state file) gets its first
 * confirmed state recorded without a notification: a daemon's start is not a change, and a
 * probe that fails while the daemon starts up does not make one.
 */
export interface Confirmed {
  subject: string;
  from: string;
  to: string;
}

interface Entry {
  /** the state last notified (or recorded as the baseline); undefined until one is confirmed */
  notified?: string;
  candidate?: string;
  count: number;
}

export class Confirmations {
  private readonly entries = new Map<string, Entry>();

  /** `known`: last notified state per subject (from the state file) */
  constructor(known: ReadonlyMap<string, string> = new Map()) {
    for (const [subject, state] of known) this.entries.set(subject, { notified: state, count: 0 });
  }

  /** One observation; a confirmed change comes back (and becomes the notified state). A new
   * subject's first state comes back with `from` equal to `to`: a baseline to record only. */
  observe(subject: string, state: string, required: number): Confirmed | null {
    let e = this.entries.get(subject);
    if (!e) this.entries.set(subject, (e = { count: 0 }));
    if (state === e.notified) {
      e.candidate = undefined;
      e.count = 0;
      return null;
    }
    if (state !== e.candidate) {
      e.candidate = state;
      e.count = 0;
    }
    if (++e.count < required) return null;
    const from = e.notified ?? state;
    e.notified = state;
    e.candidate = undefined;
    e.count = 0;
    return { subject, from, to: state };
  }

  /** A change is waiting for confirmation. */
  pending(subject: string): boolean {
    return this.entries.get(subject)?.candidate !== undefined;
  }

  forget(subject: string): void {
    this.entries.delete(subject);
  }

  /** The notified state of every subject (what the state file keeps). */
  notified(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [s, e] of this.entries) if (e.notified !== undefined) out.set(s, e.notified);
    return out;
  }
}
