/**
 * Our view of the running worker's servers (`show servers state` rows, by backend), kept
 * current by simulating the commands we send, and re-read whenever it may be stale: after a
 * reload or restart, when the worker we talk to is not the one the view is about (HAProxy
 * reloaded or restarted behind our back), or when HAProxy refuses a command.
 *
 * Cost proportional to the change: the view remembers the backends array of its last converge
 * and which of them the worker serves exactly (every server placed). Models are immutable and
 * reused while a cluster is unchanged (model-builder.ts), so a converge plans only the backends that
 * are not the same object at the same index (1,000 identity checks: a few microseconds).
 *
 * Why server-template slots first, `add server` only as overflow, and never `del server`: slots
 * are declared in the config, so HAProxy applies `default-server`, the defaults section and the
 * cluster's `server_options` to them itself and `haproxy -c` validates them; they work with
 * every balance algorithm (dynamic servers refuse static ones such as static-rr or map-based
 * hashing); taking a node out is `state maint`, which cannot fail, where `del server` fails
 * while connections remain; and `set server` commands are idempotent, so a batch can be resent
 * after a broken connection. Once a backend's slots and the entries of gone nodes are all in
 * use, a backend with a dynamic algorithm and no `default-server` gets `add server` (plan.ts);
 * any other reloads. Cost: a few idle server structs per backend, and nodes that joined at
 * runtime show as `lh_slotN` (or a gone node's name) until the next reload.
 */
import type { Logger } from 'pino';
import { writeFile, rename } from 'node:fs/promises';
import { LighthouseError } from '../../../core/errors.js';
import { isSlot, type BackendModel } from '../config/model.js';
import type { Models } from '../config/model-builder.js';
import { allowsAddServer, groupRows, planBackend, planChangedServers, type BackendPlan, type RuntimePlan } from './plan.js';
import type { RuntimeApi } from './api.js';
import { adminMode, filterServersState, infoField, parseInfo, parseServersState, replyError, type ServerStateRow } from './parse.js';
import type { ServedServer } from '../../../core/plugin.js';

export class RuntimeView {
  /** the worker the view is about */
  workerPid: number | null = null;
  /** commands sent by the last converge */
  lastCommands: string[] = [];
  /** rows by backend; null = not read yet / stale */
  private rows: Map<string, ServerStateRow[]> | null = null;
  /** the last converge's backends, whether the worker serves each exactly, and how many it
   * does not */
  private last: { backends: readonly BackendModel[]; served: Uint8Array; unserved: number } | null = null;
  /** backends (by their lines and server options) where HAProxy refused an `add server` */
  private readonly refusedAdd = new Set<string>();
  /** allowsAddServer by backend lines (the same array while a cluster's section is unchanged) */
  private readonly allows = new WeakMap<readonly string[], boolean>();

  constructor(
    private readonly api: RuntimeApi,
    private readonly log: Logger,
    /** the `defaults` lines (they decide the algorithm of a backend that sets none) */
    private readonly defaults: readonly string[] = [],
  ) {}

  /** the servers as the worker serves them (as last read, and kept by the commands sent since);
   * null while not read */
  served(): ReadonlyMap<string, readonly ServerStateRow[]> | null {
    return this.rows;
  }
  /** The servers of `backends` as HAProxy serves them, by cluster; free slots left out. */
  servedByCluster(backends: readonly BackendModel[]): Map<string, ServedServer[]> {
    const out = new Map<string, ServedServer[]>();
    if (!this.rows) return out;
    for (const be of backends) {
      const list = (this.rows.get(be.name) ?? []).filter((r) => !(isSlot(r.name) && adminMode(r.adminState) === 'maint'));
      out.set(be.cluster, list.map((r) => ({ name: r.name, address: r.addr, port: r.port, weight: r.uweight, state: adminMode(r.adminState) === 'up' ? (r.opState === 0 ? 'down' : 'up') : adminMode(r.adminState) })));
    }
    return out;
  }


  /** Forget the view: the next converge reads `show servers state` first. */
  invalidate(): void {
    this.rows = null;
    this.last = null;
  }

  /** Dry run against the current view. */
  plan(backends: readonly BackendModel[]): RuntimePlan {
    return this.flatten(this.planChanged(backends).plans);
  }

