/**
 * The HAProxy balancer: keeps a local HAProxy serving exactly the DesiredState it is given.
 * The one orchestrator of the three folders, in the order data takes them: config/ (models,
 * render, admission, the file and `haproxy -c`), runtime/ (what HAProxy runs, the plan, the
 * runtime API), process/ (start, reload, liveness). Structure vs membership, the rules of a
 * reload, the server-state carried across one and liveness are explained in
 * docs/ARCHITECTURE.md ("The HAProxy balancer"); bench/writer-process-scale.ts measures the
 * membership path.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { LighthouseError } from '../../core/errors.js';
import type { ApplyResult, Balancer, DesiredState, PluginDeps, ServedServer } from '../../core/plugin.js';
import { recreateSocket, socketGone } from './process/admin-socket.js';
import { Admission } from './config/admission.js';
import { haproxyVersion } from './config/check.js';
import { ConfigFile } from './config/config-file.js';
import { localPeerName } from './local-peer.js';
import { buildModel, type BackendModel } from './config/model.js';
import { Overrides } from './config/overrides.js';
import { HaproxyProcess, pidAlive, type ProcInfo } from './process/process.js';
import { ReloadScheduler } from './process/reload-scheduler.js';
import { createRenderer, type Renderer } from './config/render.js';
import { RuntimeApi } from './runtime/api.js';
import { RuntimeView } from './runtime/view.js';
import type { HaproxyConfig } from './config/schema.js';
import { reloadLabel, Running } from './process/running.js';
import { Builder, type Built, type Models } from './config/model-builder.js';
import { LivenessTimer } from './process/liveness.js';
import { restartHaproxy, startHaproxy } from './process/startup.js';
import { withIdleClose } from './config/idle-close.js';

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
  private readonly builder: Builder;
  private readonly overrides: Overrides;
  private readonly admission: Admission;
  private lock: Promise<unknown> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly liveness: LivenessTimer;

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
    this.liveness = new LivenessTimer(deps.clock, config.liveness_interval * 1000, () => this.checkLiveness(), this.log);
  }

  /** the worker serving now (tests assert it does not change on membership changes) */
  get workerPid(): number | null {
    return this.view.workerPid;
  }

  /** The servers as HAProxy serves them, by cluster, with no socket round trip (RuntimeView). */
  serving(): ReadonlyMap<string, ServedServer[]> {
    return this.latest ? this.view.servedByCluster(this.latest.models.backends) : new Map();
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
      this.liveness.start();
    });
  }

  /** Runtime API first, at once; then the file: in the background for membership only, now for a
   * reload (clusters HAProxy refuses left out, admission.ts; a refusal no cluster can be blamed
   * for is this apply's LH_ERR_HAPROXY_CONFIG), and the reload awaited. */
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
        const reasons = this.running.reloadReasons(built, state, plan);
        if (!reasons.length) {
          // the running structure passed `haproxy -c` with placeholder servers (maskBackend): server
          // lines HAProxy cannot reject differ, so no check, unless a host name may not resolve
          const b = built;
          this.file.writeLater(() => b.parts, () => (this.written = b), b.models.hostnames);
          return { commands, reload: false, why: undefined };
        }
        // the clusters HAProxy would refuse are left out here, named in the log
        const a = await this.admission.admit(desired, state, built);
        if (a.built === built) {
          this.running.admitted(desired, state, built);
          this.log.info({ reasons }, 'reload needed');
          return { commands, reload: true, why: reloadLabel(reasons[0]) };
        }
        ({ state, built } = a); // some left out: what remains may need no reload at all
      }
    });
    if (r.reload) await this.scheduler.request();
    return { runtimeCommands: r.commands, reloaded: r.reload, ...(r.why && { reloadReason: r.why }) };
  }

  /** Wait until the config file holds the latest membership (background writes done). */
  flush(): Promise<void> {
    return this.file.flush();
  }

  /** Close sockets and timers. HAProxy keeps running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    this.liveness.stop();
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
    return { commands: plan.commands, reload: this.running.reloadReasons(built, undefined, plan).length > 0 };
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
    this.reloads += await recreateSocket({ socketFile, masterSocket, serverStateFile, file: this.file, proc: this.proc, runtime: this.runtime, view: this.view, log: this.log }, target, why);
    this.written = target;
    this.running.set(target);
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

  /** Start HAProxy again if it died, from the full current config; true when it had to. With
   * `trustConnection` an open runtime connection is proof enough (a worker exits with its master,
   * and the connection's close triggers the full check at once): no /proc read per change. */
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
    this.masterPid = await restartHaproxy({ proc: this.proc, log: this.log, latest: this.latest, good: this.running.good, written: () => this.written, writeNow: (b) => this.writeNow(b) });
    this.running.set(this.written);
    this.view.invalidate();
    await this.view.resync();
    if (this.latest) await this.view.converge(this.latest.models.backends);
    return true;
  }

  private onConnectionLost(): void {
    if (this.started && !this.stopped && this.masterPid !== null && !pidAlive(this.masterPid)) void this.liveness.now();
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
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }
}
