/**
 * Our view of the running worker's servers (`show servers state` rows), kept current by
 * simulating the commands we send, and re-read whenever it may be stale: after a reload or
 * restart, when the worker we talk to is not the one the view is about (HAProxy reloaded or
 * restarted behind our back), or when HAProxy refuses a command.
 */
import type { Logger } from 'pino';
import { writeFile, rename } from 'node:fs/promises';
import { LighthouseError } from '../../core/errors.js';
import type { RenderModel } from './model.js';
import { isSlot, planRuntime, type RuntimePlan } from './plan.js';
import type { RuntimeApi } from './runtime-api.js';
import { formatServersState, parseInfo, parseServersState, replyError, type ServerStateRow } from './runtime-parse.js';

export class RuntimeView {
  /** the worker the view is about */
  workerPid: number | null = null;
  /** commands sent by the last converge */
  lastCommands: string[] = [];
  private rows: ServerStateRow[] | null = null;

  constructor(
    private readonly api: RuntimeApi,
    private readonly log: Logger,
  ) {}

  /** Forget the view: the next converge reads `show servers state` first. */
  invalidate(): void {
    this.rows = null;
  }

  /** Dry run against the current view. */
  plan(model: RenderModel): RuntimePlan {
    return planRuntime(this.rows ?? [], model.backends);
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
      this.rows = parseServersState(stateText).rows;
      return;
    }
  }

  /**
   * Make the worker serve `model`'s membership. The commands go in one write together with a
   * `show info` (one round trip) that confirms the view is about the worker we talk to; on a
   * different or stopping worker, or a refused command, the view is read again and the plan
   * redone once.
   */
  async converge(model: RenderModel): Promise<RuntimePlan> {
    for (let attempt = 0; ; attempt++) {
      if (!this.rows) await this.resync();
      const plan = planRuntime(this.rows!, model.backends);
      const t0 = performance.now();
      const replies = await this.api.execute(['show info', ...plan.commands]);
      const info = parseInfo(replies[0]);
      const failures = plan.commands.flatMap((c, i) => {
        const e = replyError(c, replies[i + 1]);
        return e ? [`'${c}': ${e}`] : [];
      });
      const moved = Number(info.Pid) !== this.workerPid || info.Stopping === '1';
      if (!moved && !failures.length) {
        this.rows = plan.next;
        this.lastCommands = plan.commands;
        if (plan.commands.length) {
          this.log.info({ workerPid: this.workerPid, commands: plan.commands.length, backends: plan.changed, ms: +(performance.now() - t0).toFixed(2) }, 'servers updated via runtime API');
        }
        return plan;
      }
      this.log.warn({ failures, workerPid: this.workerPid, seenPid: Number(info.Pid), stopping: info.Stopping === '1' }, 'runtime view out of date: reading server state again');
      if (info.Stopping === '1') this.api.close();
      this.rows = null;
      if (attempt >= 1) {
        const what = failures.length ? `commands refused after a fresh read: ${failures.join('; ')}` : 'the worker changed during the apply';
        throw new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy runtime API ${this.api.socketPath}: ${what}`);
      }
    }
  }

  /**
   * `show servers state` -> the server-state file HAProxy loads at its next start, keeping only
   * servers `model` (the config about to be loaded) names at the same address: a slot's saved
   * state would bring the fresh slot up at 0.0.0.0 (HAProxy matches saved rows by name).
   */
  async saveServerState(model: RenderModel, file: string): Promise<number> {
    const want = new Map(model.backends.flatMap((b) => b.servers.map((s) => [`${b.name}/${s.name}`, s] as const)));
    const state = await this.api.showServersState();
    const keep = state.rows.filter((r) => {
      const s = want.get(`${r.backend}/${r.name}`);
      return !isSlot(r.name) && s !== undefined && s.addr === r.addr && s.port === r.port;
    });
    await writeFile(`${file}.tmp`, formatServersState(state, keep));
    await rename(`${file}.tmp`, file);
    return keep.length;
  }
}
