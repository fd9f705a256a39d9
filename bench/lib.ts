/**
 * Shared by the benchmarks in bench/ (not a benchmark itself: scripts/bench.sh skips it).
 *
 * - `cleanup`: a stack of undo steps run at the end, on an exception and on SIGINT / SIGTERM.
 *   Every process is stopped by its own pid (HAProxy by the pid in its pid file).
 * - `benchZk`: the bench's own ZooKeeper session (raw client, no mkdirp round trip before a
 *   timed create), single ops and multi-op transactions.
 * - `benchNode` / znode paths: instances in the Python Lighthouse format (znode-format.ts encodeNode).
 * - `writeConfigDir`, `inProcessWriter`: a writer config directory and a Writer built as the CLI
 *   builds it, whose HaproxyBalancer is captured (through the registry, no src change).
 * - figures: `hrMs` (CLOCK_MONOTONIC, comparable across processes), `stats`, `fmt`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { stringify } from 'yaml';
import { builtinRegistry } from '../src/plugins.js';
import { systemClock } from '../src/core/clock.js';
import type { NodeState, ServiceNode } from '../src/core/node.js';
import type { BalancerPlugin, DiscoveryPlugin } from '../src/core/plugin.js';
import type { Registry } from '../src/core/registry.js';
import { ConfigStore } from '../src/config/store.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { Writer } from '../src/writer/writer.js';
import { encodeNode } from '../src/discovery/zookeeper/znode-format.js';
import { createZkClient, CreateMode, ZK_ERR } from '../src/discovery/zookeeper/zk-client.js';
import type { HaproxyBalancer } from '../src/balancers/haproxy/balancer.js';
import { masterCommand, parseShowProc, type ProcInfo } from '../src/balancers/haproxy/process/process.js';
import { adminMode, parseServersState, type ServerStateRow } from '../src/balancers/haproxy/runtime/parse.js';

// ------------------------------------------------------------------ cleanup

const undo: (() => Promise<unknown> | unknown)[] = [];
/** processes of ours to SIGKILL if we die early (by signal): the orderly path is `undo` */
const pids = new Set<number>();
export const cleanup = {
  add(fn: () => Promise<unknown> | unknown): void {
    undo.push(fn);
  },
  /** SIGKILL `pid` at exit unless `forget` ran first */
  pid(pid: number): void {
    pids.add(pid);
  },
  forget(pid: number): void {
    pids.delete(pid);
  },
  async run(): Promise<void> {
    while (undo.length) {
      try {
        await undo.pop()!();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  },
};
process.on('exit', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});
// On a signal, exit at once: the 'exit' hooks of this file and of test/helpers (ZooKeeper JVMs,
// HAProxy masters by their pid files, daemons) kill what is left, each by its own pid.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.prependOnceListener(sig, () => process.exit(130));

/** Run `main`, then the cleanup stack whatever happened; exit 1 on an error. */
export function runBench(main: () => Promise<void>): void {
  main()
    .then(() => cleanup.run())
    .then(
      () => process.exit(0),
      async (err) => {
        console.error(err);
        await cleanup.run();
        process.exit(1);
      },
    );
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------ figures

/** Milliseconds on CLOCK_MONOTONIC: one clock for every process of the host (Linux). */
export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Nearest-rank percentiles. */
export function stats(xs: readonly number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

export function fmt(x: number, digits = 2): string {
  return `${x.toFixed(digits)} ms`;
}

export function fmtStats(s: ReturnType<typeof stats>): string {
  return `p50 ${fmt(s.p50)}  p99 ${fmt(s.p99)}  max ${fmt(s.max)}  (n=${s.n})`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU ms (10 ms ticks) used by a process and by its reaped children, from /proc/PID/stat. */
export function procCpu(pid: number | 'self'): { self: number; user: number; kernel: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const user = Number(f[11]) * 10;
  const kernel = Number(f[12]) * 10;
  return { self: user + kernel, user, kernel, children: (Number(f[13]) + Number(f[14])) * 10 };
}

/** CPU ms of the `haproxy -c` runs of process `pid`: they run under its long-lived checker shell
 * (balancers/haproxy/config/check.ts ConfigChecker), whose children are reaped by the shell, not by `pid`; plus
 * any child `pid` reaped itself. */
export function checkCpu(pid: number | 'self'): number {
  const self = pid === 'self' ? process.pid : pid;
  let ms = procCpu(pid).children;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    if (Number(f[1]) === self && comm === 'sh') ms += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  }
  return ms;
}

/** `node --import tsx FILE ARGS` with an IPC channel; SIGTERM then SIGKILL at cleanup. */
/** The V8 / node flags a bin's shebang sets (`#!/usr/bin/env -S node FLAGS`): a bench that runs
 * the product's code in a process of its own runs it with them, as the bin would. */
export function shebangFlags(bin: 'lighthouse-writer' | 'lighthouse-reporter'): string[] {
  const first = readFileSync(new URL(`../bin/${bin}.js`, import.meta.url), 'utf8').split('\n')[0];
  return /^#!\/usr\/bin\/env -S node (.*)$/.exec(first)?.[1].split(/\s+/) ?? [];
}

export function forkTs(file: string, args: string[], execArgv: string[] = []): ChildProcess {
  const proc = fork(file, args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.pid(proc.pid!);
  cleanup.add(async () => {
    const exited = new Promise((r) => proc.once('exit', r));
    if (proc.exitCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.exitCode === null && proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    cleanup.forget(proc.pid!);
  });
  return proc;
}

// ------------------------------------------------------------------ ZooKeeper

export type ZkOp = { op: 'create'; path: string; data: string } | { op: 'set'; path: string; data: string } | { op: 'remove'; path: string };

/** create (ephemeral unless told), set, remove: one request each; `multi`: one transaction
 * (creates ephemeral); `mkdirp`: persistent znodes down to a path. */
export async function benchZk(connectString: string) {
  const client = createZkClient(connectString, 10_000, 100);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bench ZooKeeper session: cannot connect to ${connectString}`)), 15_000);
    client.once('connected', () => (clearTimeout(t), resolve()));
    client.connect();
  });
  cleanup.add(() => client.close());
  const cb = (fn: (done: (err: Error | null) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
  const create = (path: string, data: string, ephemeral = true) =>
    cb((done) => client.create(path, Buffer.from(data), ephemeral ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT, (err) => done(err)));
  return {
    client,
    create,
    set: (path: string, data: string) => cb((done) => client.setData(path, Buffer.from(data), -1, (err) => done(err))),
    remove: (path: string) => cb((done) => client.remove(path, -1, (err) => done(err))),
    multi(ops: readonly ZkOp[]) {
      const t = client.transaction();
      for (const o of ops) {
        if (o.op === 'create') t.create(o.path, Buffer.from(o.data), CreateMode.EPHEMERAL);
        else if (o.op === 'set') t.setData(o.path, Buffer.from(o.data), -1);
        else t.remove(o.path, -1);
      }
      return cb((done) => t.commit((err) => done(err)));
    },
    async mkdirp(path: string) {
      let at = '';
      for (const part of path.split('/').filter(Boolean)) {
        at += `/${part}`;
        await create(at, '', false).catch((err: { code?: number }) => {
          if (err.code !== ZK_ERR.NODE_EXISTS) throw err;
        });
      }
    },
    /**
     * `reads` getData of `path`, 100 in flight: ZooKeeper's request path compiled by the JVM's
     * optimizing JIT (it compiles a method after ~10,000 calls), as in a server that has been
     * serving for a while. Resolves with the ms it took.
     */
    async warm(path: string, reads: number): Promise<number> {
      const t = performance.now();
      const read = () => cb((done) => client.getData(path, undefined, (err) => done(err)));
      for (let k = 0; k < reads; k += 100) await Promise.all(Array.from({ length: Math.min(100, reads - k) }, read));
      return performance.now() - t;
    },
    close: () => client.close(),
  };
}

/** The writer benches' cluster: ZooKeeper as Debian runs it, the bench's session, and `nodes`
 * fixed members at PATH/CLUSTER. */
export async function fixedCluster(path: string, cluster: string, nodes: number) {
  const zk = await startZooKeeper({ tickTime: 200, jvm: 'package' });
  cleanup.add(() => zk.stop());
  const bz = await benchZk(zk.connectString);
  await bz.mkdirp(`${path}/${cluster}`);
  const members: ServiceNode[] = [];
  for (let i = 0; i < nodes; i++) {
    const n = benchNode(20000 + i, { host: `node${i}.bench` });
    await bz.create(znodePath(path, cluster, n), znodeData(n));
    members.push(n);
  }
  return { zk, bz, members };
}

/** Change `i` of the writer benches' cycle: one extra node added, re-weighted and removed in
 * turn (a new port each time, cycling over 3 so a node also comes back to the slot holding its
 * address). The members after it, and the write that makes it. */
export function cycleChange(i: number, members: readonly ServiceNode[], path: string, cluster: string) {
  const kind = (['add', 'weight', 'remove'] as const)[i % 3];
  const k = Math.floor(i / 3);
  const extra = benchNode(21000 + (k % 3), { host: `extra${k % 3}.bench`, ...(kind === 'weight' && { weight: 2 + (k % 7) }) });
  const at = znodePath(path, cluster, extra);
  const others = members.filter((n) => n.name !== extra.name);
  return {
    kind,
    members: kind === 'remove' ? others : [...others, extra],
    write: (bz: Awaited<ReturnType<typeof benchZk>>) => (kind === 'add' ? bz.create(at, znodeData(extra)) : kind === 'weight' ? bz.set(at, znodeData(extra)) : bz.remove(at)),
  };
}

/** One service instance as a reporter publishes it. */
export function benchNode(port: number, opts: { ip?: string; host?: string; weight?: number; state?: NodeState } = {}): ServiceNode {
  const ip = opts.ip ?? '127.0.0.1';
  const host = opts.host ?? ip;
  const extra = { ...(opts.weight !== undefined && { weight: opts.weight }), ...(opts.state !== undefined && { state: opts.state }) };
  return { name: `${host}:${port}`, host, ip, port, peer: null, metadata: {}, ...extra };
}

/** An address for node `i` of cluster `c`, unique within the cluster: 10.C.C.(i+1) for the
 * first 254, then 11.C.I.I (a cluster of thousands: `i + 1` is no address octet past 254) */
export const benchIp = (c: number, i: number) => (i < 254 ? `10.${c >> 8}.${c & 255}.${i + 1}` : `11.${c & 255}.${i >> 8}.${i & 255}`);

export const znodePath = (base: string, cluster: string, n: ServiceNode) => `${base}/${cluster}/${n.name}`;
export const znodeData = (n: ServiceNode) => encodeNode(n);

/** What a balancer should serve for a cluster, comparable between the bench and a writer. */
export function membershipSig(nodes: readonly ServiceNode[]): string {
  return nodes.map((n) => `${n.name}/${n.weight ?? ''}/${n.state ?? 'up'}`).sort().join(',');
}

// ------------------------------------------------------------------ writer

export interface ConfigDirOptions {
  /** balancers/haproxy.yaml (test/helpers/haproxy.ts haproxyEnv().raw plus overrides) */
  haproxy: Record<string, unknown>;
  zkConnect: string;
  zkPath: string;
  /** cluster name -> its `haproxy:` section */
  clusters: Record<string, Record<string, unknown>>;
  level?: string;
}

export async function writeConfigDir(opts: ConfigDirOptions): Promise<string> {
  const dir = await tempDir('lh-bench-cfg-');
  for (const d of ['balancers', 'discovery', 'clusters']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(opts.haproxy));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), stringify({ hosts: [opts.zkConnect], path: opts.zkPath }));
  await writeFile(join(dir, 'logging.yaml'), stringify({ level: opts.level ?? 'info' }));
  for (const [name, hc] of Object.entries(opts.clusters)) await writeCluster(dir, name, hc);
  return dir;
}

export function writeCluster(dir: string, name: string, haproxy: Record<string, unknown>): Promise<void> {
  return writeFile(join(dir, 'clusters', `${name}.yaml`), stringify({ discovery: 'zookeeper', haproxy }));
}

export interface Probes {
  /** the haproxy balancer instance, when the writer creates it */
  balancer?(b: HaproxyBalancer): void;
  /** a cluster's member list reaches the writer (before the writer looks at it) */
  members?(cluster: string, nodes: ServiceNode[]): void;
  /** balancer.apply called */
  applyStart?(): void;
}

/** The registry the CLI uses, with the haproxy balancer and the zookeeper discovery wrapped to
 * report to `probes` (observation only, no src change). */
export function instrumentedRegistry(probes: Probes): Registry {
  const registry = builtinRegistry();
  const bal = registry.balancers.get('haproxy')!;
  registry.add({ ...bal, create: (config, deps) => {
    const b = bal.create(config, deps) as HaproxyBalancer;
    const apply = b.apply.bind(b);
    b.apply = (desired) => (probes.applyStart?.(), apply(desired));
    probes.balancer?.(b);
    return b;
  } } satisfies BalancerPlugin);
  const disc = registry.discovery.get('zookeeper')!;
  registry.add({ ...disc, create: (config, deps) => {
    const d = disc.create(config, deps);
    return {
      start: () => d.start(),
      stop: () => d.stop(),
      register: (s, n) => d.register(s, n),
      unregister: (s, n) => d.unregister(s, n),
      watch: (cluster, listener) => d.watch(cluster, (nodes) => (probes.members?.(cluster, nodes), listener(nodes))),
      get connected() {
        return d.connected;
      },
    };
  } } satisfies DiscoveryPlugin);
  return registry;
}

/** A Writer for `dir`, built and fed its first loaded config as lighthouse-writer does. */
export async function inProcessWriter(dir: string, logger: Logger, probes: Probes = {}): Promise<{ writer: Writer; balancer(): HaproxyBalancer }> {
  let balancer: HaproxyBalancer | null = null;
  const registry = instrumentedRegistry({ ...probes, balancer: (b) => ((balancer = b), probes.balancer?.(b)) });
  const store = new ConfigStore({ dir, registry, logger });
  const { config: cfg, problems } = await store.load();
  if (problems.length) throw new Error(`bench config problems: ${JSON.stringify(problems)}`);
  const writer = new Writer({ registry, logger, clock: systemClock, configDir: dir });
  await writer.apply(cfg);
  return { writer, balancer: () => balancer ?? (() => { throw new Error('no haproxy balancer created'); })() };
}

/** Production-like logging at `level` to /dev/null (formatting cost included, no output): an
 * asynchronous destination, as createLogger gives the CLIs for stdout. */
export function nullLogger(level = 'info'): Logger {
  return pino({ level }, pino.destination({ dest: '/dev/null', sync: false }));
}

// ------------------------------------------------------------------ HAProxy

export async function showProc(masterSocket: string): Promise<ProcInfo> {
  const info = parseShowProc(await masterCommand(masterSocket, 'show proc', 5000));
  if (!info) throw new Error(`no 'show proc' answer on ${masterSocket}`);
  return info;
}

/** One command on a fresh admin-socket connection (independent of the writer's own). */
export function adminCommand(socketFile: string, command: string): Promise<string> {
  return masterCommand(socketFile, command, 5000);
}

export async function serverRows(socketFile: string, backend: string): Promise<ServerStateRow[]> {
  return parseServersState(await adminCommand(socketFile, `show servers state ${backend}`)).rows;
}

/** Does HAProxy serve exactly `nodes` (address, weight, admin state) in `rows`? "" if so,
 * else what differs. */
export function rowsAgree(rows: readonly ServerStateRow[], nodes: readonly ServiceNode[]): string {
  const live = rows.filter((r) => adminMode(r.adminState) !== 'maint');
  const want = nodes.filter((n) => (n.state ?? 'up') !== 'maint');
  for (const n of want) {
    const r = live.find((x) => x.addr === n.ip && x.port === n.port);
    if (!r) return `${n.name} not served`;
    if (r.uweight !== (n.weight ?? r.iweight)) return `${n.name} weight ${r.uweight}, want ${n.weight}`;
    if (adminMode(r.adminState) !== (n.state ?? 'up')) return `${n.name} state ${adminMode(r.adminState)}, want ${n.state ?? 'up'}`;
  }
  return live.length === want.length ? '' : `${live.length} servers not in maint, want ${want.length}`;
}
