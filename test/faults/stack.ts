/**
 * One node of a Lighthouse deployment for fault scenarios, on loopback: a real ZooKeeper
 * (standalone or an ensemble), HTTP backends whose health the test switches, reporters and a
 * writer run from the build (dist/, what production runs) as their own processes, and the
 * HAProxy the writer starts. Everything started is stopped by its own pid and every temp dir
 * removed by `stop()`, which runs even when the scenario fails (call it from `after`).
 *
 * The one line a scenario prints (`report`): requests sent / failed, HAProxy reloads (the
 * writers' "HAProxy reloaded" log lines; a restarted HAProxy resets its own `show proc` count)
 * and the convergence times it measured.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { masterCommand, parseShowProc, type ProcInfo } from '../../src/balancers/haproxy/process/process.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { servedBy, startLoad, type Load, type LoadOptions } from '../helpers/load.js';
import { waitFor } from '../helpers/wait.js';
import { startEnsemble, startZooKeeper, type ZkEnsemble, type ZkServer } from '../helpers/zookeeper.js';

export interface StackOptions {
  /** members of a ZooKeeper ensemble; default a standalone server */
  ensemble?: number;
  /** the daemons' ZooKeeper session timeout, default 4000 ms, the most tickTime 200 allows: a
   * restarted or loaded ZooKeeper gets the longest time to answer before a session is lost */
  sessionTimeoutMs?: number;
  /** the ZooKeeper path, default /lh */
  path?: string;
  /** extra lines of HAProxy's `global` section */
  global?: string[];
}

export interface Reporter {
  host: string;
  dir: string;
  daemon: Daemon;
}

/** health checks every 0.25 s, down after two failures (a single check slowed by a loaded
 * machine is not a change); flap damping out of the way (scenarios toggle health on purpose) */
const serviceYaml = (ports: number[]) =>
  `ports: [${ports.join(', ')}]\ndiscovery: zookeeper\nflap_damping: {max_changes: 1000, window: 1}\nchecks:\n  interval: 0.25\n  timeout: 0.25\n  http: {uri: /health, rise: 1, fall: 2}\n`;

export class FaultStack {
  zk: ZkServer | null = null;
  ensemble: ZkEnsemble | null = null;
  hap!: HaproxyEnv;
  /** the writer's config dir */
  dir!: string;
  writer: Daemon | null = null;
  /** every writer started, for their logs */
  readonly writers: Daemon[] = [];
  readonly reporters = new Map<string, Reporter>();
  readonly backends = new Map<string, Backend>();
  /** the traffic the scenario counts (the latest loadWhenServed) */
  load: Load | null = null;
  /** convergence times the scenario measured (ms), by what converged */
  readonly converged: Record<string, number> = {};
  private root = '';
  private readonly undo: (() => Promise<unknown>)[] = [];
  private readonly env: Record<string, string> = { LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };

  private constructor(
    readonly name: string,
    private readonly opts: StackOptions,
  ) {}

