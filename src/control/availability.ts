/**
 * The availability state of this node and of its services (Plight's enabled / disabled /
 * offline, configurable): which state is in force, what it does to publication, and changing
 * it. A change is written to the state file before it takes effect, so a change that cannot be
 * kept across a restart is refused and changes nothing. A service's own state wins over the
 * node's; health is applied by the reporter on top (a failing instance is down whatever the
 * state).
 */
import { resolve } from 'node:path';
import type { Clock } from '../core/clock.js';
import { LighthouseError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { defaultAvailabilityConfig, type AvailabilityConfig, type Effect, type StateDef } from './schema.js';
import { readStateFile, writeStateFile, type StateEntry, type StateRecord } from './state-file.js';

/** A state in force, with where it comes from. */
export interface StateInForce extends StateDef {
  reason?: string;
  by: string;
  since: string;
  /** `service`: the service's own state; `node`: set for the node; `default`: never set */
  scope: 'service' | 'node' | 'default';
}

export interface ChangeRequest {
  /** a configured state; null clears a service's own state (it follows the node again) */
  state: string | null;
  reason?: string;
  /** absent: the node's state */
  service?: string;
  /** who asks: "local:USER" or "token:SUBJECT" */
  by: string;
}

export interface AvailabilityOptions {
  config?: AvailabilityConfig;
  /** relative state_file paths are taken from here */
  configDir: string;
  logger: Logger;
  clock: Clock;
}

export class Availability {
  private config: AvailabilityConfig;
  private readonly file: string;
  private record: StateRecord;
  private readonly startedAt: string;
  private readonly log: Logger;
  /** changes one at a time, each persisted before the next starts */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly opts: AvailabilityOptions, record: StateRecord) {
    this.config = opts.config ?? defaultAvailabilityConfig();
    this.file = resolve(opts.configDir, this.config.stateFile);
    this.record = record;
    this.startedAt = new Date(opts.clock.now()).toISOString();
    this.log = opts.logger.child({ component: 'availability' });
  }

  /** Read the state file (LH_ERR_STATE_FILE if it is damaged: never assume a state). */
  static async open(opts: AvailabilityOptions): Promise<Availability> {
    const config = opts.config ?? defaultAvailabilityConfig();
    const record = await readStateFile(resolve(opts.configDir, config.stateFile));
    const a = new Availability(opts, record);
    const node = a.node();
    a.log.info({ state: node.name, effect: node.effect, stateFile: a.file, services: Object.keys(record.services) }, `availability: node ${node.name} (${node.scope === 'default' ? 'default' : `since ${node.since} by ${node.by}`})`);
    return a;
  }

  get stateFile(): string {
    return this.file;
  }

  /** New definitions from availability.yaml; they apply at once. The state file stays the
   * one opened at start (moving it live could lose the state in force). */
  configure(config: AvailabilityConfig | undefined): void {
    const next = config ?? defaultAvailabilityConfig();
    if (resolve(this.opts.configDir, next.stateFile) !== this.file) this.log.warn({ stateFile: this.file }, `state_file changed in availability.yaml: the new one applies at the next restart; ${this.file} stays in use`);
    for (const e of [this.record.node, ...Object.values(this.record.services)]) {
      if (e && !next.states.has(e.state)) this.log.warn({ state: e.state }, `state '${e.state}' is in force but no longer configured: it keeps its last definition (${e.code}, ${e.effect}) until changed`);
    }
    this.config = next;
  }

  states(): StateDef[] {
    return [...this.config.states.values()];
  }

  /** The node's state. */
  node(): StateInForce {
    if (this.record.node) return this.inForce(this.record.node, 'node');
    const def = this.config.states.get(this.config.defaultState)!;
    return { ...def, by: 'default', since: this.startedAt, scope: 'default' };
  }

  /** The services that have a state of their own, and those states. */
  services(): Record<string, StateInForce> {
    return Object.fromEntries(Object.entries(this.record.services).map(([name, e]) => [name, this.inForce(e, 'service')]));
  }

  /** The state in force for `service`: its own, else the node's. */
  effective(service: string): StateInForce {
    const own = this.record.services[service];
    return own ? this.inForce(own, 'service') : this.node();
  }

  effectFor(service: string): Effect {
    return this.effective(service).effect;
  }

  /** Change a state: validated, persisted, then in force. Resolves with whether anything
   * changed. LH_ERR_STATE for a state that is not configured; LH_ERR_STATE_FILE when it
   * cannot be written (and then nothing changed). */
  set(req: ChangeRequest): Promise<{ changed: boolean }> {
    const run = this.chain.then(() => this.apply(req));
    this.chain = run.catch(() => {});
    return run;
  }

  private async apply(req: ChangeRequest): Promise<{ changed: boolean }> {
    const prev = req.service === undefined ? this.record.node : this.record.services[req.service];
    let entry: StateEntry | undefined;
    if (req.state === null) {
      if (req.service === undefined) throw new LighthouseError('LH_ERR_STATE', 'the node always has a state: name one (clearing applies to a service)');
      if (!prev) return { changed: false };
    } else {
      const def = this.config.states.get(req.state);
      if (!def) throw new LighthouseError('LH_ERR_STATE', `unknown state '${req.state}' (valid: ${[...this.config.states.keys()].join(', ')})`);
      const same = prev?.state === req.state && prev.code === def.code && prev.effect === def.effect && prev.message === def.message;
      if (same && (req.reason === undefined || req.reason === prev.reason)) return { changed: false };
      entry = {
        state: def.name,
        ...(req.reason !== undefined && { reason: req.reason }),
        by: req.by,
        since: same ? prev.since : new Date(this.opts.clock.now()).toISOString(),
        code: def.code,
        message: def.message,
        effect: def.effect,
      };
    }
    const next: StateRecord = { version: 1, node: this.record.node, services: { ...this.record.services } };
    if (req.service === undefined) next.node = entry;
    else if (entry) next.services[req.service] = entry;
    else delete next.services[req.service];
    await writeStateFile(this.file, next);
    this.record = next;
    const what = req.service === undefined ? 'node' : `service ${req.service}`;
    this.log.info({ service: req.service, state: req.state, effect: entry?.effect, by: req.by, reason: req.reason }, entry ? `${what} now ${entry.state} (${entry.effect})` : `${what} follows the node state again`);
    return { changed: true };
  }

  private inForce(e: StateEntry, scope: 'node' | 'service'): StateInForce {
    // the definition in the config now, else the one the state was set with
    const def = this.config.states.get(e.state) ?? { name: e.state, code: e.code, message: e.message, effect: e.effect };
    return { ...def, ...(e.reason !== undefined && { reason: e.reason }), by: e.by, since: e.since, scope };
  }
}
