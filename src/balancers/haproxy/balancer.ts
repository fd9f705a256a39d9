/**
 * The HAProxy balancer: keeps a local HAProxy serving exactly the DesiredState it is given.
 *
 * Structure vs membership. The "structure" is the config with membership blanked (model.ts
 * `maskMembership`). If it equals what the running HAProxy was started or reloaded with, the
 * change is membership only (a node up, down, new, gone, a weight or drain/maint change): it
 * goes through the runtime API (plan.ts) on a persistent socket, and the full config (every
 * current server named, plus free slots) is written in the background (validated, not
 * reloaded; coalesced, at most one write per WRITE_DELAY_MS) so a later reload keeps every
 * server. A different structure (new cluster, changed directive), or a server the running
 * config has no room for, means write + reload, rate-limited to `restart_interval` and
 * coalesced; a reload always uses the latest state's config.
 *
 * A membership change costs what changed, not the total (1,000 x 50 servers: ~0.3 ms of CPU):
 * models are reused per cluster and the structure compared by identity (model-builder.ts), the
 * runtime view plans changed backends only, the renderer reuses unchanged backends' text.
 *
 * Across reloads: just before one, `show servers state` is dumped to the server-state file
 * (only servers the new config names at the same address: a slot's saved state would bring it
 * up at 0.0.0.0), HAProxy loads it (`load-server-state-from-file global`), and the runtime
 * state is then converged again from `show servers state`.
 *
 * Liveness: the master pid is checked before every apply, and by a timer every
 * `liveness_interval` seconds (also right away when the runtime connection drops); a dead
 * HAProxy is started again from the full current config (or, if that does not start, the last
 * config it ran). The timer also notices a worker we did not start (someone else reloaded) and
 * converges it. HAProxy is never stopped by `stop()`: it keeps serving when the writer stops.
 *
 * Never less than before because of something other than ZooKeeper's word: clusters not heard
 * yet keep what HAProxy serves for them, and clusters HAProxy refuses are left out, named, at
 * their last good version (overrides.ts, admission.ts); a deleted admin socket is re-created
 * (admin-socket.ts).
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { LighthouseError } from '../../core/errors.js';
import type { ApplyResult, Balancer, DesiredState, PluginDeps } from '../../core/plugin.js';
import { recreateSocket, socketGone } from './process/admin-socket.js';
import { Admission } from './config/admission.js';
import { haproxyVersion } from './config/check.js';
import { ConfigFile, sameText } from './config/config-file.js';
import { localPeerName } from './local-peer.js';
import { buildModel, type BackendModel } from './config/model.js';
import { Overrides } from './config/overrides.js';
import { HaproxyProcess, pidAlive, type ProcInfo } from './process/process.js';
import { ReloadScheduler } from './process/reload-scheduler.js';
import { createRenderer, type Renderer } from './config/render.js';
import { RuntimeApi } from './runtime/api.js';
import { RuntimeView } from './runtime/view.js';
import type { HaproxyConfig } from './config/schema.js';
import { Running } from './process/running.js';
import { Builder, type Built, type Models } from './config/model-builder.js';
import { startHaproxy } from './process/startup.js';
import { withIdleClose } from './runtime/idle-close.js';

export { withIdleClose };

/** background (membership-only) config-file writes: at most one per this, the latest state */
export const WRITE_DELAY_MS = 1000;

export class HaproxyBalancer implements Balancer {
  readonly renderer: Renderer;
  /** the admin runtime socket client (tests, lighthousectl) */
  readonly runtime: RuntimeApi;
  private readonly view: RuntimeView;
  private readonly log: Logger;
  private readonly file: ConfigFile;
  private readonly proc: HaproxyProcess;
  private readonly scheduler: ReloadScheduler;
  private readonly clock: Clock;
  private readonly builder: Builder;
  private readonly overrides: Overrides;
  private readonly admission: Admission;
  private lock: Promise<unknown> = Promise.resolve();
  private started = false;
  private stopped = false;
  private liveness: { cancel(): void } | null = null;