  /** ZooKeeper, the HAProxy paths and the writer's config dir (no cluster yet, nothing else
   * running). On failure everything started so far is stopped. */
  static async start(name: string, opts: StackOptions = {}): Promise<FaultStack> {
    const s = new FaultStack(name, opts);
    try {
      s.root = await mkdtemp(join(tmpdir(), `lh-faults-${name}-`));
      s.undo.push(() => rm(s.root, { recursive: true, force: true }));
      if (opts.ensemble) {
        const ens = await startEnsemble({ size: opts.ensemble, readyTimeoutMs: 60_000 });
        s.ensemble = ens;
        s.undo.push(() => ens.stop());
      } else {
        const zk = await startZooKeeper({ readyTimeoutMs: 60_000 });
        s.zk = zk;
        s.undo.push(() => zk.stop());
      }
      const hap = await haproxyEnv(opts.global ? { global: opts.global } : {});
      s.hap = hap;
      s.undo.push(() => hap.cleanup());
      s.dir = join(s.root, 'writer');
      for (const d of ['balancers', 'discovery', 'clusters']) await mkdir(join(s.dir, d), { recursive: true });
      await writeFile(join(s.dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
      await writeFile(join(s.dir, 'discovery/zookeeper.yaml'), s.discoveryYaml());
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  get connectString(): string {
    return (this.ensemble ?? this.zk)!.connectString;
  }

  get path(): string {
    return this.opts.path ?? '/lh';
  }

  private discoveryYaml(): string {
    const hosts = this.connectString.split(',').map((h) => `"${h}"`);
    return `hosts: [${hosts.join(', ')}]\npath: ${this.path}\nsession_timeout: ${this.opts.sessionTimeoutMs ?? 4000}\n`;
  }

  /** A backend answering its id (health switchable), stopped with the stack. */
  async backend(id: string): Promise<Backend> {
    const b = await startBackend(id);
    this.backends.set(id, b);
    this.undo.push(() => b.close());
    return b;
  }

  /** clusters/NAME.yaml on a free port (or `port`); returns the port */
  async cluster(name: string, opts: { port?: number; backend?: string[] } = {}): Promise<number> {
    const port = opts.port ?? (await freePort());
    const lines = ['mode http', ...(opts.backend ?? [])].map((l) => JSON.stringify(l)).join(', ');
    await writeFile(join(this.dir, 'clusters', `${name}.yaml`), `discovery: zookeeper\nhaproxy:\n  port: ${port}\n  backend: [${lines}]\n`);
    return port;
  }

  /** A reporter advertising `host`, publishing each service on its backends' ports. */
  async reporter(host: string, services: Record<string, string[]>): Promise<Reporter> {
    const dir = join(this.root, `reporter-${host}`);
    for (const d of ['discovery', 'services']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'discovery/zookeeper.yaml'), this.discoveryYaml());
    // no HTTP server and a state file of its own: reporters of one machine must not share them
    // (files a reporter without availability control ignores)
    await writeFile(join(dir, 'http.yaml'), 'port: false\nsocket: false\n');
    await writeFile(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
    const r: Reporter = { host, dir, daemon: null as unknown as Daemon };
    this.reporters.set(host, r);
    for (const [service, ids] of Object.entries(services)) await this.publish(host, service, ids);
    r.daemon = startDaemon('lighthouse-reporter', [dir], { ...this.env, LIGHTHOUSE_ADVERTISE_HOST: host }, true);
    this.undo.push(() => r.daemon.stop('SIGKILL'));
    return r;
  }

  /** (Re)write a reporter's services/SERVICE.yaml: the service on these backends' ports. */
  async publish(host: string, service: string, ids: string[]): Promise<void> {
    const r = this.reporters.get(host)!;
    await writeFile(join(r.dir, 'services', `${service}.yaml`), serviceYaml(ids.map((id) => this.backends.get(id)!.port)));
  }

  /** Start (or, after a kill, start again) the writer. */
  startWriter(): Daemon {
    const w = startDaemon('lighthouse-writer', [this.dir], { ...this.env, LIGHTHOUSE_ADVERTISE_HOST: 'writer-node' }, true);
    this.writer = w;
    this.writers.push(w);
    this.undo.push(() => w.stop('SIGKILL'));
    return w;
  }

  /** Wait until `port` is served by exactly `ids`, probing with short bursts of requests. */
  async serving(port: number, ids: string[], ms = 60_000): Promise<void> {
    const want = [...ids].sort().join(',');
    let last = '';
    await waitFor(
      async () => {
        const t = await traffic(port, ids.length * 6, 2);
        last = `${[...t.hits.keys()].sort().join(',')}; ${t.failed} failed`;
        return t.failed === 0 && [...t.hits.keys()].sort().join(',') === want;
      },
      `port ${port} served by ${want}`,
      ms,
      () => `; last burst: ${last}${this.problems()}`,
    );
  }

  /** Wait until the writer has no reload in flight (its last 'reload needed' was followed by
   * a reload or a start) and HAProxy has no old worker left: a fault injected then meets a
   * quiet node, not one half-way through its start-up reload. */
  async settled(ms = 30_000): Promise<void> {
    const quiet = () => {
      const steps = (this.writer?.logs ?? []).filter((l) => l.msg === 'reload needed' || l.msg === 'HAProxy reloaded' || l.msg === 'HAProxy started');
      return steps.at(-1)?.msg !== 'reload needed';
    };
    await waitFor(async () => quiet() && (await this.proc())?.oldWorkers.length === 0, 'the writer and HAProxy settled (no reload in flight, no old worker)', ms, () => this.problems());
  }

  /** Once `port` is served by exactly `ids` and the node has settled, start the continuous load
   * the scenario counts (what it counts begins with a serving cluster). */
  async loadWhenServed(port: number, ids: string[], opts: LoadOptions = {}): Promise<Load> {
    await this.serving(port, ids);
    await this.settled();
    const load = startLoad(port, opts);
    this.load = load;
    this.undo.push(() => load.stop());
    return load;
  }

  /** Wait until the counted traffic is answered by exactly `ids` (servedBy) and record how
   * long that took from `since` (load time, taken before the change) under `label`. */
  async converge(label: string, ids: string[], since: number, ms = 20_000): Promise<number> {
    const t = await servedBy(this.load!, ids, `${label}: served by ${ids.join(', ')}`, ms, since).catch((err: Error) => {
      throw new Error(`${err.message}${this.problems()}`, { cause: err });
    });
    this.converged[label] = t;
    return t;
  }

  /**
   * The usual start: backends `web` (and `spare`, started but not published), cluster web,
   * reporter node-a publishing web on `web` (and the other `services`), the writer; resolves
   * once web is served by `web`, with the counted load on it.
   */
  async serveWeb(opts: { web: string[]; spare?: string[]; services?: Record<string, string[]>; load?: LoadOptions }): Promise<{ port: number; load: Load; reporter: Reporter; writer: Daemon }> {
    for (const id of [...opts.web, ...(opts.spare ?? [])]) await this.backend(id);
    const port = await this.cluster('web');
    const reporter = await this.reporter('node-a', { web: opts.web, ...opts.services });
    const writer = this.startWriter();
    const load = await this.loadWhenServed(port, opts.web, opts.load);
    return { port, load, reporter, writer };
  }

  /** HAProxy's master, or null while none answers */
  async proc(): Promise<ProcInfo | null> {
    return masterCommand(this.hap.masterSocket, 'show proc', 1000).then(parseShowProc, () => null);
  }

  /** reloads done by every writer of this stack (from their logs) */
  reloads(): number {
    return this.writers.reduce((n, w) => n + w.logs.filter((l) => l.msg === 'HAProxy reloaded').length, 0);
  }

  /** HAProxy starts by every writer of this stack */
  haproxyStarts(): number {
    return this.writers.reduce((n, w) => n + w.logs.filter((l) => l.msg === 'HAProxy started').length, 0);
  }

  /** the writers' last distinct warnings and errors (first lines), for assertion messages */
  problems(n = 6): string {
    const msgs = this.writers.flatMap((w) => w.logs.filter((l) => Number(l.level) >= 40).map((l) => String(l.msg).split('\n')[0].slice(0, 240)));
    const distinct = [...new Set(msgs.reverse())].slice(0, n).reverse();
    return distinct.length ? `; writer warnings/errors: ${distinct.join(' | ')}` : '';
  }

  /** The scenario's one line: the counted traffic, reloads, convergence times. Scenarios print
   * it from `finally`, so a failing one says how far it got. */
  report(what: string, extra = ''): string {
    const load = this.load?.stats() ?? { sent: 0, failed: 0, errors: [], phases: [] };
    const times = Object.entries(this.converged).map(([k, v]) => `${k} ${v} ms`).join(', ');
    const line = `[faults] ${this.name} (${what}): sent ${load.sent}, failed ${load.failed}${load.errors.length ? ` [${load.errors.join(', ')}; after ${load.phases.join(', after ')}]` : ''}, reloads ${this.reloads()}, HAProxy starts ${this.haproxyStarts()}; converged: ${times || '-'}${extra ? `; ${extra}` : ''}`;
    console.log(line);
    return line;
  }

  /** Stop everything started, newest first; never throws. With FAULTS_LOG_DIR set, the
   * daemons' logs are kept there first (NAME-writer-1.log, NAME-reporter-HOST.log, and the
   * load's marks with their wall-clock time in NAME-marks.log). */
  async stop(): Promise<void> {
    const keep = process.env.FAULTS_LOG_DIR;
    if (keep) await this.keepLogs(keep).catch((err) => console.log(`[faults] ${this.name}: logs not kept in ${keep}: ${(err as Error).message}`));
    for (const f of this.undo.splice(0).reverse()) await f().catch(() => {});
  }

  private async keepLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const lines = (d: Daemon) => [...d.logs.map((l) => JSON.stringify(l)), ...d.raw].join('\n') + '\n';
    for (const [i, w] of this.writers.entries()) await writeFile(join(dir, `${this.name}-writer-${i + 1}.log`), lines(w));
    for (const r of this.reporters.values()) if (r.daemon) await writeFile(join(dir, `${this.name}-reporter-${r.host}.log`), lines(r.daemon));
    if (this.load) await writeFile(join(dir, `${this.name}-marks.log`), this.load.marks.map((m) => JSON.stringify(m)).join('\n') + '\n');
  }
}
