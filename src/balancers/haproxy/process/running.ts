/**
 * What the running HAProxy was started or reloaded with, as far as the balancer knows:
 * - its structure (balancer.ts: equal -> membership only, runtime API; else a reload), null
 *   while unknown (an adopted HAProxy);
 * - the last config that ran, thin (text and structure): the fallback when a new one passes
 *   `haproxy -c` but does not start;
 * - its binds, which the probe before a reload need not try again (admission.ts);
 * - which version of each cluster it runs: Overrides' good versions, rendered in place of a
 *   later version HAProxy refuses. A state becomes good when its structure runs: at once when
 *   it needs no reload, after the reload otherwise.
 */
import { sameText } from '../config/config-file.js';
import { Admission } from '../config/admission.js';
import type { Overrides } from '../config/overrides.js';
import { ReloadFailedError } from './process.js';
import type { Builder, Built, Shape } from '../config/model-builder.js';
import type { DesiredState } from '../../../core/plugin.js';
import type { RuntimePlan } from '../runtime/plan.js';

export class Running {
  private current: { structure: string; shape: Shape } | null = null;
  /** the last config that ran (thin) */
  good: Built | null = null;
  /** the text start() started HAProxy from (the file on disk), until the first apply: a
   * first state that renders to it needs no reload */
  startedFrom: string | null = null;
  /** the shape whose clusters' versions Overrides holds as good; the admitted state waiting
   * for its reload to become so */
  private acceptedShape: Shape | null = null;
  private toAccept: { desired: DesiredState; state: DesiredState; shape: Shape } | null = null;

  constructor(
    private readonly builder: Builder,
    private readonly overrides: Overrides,
    private readonly admission: Admission,
  ) {}

  get known(): boolean {
    return this.current !== null;
  }

  /** HAProxy started or reloaded with `b` (null: unknown). */
  set(b: Built | null): void {
    this.current = b && { structure: b.structure, shape: b.models.shape };
    this.good = b && this.builder.thin(b);
    this.admission.held = b && Admission.binds(b.structure);
    if (b && this.toAccept?.shape === b.models.shape) {
      this.overrides.accept(this.toAccept.state);
      this.acceptedShape = b.models.shape;
      this.toAccept = null;
    }
  }

  /** Started from a text of our own (the file on disk): its binds are held now. */
  startFrom(text: string): void {
    this.startedFrom = text;
    this.holds(Admission.binds(text));
  }

  /** HAProxy holds these binds (they are not probed before a reload). */
  holds(binds: Set<string>): void {
    this.admission.held = binds;
  }

  /** Does HAProxy run `built`'s structure? An identity check while no cluster's section
   * changed; else the masked renders are compared. With `state` (not a dry run), a state
   * that runs has its clusters' versions taken as good. */
  same(built: Built, state?: DesiredState): boolean {
    const shape = built.models.shape;
    if (!this.current && this.startedFrom !== null && state) {
      // HAProxy runs the file it was started from: the same text is the same structure
      const same = sameText(built.parts, this.startedFrom);
      this.startedFrom = null;
      if (same) this.set(built);
    }
    if (!this.current) return false;
    if (this.current.shape !== shape) {
      if (built.structure !== this.current.structure) return false;
      this.current.shape = shape;
    }
    if (state && shape !== this.acceptedShape) {
      this.overrides.accept(state);
      this.acceptedShape = shape;
    }
    return true;
  }

  /** Why `built` needs a reload, given the runtime plan that converged it; none: membership
   * only. With `state`, as `same`. */
  reloadReasons(built: Built, state: DesiredState | undefined, plan: RuntimePlan): string[] {
    const { unplaced: u, cookieless: c } = plan;
    return [
      ...(!this.same(built, state) ? [this.known ? 'structure changed' : 'running structure unknown'] : []),
      ...(u.length ? [`${u.length} servers without a runtime entry (${u[0].backend}/${u[0].server}: ${u[0].reason})`] : []),
      // serving already; the reload (rate-limited) gives them their own persistence cookie
      ...(c.length ? [`${c.length} servers without their cookie (${c[0].backend}/${c[0].server} serves as ${c[0].entry})`] : []),
    ];
  }

  /** `state` (from the writer's `desired`) was admitted and awaits its reload. */
  admitted(desired: DesiredState, state: DesiredState, built: Built): void {
    this.toAccept = { desired, state, shape: built.models.shape };
  }

  /** A reload that passed `haproxy -c` failed (a bind the probe could not try, or lost a race
   * for): the clusters changed since the config that runs are kept at the version that runs
   * (new ones left out) until their files change, so the next reload carries the rest. Only
   * when what runs is known: nothing served is ever left out. */
  reloadFailed(err: unknown): void {
    const t = this.toAccept;
    if (!(err instanceof ReloadFailedError) || !t || !this.acceptedShape) return;
    const suspects = this.overrides.changed(t.state);
    const why = `HAProxy's reload failed with this version although it passed haproxy -c (${(err as Error).message})`;
    this.overrides.reject(t.desired, new Map(suspects.map((n) => [n, why])));
  }
}

/** A reload reason's kind, without its names and counts: a bounded metric label. */
export function reloadLabel(reason: string): string {
  return reason.replace(/^\d+ | \(.*$/g, '');
}
