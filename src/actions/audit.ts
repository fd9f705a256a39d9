/**
 * The audit trail of actions: one log line per run, and per refused request from a caller whose
 * token verified (who asked for what, and why it did not run). Written through the daemon's log
 * (`"component": "audit"`, message "action run" / "action refused") at info level whatever the
 * configured level, so journald or the log shipper keeps them with everything else. The token
 * itself is never written: its subject and id are.
 */
import type { Logger } from '../core/logger.js';

export interface AuditRun {
  /** the token's subject and id */
  who: string;
  token: string;
  action: string;
  args: readonly string[];
  node: string;
  /** default or the rank whose script ran */
  variant: string;
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  cancelled: boolean;
  duration_ms: number;
  error?: string;
}

export interface AuditRefusal {
  who: string;
  token: string;
  action: string;
  node: string;
  status: number;
  reason: string;
}

export class Audit {
  private readonly log: Logger;

  constructor(logger: Logger) {
    this.log = logger.child({ component: 'audit' }, { level: 'info' });
  }

  run(r: AuditRun): void {
    this.log.info({ audit: 'run', ...r }, `action run: ${r.action} on ${r.node} by ${r.who}: ${outcome(r)}`);
  }

  refused(r: AuditRefusal): void {
    this.log.info({ audit: 'refused', ...r }, `action refused: ${r.action} on ${r.node} for ${r.who}: ${r.reason}`);
  }
}

function outcome(r: AuditRun): string {
  if (r.error) return `did not start (${r.error})`;
  if (r.timed_out) return `timed out after ${r.duration_ms} ms`;
  if (r.cancelled) return 'cancelled (the caller went away)';
  return r.exit_code === null ? `ended by ${r.signal}` : `exit ${r.exit_code}`;
}
