/**
 * Actions on this node, as the HTTP routes use them: what is defined (from the config store's
 * loaded configs), who may run what (tokens), and runs (one script each, at most `concurrency` at a
 * time per action), each audited. Transport-free: the routes turn refusals into status codes
 * and a run's events into a stream.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Audit } from './audit.js';
import { isExecutable, scriptFor, type ActionDefinition } from './definition.js';
import { scriptEnv } from './env.js';
import { runScript, type RunResult, type StreamName } from './runner.js';
import { inScope, keyPaths, PublicKeyFile, verifyToken, type TokenClaims, type Verdict } from './tokens.js';

/** This node as actions see it. */
export interface ActionNode {
  name: string;
  ranks: readonly string[];
  metadata: Readonly<Record<string, unknown>>;
}

export interface ActionSummary {
  name: string;
  summary: string;
  description?: string;
  confirm: boolean;
  timeout_s: number;
  /** the script a run would use on this node: default or a rank */
  variant: string;
  /** the token may run it */
  in_scope: boolean;
  /** why it would not run here (a script without the execute bit) */
  problem?: string;
}

export interface RunRequest {
  args: string[];
  confirmed: boolean;
}

export interface Refusal {
  status: 400 | 403 | 404 | 409 | 428;
  message: string;
}

export type RunEvent =
  | { event: 'start'; node: string; action: string; variant: string }
  | { event: 'line'; stream: StreamName; text: string }
  | { event: 'end'; exit_code: number | null; signal: string | null; timed_out: boolean; cancelled: boolean; duration_ms: number; error?: string };

/** An accepted run: call `run` (or `release` if it will not be). */
export interface Accepted {
  variant: string;
  run(emit: (e: RunEvent) => void, signal: AbortSignal): Promise<RunResult>;
  release(): void;
}

export interface ActionServiceOptions {
  configDir: string;
  logger: Logger;
  clock: Clock;
  /** the reporter's environment, of which scripts get only a few names (env.ts) */
  env?: NodeJS.ProcessEnv;
  /** grace between SIGTERM and SIGKILL of a timed-out run */
  graceMs?: number;
}

export class ActionService {
  private actions: ReadonlyMap<string, ActionDefinition> = new Map();
  private revoked: ReadonlySet<string> = new Set();
  private node: ActionNode = { name: '', ranks: [], metadata: {} };
  private readonly running = new Map<string, number>();
  private readonly pub: PublicKeyFile;
  private readonly audit: Audit;
  private readonly log: Logger;

  constructor(private readonly opts: ActionServiceOptions) {
    this.pub = new PublicKeyFile(keyPaths(opts.configDir).pub);
    this.log = opts.logger.child({ component: 'actions' });
    this.audit = new Audit(opts.logger);
  }

  /** Take a loaded config's actions and revocations, and this node's identity. */
  configure(actions: ReadonlyMap<string, ActionDefinition> | undefined, revoked: readonly string[] | undefined, node: ActionNode): void {
    this.actions = actions ?? new Map();
    this.revoked = new Set(revoked ?? []);
    const before = this.node;
    this.node = node;
    if (before.metadata !== node.metadata) {
      for (const s of scriptEnv(node, '', {}).skipped) this.log.warn({ key: s.key }, `node.yaml metadata ${JSON.stringify(s.key)} is not given to action scripts: ${s.why}`);
    }
  }

  authenticate(token: string): Promise<Verdict> {
    return verifyToken(token, this.pub, this.revoked, this.opts.clock.now());
  }

  async list(claims: TokenClaims): Promise<ActionSummary[]> {
    return Promise.all([...this.actions.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((a) => this.summary(a, claims)));
  }

  async describe(name: string, claims: TokenClaims): Promise<ActionSummary | Refusal> {
    const a = this.actions.get(name);
    return a ? this.summary(a, claims) : { status: 404, message: `no action '${name}' on ${this.node.name}` };
  }

  /** Every check before anything runs; the slot it takes is held until the run ends. */
  async prepare(name: string, claims: TokenClaims, req: RunRequest): Promise<Accepted | Refusal> {
    const refuse = (r: Refusal): Refusal => {
      this.audit.refused({ who: claims.sub, token: claims.jti, action: name, node: this.node.name, status: r.status, reason: r.message });
      return r;
    };
    if (!inScope(claims, name)) return refuse({ status: 403, message: `token '${claims.jti}' (${claims.sub}) may not run '${name}'` });
    const action = this.actions.get(name);
    if (!action) return refuse({ status: 404, message: `no action '${name}' on ${this.node.name}` });
    if (action.confirm && !req.confirmed) return refuse({ status: 428, message: `'${name}' asks for confirmation: send "confirmed": true (lighthousectl asks, or --yes)` });
    const script = scriptFor(action, this.node.ranks);
    if (!(await isExecutable(script.path))) return refuse({ status: 409, message: notExecutable(action, script.variant, this.node.name) });
    const busy = this.running.get(name) ?? 0;
    if (busy >= action.concurrency) return refuse({ status: 409, message: `'${name}' is already running on ${this.node.name} (${busy} of ${action.concurrency} at a time)` });
    this.running.set(name, busy + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const n = (this.running.get(name) ?? 1) - 1;
      if (n > 0) this.running.set(name, n);
      else this.running.delete(name);
    };
    const node = this.node;
    return {
      variant: script.variant,
      release,
      run: async (emit, signal) => {
        const started = this.opts.clock.now();
        emit({ event: 'start', node: node.name, action: name, variant: script.variant });
        try {
          const { env } = scriptEnv(node, name, this.opts.env);
          const spec = { path: script.path, args: req.args, env, cwd: action.dir, timeoutMs: action.timeoutMs, signal, clock: this.opts.clock, graceMs: this.opts.graceMs };
          const r = await runScript(spec, (stream, text) => emit({ event: 'line', stream, text }));
          const duration = Math.round(this.opts.clock.now() - started);
          const end = { exit_code: r.exitCode, signal: r.signal, timed_out: r.timedOut, cancelled: r.cancelled, duration_ms: duration, ...(r.error && { error: r.error }) };
          emit({ event: 'end', ...end });
          this.audit.run({ who: claims.sub, token: claims.jti, action: name, args: req.args, node: node.name, variant: script.variant, ...end });
          return r;
        } finally {
          release();
        }
      },
    };
  }

  private async summary(a: ActionDefinition, claims: TokenClaims): Promise<ActionSummary> {
    const script = scriptFor(a, this.node.ranks);
    const ok = await isExecutable(script.path);
    return {
      name: a.name,
      summary: a.summary,
      ...(a.description !== undefined && { description: a.description }),
      confirm: a.confirm,
      timeout_s: a.timeoutMs / 1000,
      variant: script.variant,
      in_scope: inScope(claims, a.name),
      ...(!ok && { problem: notExecutable(a, script.variant, this.node.name) }),
    };
  }
}

export function isRefusal(r: unknown): r is Refusal {
  return typeof r === 'object' && r !== null && 'status' in r && 'message' in r;
}

function notExecutable(a: ActionDefinition, variant: string, node: string): string {
  return `actions/${a.name}/${variant}.sh is not executable on ${node} (chmod +x it): not run`;
}
