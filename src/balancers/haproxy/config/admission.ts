/**
 * One bad cluster never takes down all: before a config that needs a reload is put in place,
 * the clusters HAProxy would refuse are found and left out (Overrides renders them at their
 * last good version, or not at all), named in the log with HAProxy's reason, and the others
 * are applied.
 *
 * Two kinds of refusal, two ways to find the culprit:
 * - a port HAProxy could not bind (another process holds it): `haproxy -c` passes it and the
 *   reload fails, after ~2 s of refused connections on every frontend. So the addresses the
 *   reload would bind anew are tried first (bind-probe.ts); a busy one names its frontend.
 * - a line `haproxy -c` refuses (`mode htp`, `balance nonsense`): its message names the line
 *   (`parsing [haproxy.cfg:42]`) or the proxy (`Proxy 'web': ...`); the section holding that
 *   line, or of that name, names the cluster. When no message points anywhere, the clusters
 *   changed since the last accepted config are bisected with `haproxy -c` on trial files.
 * A problem in the balancer's own config (global, defaults, stats, proxies) has no cluster to
 * leave out: the apply fails as before, and the running HAProxy keeps serving.
 */
import type { Logger } from 'pino';
import type { DesiredState } from '../../../core/plugin.js';
import { busyBinds } from './bind-probe.js';
import { HaproxyConfigError } from './check.js';
import { alertOwners, readAlert, sectionOwners } from './alerts.js';
import { parseSections, sectionBinds } from './sections.js';
import type { Overrides } from './overrides.js';
import type { Built } from './model-builder.js';

/** rounds of leave-out-and-retry per apply (each finds at least one culprit) */
const MAX_ROUNDS = 8;
/** `haproxy -c` trials one bisection may run */
const MAX_TRIALS = 48;

export interface AdmissionDeps {
  log: Logger;
  overrides: Overrides;
  build(state: DesiredState): Built;
  /** validate (`haproxy -c`) and put in place; throws HaproxyConfigError when refused */
  write(built: Built): Promise<void>;
  /** `haproxy -c` of the config rendered for `state`: does it pass? */
  trial(state: DesiredState): Promise<boolean>;
  /** pids of our HAProxy processes; null when they cannot be told (bind-probe.ts) */
  pids(): Promise<number[] | null>;
}

export interface Admitted {
  state: DesiredState;
  built: Built;
}

export class Admission {
  /** the binds of the config HAProxy runs (not probed again); null: unknown, probe all */
  held: Set<string> | null = null;

  constructor(private readonly deps: AdmissionDeps) {}

  /** The binds of a rendered config (its structure will do: membership has none). */
  static binds(text: string): Set<string> {
    return new Set(parseSections(text).filter((s) => s.kind === 'frontend' || s.kind === 'listen').flatMap(sectionBinds));
  }

  /** Make `built` (rendered from `state`, from the writer's `desired`) one HAProxy accepts,
   * leaving out the clusters it refuses, and put it in place. */
  async admit(desired: DesiredState, state: DesiredState, built: Built): Promise<Admitted> {
    const { overrides, log } = this.deps;
    for (let round = 0; ; round++) {
      const last = round >= MAX_ROUNDS;
      const culprits = new Map<string, string>();
      const sections = parseSections(built.structure);
      const binds = sections.filter((s) => s.kind === 'frontend' || s.kind === 'listen').flatMap((s) => sectionBinds(s).map((b) => [b, s] as const));
      const fresh = binds.filter(([b]) => !this.held?.has(b));
      const busy = fresh.length ? await busyBinds(fresh.map(([b]) => b), this.deps.pids) : new Map<string, string>();
      for (const [bind, s] of fresh) {
        const why = busy.get(bind);
        if (!why) continue;
        const owners = sectionOwners(state, s, null);
        if (!owners.length) log.error({ bind, section: `${s.kind} ${s.name}` }, `${why}: in the balancer's own config (${s.kind} ${s.name}), no cluster to leave out`);
        for (const c of owners) culprits.set(c, why);
      }
      if (culprits.size === 0 || last) {
        try {
          await this.deps.write(built);
          return { state, built };
        } catch (err) {
          if (!(err instanceof HaproxyConfigError) || last) throw err;
          for (const [c, why] of await this.refused(state, built, err)) culprits.set(c, why);
          if (culprits.size === 0) throw err;
        }
      }
      overrides.reject(desired, culprits);
      state = overrides.apply(desired);
      built = this.deps.build(state);
    }
  }

  /** The clusters `haproxy -c` refused, with its reason for each (alerts.ts). */
  private async refused(state: DesiredState, built: Built, err: HaproxyConfigError): Promise<Map<string, string>> {
    const text = built.text;
    const sections = parseSections(text);
    const out = new Map<string, string>();
    for (const alert of err.lines) {
      const place = readAlert(alert, text, sections);
      if (!place) continue;
      for (const n of alertOwners(state, place)) out.set(n, out.has(n) ? `${out.get(n)}; ${place.said}` : place.said);
    }
    if (out.size) return out;
    const found = await this.bisect(state);
    const why = err.lines.find((l) => /\[ALERT\]/.test(l) && !/Fatal errors|Error\(s\) found/.test(l)) ?? err.message;
    for (const n of found) out.set(n, `haproxy -c fails with it and passes without it: ${why.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*/, '')}`);
    return out;
  }

  /** The clusters changed since the last accepted config without which it passes: found one
   * at a time by bisection (each a binary search over the clusters not cleared yet). */
  private async bisect(state: DesiredState): Promise<string[]> {
    const candidates = this.deps.overrides.changed(state);
    let trials = 0;
    const passes = (included: ReadonlySet<string>) => {
      if (++trials > MAX_TRIALS) return Promise.resolve(false);
      const out = new Set(candidates.filter((c) => !included.has(c)));
      return this.deps.trial({ clusters: state.clusters.filter((c) => !out.has(c.name)) });
    };
    if (!candidates.length || !(await passes(new Set()))) return []; // not the clusters' fault
    const bad: string[] = [];
    const good: string[] = [];
    let rest = candidates;
    while (rest.length && trials < MAX_TRIALS) {
      if (await passes(new Set([...good, ...rest]))) break;
      let lo = 0;
      let hi = rest.length;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (await passes(new Set([...good, ...rest.slice(0, mid)]))) lo = mid;
        else hi = mid;
      }
      bad.push(rest[hi - 1]);
      good.push(...rest.slice(0, hi - 1));
      rest = rest.slice(hi);
    }
    return trials > MAX_TRIALS ? [] : bad;
  }
}
