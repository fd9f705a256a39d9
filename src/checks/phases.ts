/**
 * Phase groups: which checks of a reporter probe together.
 *
 * Waking a process costs about what the probe it wakes for does (an epoll wait, timer
 * processing, cold caches; bench/reporter-checks.ts).
 * A node with a few services checked every second therefore spends most of its CPU on
 * wake-ups if each check keeps a phase of its own. So checks with the same interval share a
 * phase, up to `batch` of them: five services checked every second are probed in one wake-up,
 * and a thousand are spread over twenty phases of fifty, which keeps each burst of sockets
 * short. A new group takes the middle of the largest gap between the phases in use, so groups
 * stay evenly spread as they are added.
 *
 * A phase is a time modulo the interval (`clock.now() % intervalMs`): groups of different
 * intervals that share a phase (0: the first group of every interval) meet whenever their
 * periods coincide.
 */

interface Group {
  phase: number;
  members: number;
}

/** Checks per phase group: large enough that a typical node has one group per interval. */
export const PHASE_BATCH = 50;

export class PhaseGroups {
  private readonly groups = new Map<number, Group[]>();

  constructor(private readonly batch = PHASE_BATCH) {}

  /** A phase in [0, intervalMs) for a new check; give it back with `leave`. */
  join(intervalMs: number): number {
    let list = this.groups.get(intervalMs);
    if (!list) this.groups.set(intervalMs, (list = []));
    // the fullest group with room: a few full groups rather than many small ones
    let best: Group | undefined;
    for (const g of list) if (g.members < this.batch && (!best || g.members > best.members)) best = g;
    if (!best) list.push((best = { phase: this.newPhase(list, intervalMs), members: 0 }));
    best.members++;
    return best.phase;
  }

  leave(intervalMs: number, phase: number): void {
    const list = this.groups.get(intervalMs);
    const i = list?.findIndex((g) => g.phase === phase) ?? -1;
    if (!list || i < 0) return;
    if (--list[i].members > 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.groups.delete(intervalMs);
  }

  /** The middle of the largest gap between the phases in use (0 for the first group). */
  private newPhase(list: readonly Group[], intervalMs: number): number {
    if (list.length === 0) return 0;
    const phases = list.map((g) => g.phase).sort((a, b) => a - b);
    let at = 0;
    let widest = -1;
    for (let i = 0; i < phases.length; i++) {
      const next = i + 1 < phases.length ? phases[i + 1] : phases[0] + intervalMs;
      if (next - phases[i] > widest) {
        widest = next - phases[i];
        at = phases[i];
      }
    }
    return Math.floor(at + widest / 2) % intervalMs;
  }
}

/** The first time at or after `now` whose phase (time modulo `intervalMs`) is `phase`. */
export function nextInPhase(now: number, intervalMs: number, phase: number): number {
  const wait = (((phase - now) % intervalMs) + intervalMs) % intervalMs;
  return now + wait;
}