  /** Read the worker's pid and servers (one batch). A worker that is stopping (a connection
   * opened before someone else's reload) is left for a new connection. */
  async resync(): Promise<void> {
    for (let i = 0; ; i++) {
      const [infoText, stateText] = await this.api.run(['show info', 'show servers state']);
      const info = parseInfo(infoText);
      if (info.Stopping === '1' && i < 100) {
        this.api.close();
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      this.workerPid = Number(info.Pid);
      this.rows = groupRows(parseServersState(stateText, { raw: false }).rows);
      this.last = null;
      return;
    }
  }

  /**
   * Make the worker serve `model`'s membership. The commands go in one write together with a
   * `show info` (one round trip) that confirms the view is about the worker we talk to; on a
   * different or stopping worker, or a refused command, the view is read again and the plan
   * redone once.
   */
  async converge(backends: readonly BackendModel[], delta?: Models['delta']): Promise<RuntimePlan> {
    for (let attempt = 0; ; attempt++) {
      if (!this.rows) await this.resync();
      const { plans, served, unserved: before } = this.planChanged(backends, delta);
      const plan = this.flatten(plans);
      const t0 = performance.now();
      const replies = await this.api.execute(['show info', ...plan.commands]);
      const pid = Number(infoField(replies[0], 'Pid'));
      const stopping = infoField(replies[0], 'Stopping') === '1';
      const failures = plan.commands.flatMap((c, i) => {
        const e = replyError(c, replies[i + 1]);
        return e ? [`'${c}': ${e}`] : [];
      });
      // a backend refusing dynamic servers (an algorithm or keyword we did not foresee): its
      // servers are left to a reload from now on
      if (failures.length) {
        plan.commands.forEach((c, i) => {
          if (!c.startsWith('add server ') || !replyError(c, replies[i + 1]) || /already exists|no such backend/i.test(replies[i + 1])) return;
          const name = c.slice('add server '.length, c.indexOf('/'));
          const b = plans.find(([, x]) => x.name === name)?.[1];
          if (b) this.refusedAdd.add(addKey(b));
        });
      }
      const moved = pid !== this.workerPid || stopping;
      if (!moved && !failures.length && this.rows) {
        let unserved = before;
        for (const [i, b, p] of plans) {
          this.rows.set(b.name, p.next);
          const now = p.unplaced.length || p.cookieless.length ? 0 : 1;
          unserved += served[i] - now;
          served[i] = now;
        }
        this.last = { backends, served, unserved };
        this.lastCommands = plan.commands;
        if (plan.commands.length) {
          // after the caller has its answer: a log line is work on the path of the change, where
          // it would delay every onApplied and the next change queued behind this one
          const fields = { workerPid: this.workerPid, commands: plan.commands.length, backends: plan.changed, ms: +(performance.now() - t0).toFixed(2) };
          setImmediate(() => this.log.info(fields, 'servers updated via runtime API'));
        }
        return plan;
      }
      this.log.warn({ failures, workerPid: this.workerPid, seenPid: pid, stopping }, 'runtime view out of date: reading server state again');
      if (stopping) this.api.close();
      this.invalidate();
      if (attempt >= 1) {
        const what = failures.length ? `commands refused after a fresh read: ${failures.join('; ')}` : 'the worker changed during the apply';
        throw new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy runtime API ${this.api.socketPath}: ${what}`);
      }
    }
  }

  /** Plans of the backends the worker is not known to serve, by index; `served` starts as the
   * known flags, for the caller to complete with the plans' outcome, `unserved` the count of
   * its zeros. With a snapshot's `delta` from the last converge's backends, and every one of
   * them served, only the changed positions are looked at. */
  private planChanged(backends: readonly BackendModel[], delta?: Models['delta']): { plans: [number, BackendModel, BackendPlan][]; served: Uint8Array; unserved: number } {
    const last = this.last && this.last.backends.length === backends.length ? this.last : null;
    const served = last ? last.served.slice() : new Uint8Array(backends.length);
    const plans: [number, BackendModel, BackendPlan][] = [];
    const plan = (i: number) => {
      const b = backends[i];
      if (last && served[i] && b === last.backends[i]) return;
      const rows = this.rows?.get(b.name) ?? [];
      if (last && served[i]) {
        // served as last planned: only the servers that changed (a one-node change: one server)
        const p = planChangedServers(rows, last.backends[i], b);
        if (p) return void plans.push([i, b, p]);
      }
      plans.push([i, b, planBackend(rows, b, this.dynamic(b))]);
    };
    if (last && delta && delta.from === last.backends && last.unserved === 0) for (const i of delta.at) plan(i);
    else for (let i = 0; i < backends.length; i++) plan(i);
    const unserved = last ? last.unserved : backends.length;
    // planned positions are counted again by the caller from their outcome
    return { plans, served, unserved };
  }

  /** the backend takes `add server`: its algorithm allows it and HAProxy did not refuse one */
  private dynamic(b: BackendModel): boolean {
    let allowed = this.allows.get(b.lines);
    if (allowed === undefined) this.allows.set(b.lines, (allowed = allowsAddServer(b.lines, this.defaults)));
    return allowed && (this.refusedAdd.size === 0 || !this.refusedAdd.has(addKey(b)));
  }

  /** `next` stays empty: the view keeps its rows per backend */
  private flatten(plans: readonly [number, BackendModel, BackendPlan][]): RuntimePlan {
    const plan: RuntimePlan = { commands: [], unplaced: [], cookieless: [], next: [], changed: [] };
    for (const [, b, p] of plans) {
      if (p.commands.length) plan.changed.push(b.name);
      for (const c of p.commands) plan.commands.push(c);
      for (const u of p.unplaced) plan.unplaced.push(u);
      for (const u of p.cookieless) plan.cookieless.push(u);
    }
    return plan;
  }

  /**
   * `show servers state` -> the server-state file HAProxy loads at its next start, keeping only
   * servers `model` (the config about to be loaded) names at the same address: a slot's saved
   * state would bring the fresh slot up at 0.0.0.0 (HAProxy matches saved rows by name).
   */
  async saveServerState(backends: readonly BackendModel[], file: string, dump?: () => Promise<string>): Promise<number> {
    const want = new Map(backends.map((b) => [b.name, new Map(b.servers.map((s) => [s.name, s]))]));
    // `dump`: another way to the worker's state (the master CLI, when the admin socket is gone)
    const reply = dump ? await dump() : (await this.api.run(['show servers state']))[0];
    const { text, kept } = filterServersState(reply, (backend, name, addr, port) => {
      const s = want.get(backend)?.get(name);
      return !isSlot(name) && s !== undefined && s.addr === addr && s.port === port;
    });
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    return kept;
  }
}

function addKey(b: BackendModel): string {
  return `${b.name}\n${b.serverOptions}\n${b.lines.join('\n')}`;
}