  /** the latest desired state, rendered */
  private latest: Built | null = null;
  /** what the config file on disk holds, when we wrote it */
  private written: Built | null = null;
  /** what HAProxy runs, as far as we know (running.ts) */
  private readonly running: Running;
  private masterPid: number | null = null;

  /** reloads done by this balancer */
  reloads = 0;

  constructor(
    readonly config: HaproxyConfig,
    deps: PluginDeps,
  ) {
    this.log = deps.logger.child({ component: 'haproxy' });
    this.clock = deps.clock;
    this.renderer = createRenderer({ templateDir: config.template_dir });
    const modelConfig = withIdleClose(config, haproxyVersion(config.haproxy_bin));
    this.builder = new Builder(modelConfig, this.renderer, (warnings) => this.log.warn({ warnings }, 'config problems (rendered without them)'));
    this.overrides = new Overrides(this.log);
    this.file = new ConfigFile(config.config_file, config.haproxy_bin, (err) => this.log.error({ err }, `config file not updated: ${(err as Error).message}`), WRITE_DELAY_MS);
    this.proc = new HaproxyProcess({ bin: config.haproxy_bin, configFile: config.config_file, masterSocket: config.master_socket, pidFile: config.pid_file, localPeer: () => localPeerName(config.peer_name), logger: this.log });
    this.runtime = new RuntimeApi({ socketPath: config.socket_file, onClose: () => this.onConnectionLost() });
    this.view = new RuntimeView(this.runtime, this.log, config.defaults);
    this.scheduler = new ReloadScheduler(config.restart_interval * 1000, deps.clock, () => this.exclusive(() => this.reload()));
    this.admission = new Admission({
      log: this.log,
      overrides: this.overrides,
      build: (state) => this.builder.build(state),
      write: async (built) => void (await this.writeNow(built)),
      trial: async (state) => (await this.file.trial(this.renderer.render(buildModel(modelConfig, state).model))).ok,
      // it runs (ensureRunning came first): no answer means it cannot be told now
      pids: async () => ((s) => (s ? [s.masterPid, ...s.workers, ...s.oldWorkers] : null))(await this.proc.status()),
    });
    this.running = new Running(this.builder, this.overrides, this.admission);
  }

  /** the worker serving now (tests assert it does not change on membership changes) */
  get workerPid(): number | null {
    return this.view.workerPid;
  }

  /** runtime commands sent by the last apply */
  get lastCommands(): readonly string[] {
    return this.view.lastCommands;
  }

  /** Make sure HAProxy runs: adopted, or started from the file on disk (startup.ts). */
  start(): Promise<void> {
    return this.exclusive(async () => {
      if (this.started) return;
      this.stopped = false;
      this.scheduler.open();
      const { file, proc, runtime, running, log } = this;
      const writeEmpty = async () => running.set(await this.writeNow(this.builder.build({ clusters: [] })));
      const { masterPid, recovered } = await startHaproxy({ file, proc, runtime, running, log, writeEmpty, resync: () => this.view.resync() });
      this.masterPid = masterPid;
      this.overrides.recover(recovered);
      this.started = true;
      this.armLiveness();
    });
  }

