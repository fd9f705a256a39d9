/**
 * What the reporter tells an observer (notifications, status, metrics) about its instances,
 * apart from publishing them: one call per probe round of an instance (its first check's probe)
 * once its state is known (it went up, or a probe failed), and one when it leaves the config.
 * Metrics also get every probe, every published change and every flap hold: counters bumped
 * where they happen, nothing that wakes the reporter on its own.
 */
export interface InstanceObservation {
  service: string;
  port: number;
  /** the published state (after rise/fall and flap damping) */
  up: boolean;
  /** why it is down: the detail of a failing check */
  detail?: string;
}

export interface InstanceObserver {
  observed(o: InstanceObservation): void;
  removed(service: string, port: number): void;
  /** a probe's outcome and how long it took */
  probed?(service: string, port: number, check: string, ok: boolean, ms: number): void;
  /** the published state changed (after flap damping) */
  changed?(service: string, port: number, up: boolean): void;
  /** a change held back by flap damping */
  held?(service: string, port: number): void;
}
