/**
 * What the reporter tells an observer (notifications, later status and metrics) about its
 * instances, apart from publishing them: one call per probe round of an instance (its first
 * check's probe) once its state is known (it went up, or a probe failed), and one when it
 * leaves the config.
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
}