  /**
   * Runtime first: membership goes through the runtime API at once. Then the file: written in
   * the background when only membership changed, written now when a reload is needed (the
   * clusters HAProxy refuses left out, admission.ts; a refusal no cluster can be blamed for is
   * this apply's LH_ERR_HAPROXY_CONFIG), and the reload awaited.
   */
  async apply(desired: DesiredState): Promise<ApplyResult> {
    if (!this.started) await this.start();
    let state = this.overrides.apply(desired);
    let built = this.builder.build(state);
    const r = await this.exclusive(async () => {
      await this.ensureRunning(true);
      let commands = 0;
      for (;;) {
        this.latest = built;
        const plan = await this.converge(built.models.backends, built.models.delta);
        commands += plan.commands.length;
        const reasons = [
          ...(!this.running.same(built, state) ? [this.running.known ? 'structure changed' : 'running structure unknown'] : []),
          ...(plan.unplaced.length ? [`${plan.unplaced.length} servers without a runtime entry (${plan.unplaced[0].backend}/${plan.unplaced[0].server}: ${plan.unplaced[0].reason})`] : []),
          // serving already; the reload (rate-limited) gives them their own persistence cookie
          ...(plan.cookieless.length ? [`${plan.cookieless.length} servers without their cookie (${plan.cookieless[0].backend}/${plan.cookieless[0].server} serves as ${plan.cookieless[0].entry})`] : []),
        ];
        if (!reasons.length) {
          // The structure is the running one, which `haproxy -c` accepted, with a placeholder
          // server line per backend (model.ts maskBackend): what differs is server lines of IP
          // addresses, ports, weights and unique names, which HAProxy cannot reject, so no
          // `haproxy -c` (~25 ms of CPU at 10 servers, ~1.8 s at 50,000, per write). A host name
          // can fail to resolve: then it is checked. Every reload writes and checks its own file.
          const b = built;
          this.file.writeLater(() => b.parts, () => (this.written = b), b.models.hostnames);
          return { commands, reload: false };
        }
        // the clusters HAProxy would refuse are left out here, named in the log
        const a = await this.admission.admit(desired, state, built);
        if (a.built === built) {
          this.running.admitted(desired, state, built);
          this.log.info({ reasons }, 'reload needed');
          return { commands, reload: true };
        }
        ({ state, built } = a); // some left out: what remains may need no reload at all
      }
    });
    if (r.reload) await this.scheduler.request();
    return { runtimeCommands: r.commands, reloaded: r.reload };
  }

  /** Wait until the config file holds the latest membership (background writes done). */
  flush(): Promise<void> {
    return this.file.flush();
  }

  /** Close sockets and timers. HAProxy keeps running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.liveness?.cancel();
    this.liveness = null;
    this.scheduler.close();
    await this.lock;
    await this.file.flush();
    this.file.close();
    this.runtime.close();
  }

  /** Stop HAProxy itself (tests, demo). */
  async stopHaproxy(): Promise<void> {
    await this.stop();
    await this.proc.stop();
  }

  /** Dry run: the runtime commands `apply(desired)` would send now, and whether it would reload. */
  plan(desired: DesiredState): { commands: string[]; reload: boolean } {
    const built = this.builder.build(this.overrides.apply(desired));
    const plan = this.view.plan(built.models.backends);
    return { commands: plan.commands, reload: !this.running.same(built) || plan.unplaced.length > 0 || plan.cookieless.length > 0 };
  }

  /** Dry run: the full config text `apply(desired)` would write. */
  renderConfig(desired: DesiredState): string {
    return this.builder.build(this.overrides.apply(desired)).text;
  }

  /** The master's `show proc`, or null when HAProxy is not running. */
  processInfo(): Promise<ProcInfo | null> {
    return this.proc.status();
  }

  /** The runtime API converge, after re-creating the admin socket if its file is gone. */
  private async converge(backends: readonly BackendModel[], delta?: Models['delta']) {
    try {
      return await this.view.converge(backends, delta);
    } catch (err) {
      if (!socketGone(err, this.config.socket_file)) throw err;
      await this.recreateSocket((err as Error).message);
      return this.view.converge(backends);
    }
  }

  /** `converge`: then make the worker serve the latest state */
  private async recreateSocket(why: string, converge = false): Promise<void> {
    const target = this.written ?? this.latest;
    if (!target) throw new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy admin socket ${this.config.socket_file} is gone and no config is known to reload with`);
    const { socket_file: socketFile, master_socket: masterSocket, server_state_file: serverStateFile } = this.config;
    this.runtime.close();
    this.view.invalidate();
    this.reloads += await recreateSocket({ socketFile, masterSocket, serverStateFile, file: this.file, proc: this.proc, view: this.view, log: this.log }, target, why);
    this.written = target;
    this.running.set(target);
    await this.view.resync();
    if (converge && this.latest) await this.view.converge(this.latest.models.backends);
  }

  private async writeNow(built: Built): Promise<Built> {
    await this.file.settle(); // a queued background write is older: drop it
    await this.file.write(built.parts);
    return (this.written = built);
  }

  private async reload(): Promise<void> {
    if (this.stopped) return;
    if (await this.ensureRunning()) return; // just started from the current file
    await this.file.flush();
    const target = this.written;
    if (!target) return;
    if (!existsSync(this.config.socket_file)) return this.recreateSocket('its file is missing', true); // reloads `target`
    const t0 = performance.now();
    this.view.invalidate(); // read again after the reload: drop the old rows now (memory peak)
    // (a thin target, the fallback config, has no backends: no server state carried)
    const kept = await this.view.saveServerState(target.models.backends, this.config.server_state_file);
    const previous = this.view.workerPid;
    let info: ProcInfo;
    try {
      info = await this.proc.reload();
    } catch (err) {
      this.running.reloadFailed(err);
      throw err;
    }
    this.reloads++;
    this.masterPid = info.masterPid;
    this.running.set(target);
    this.runtime.close(); // it still talks to the old worker (and keeps it alive)
    await this.view.resync();
    if (this.latest) await this.view.converge(this.latest.models.backends);
    this.log.info({ workerPid: this.view.workerPid, previousWorkerPid: previous, reloads: this.reloads, serverStates: kept, ms: Math.round(performance.now() - t0) }, 'HAProxy reloaded');
  }

  /** Start HAProxy again if it died, from the full current config. Returns true when it had to.
   * `trustConnection`: an open runtime connection to the worker is proof enough (a worker exits
   * with its master, and the connection's close triggers the full check at once), which keeps
   * a /proc read (~0.3 ms when the path is cold) off the path of every membership change. */
  private async ensureRunning(trustConnection = false): Promise<boolean> {
    if (trustConnection && this.runtime.connected && this.masterPid !== null) return false;
    if (this.masterPid !== null && pidAlive(this.masterPid)) return false;
    const status = await this.proc.status();
    if (status) {
      if (status.workers[0] !== this.view.workerPid) this.view.invalidate();
      this.masterPid = status.masterPid;
      return false;
    }
    this.log.warn({ masterPid: this.masterPid, workerPid: this.view.workerPid }, 'HAProxy is not running: starting it from the current config');
    this.runtime.close();
    if (this.latest) {
      await this.writeNow(this.latest).catch((err) => this.log.error({ err }, 'current config rejected: starting from the file on disk'));
    }
    try {
      this.masterPid = (await this.proc.start()).masterPid;
    } catch (err) {
      const good = this.running.good;
      if (!good || (this.written && sameText(good.parts, this.written.parts))) throw err;
      this.log.error({ err }, 'HAProxy did not start with the current config: starting it with the last config it ran');
      await this.writeNow(good);
      this.masterPid = (await this.proc.start()).masterPid;
    }
    this.running.set(this.written);
    this.view.invalidate();
    await this.view.resync();
    if (this.latest) await this.view.converge(this.latest.models.backends);
    return true;
  }

  private onConnectionLost(): void {
    if (this.started && !this.stopped && this.masterPid !== null && !pidAlive(this.masterPid)) void this.checkLiveness();
  }

  /** Dead HAProxy -> start it. A worker we did not start (someone reloaded HAProxy behind our
   * back, loading a server-state file that may be old) -> converge it to the current state. */
  private checkLiveness(): Promise<void> {
    return this.exclusive(async () => {
      if ((await this.ensureRunning()) || !this.latest) return;
      if (!existsSync(this.config.socket_file)) return this.recreateSocket('its file is missing', true);
      const status = await this.proc.status();
      if (!status || status.workers[0] === this.view.workerPid) return;
      this.log.warn({ workerPid: status.workers[0], knownWorkerPid: this.view.workerPid }, 'HAProxy reloaded by someone else: converging its servers');
      this.runtime.close();
      this.view.invalidate();
      await this.view.converge(this.latest.models.backends);
    }).then(
      () => {},
      (err) => this.log.error({ err }, `HAProxy liveness check failed: ${(err as Error).message}`),
    );
  }

  private armLiveness(): void {
    const ms = this.config.liveness_interval * 1000;
    if (!ms || this.stopped) return;
    this.liveness = this.clock.setTimeout(() => {
      void this.checkLiveness().finally(() => this.armLiveness());
    }, ms);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }
}
