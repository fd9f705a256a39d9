/**
 * Reporter cost at the loads of issue 23: a typical node (5 HTTP services checked every
 * second), 100 HTTP checks/s, and 1,000 checks/s (a stress figure, no goal). Each load is a
 * fresh reporter (bin/lighthouse-reporter.js through its shebang, so the product's V8 flags
 * apply: `npm run build` first) against local HTTP backends, publishing to a real ZooKeeper.
 *
 * CPU is the process's own run time, summed over its threads from /proc/PID/task/TID/schedstat
 * (nanoseconds), over the window, as a share of one core; the utime + stime ticks of
 * /proc/PID/stat (10 ms each) are printed beside it as a cross-check. Not wall-clock time:
 * other processes on this shared 2-core VM slow the reporter's wake-ups down but do not add
 * to its CPU time.
 *
 * The 5-service load is measured after a long warm-up (`--warm`, default 420 s): at five probes
 * a second V8 takes minutes to optimise the code a probe runs, and a reporter runs for days
 * (bench/README.md has the figures over time).
 * Beside it, in the same window, run:
 *  - with `--floor`: bench/http-floor.mjs, the same requests from a bare undici Client and
 *    nothing else (same V8 flags): what the requests alone cost on this machine;
 *  - with `--python DIR` (a checkout of github.com/wglass/lighthouse, deps from Debian:
 *    python3-kazoo python3-watchdog python3-yaml python3-six): the Python reporter on the same
 *    services, publishing under a root of its own.
 *
 *   node --import tsx bench/reporter-checks.ts [--loads 5,100,1000] [--floor] [--python DIR]
 *        [--warm SECONDS] [--cpu-prof DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { zkProbe } from '../test/helpers/zk-probe.js';
import { startBackend, type Backend } from '../test/helpers/backends.js';
import { waitFor } from '../test/helpers/wait.js';
import { shebangFlags } from './lib.js';

const { values } = parseArgs({
  options: {
    loads: { type: 'string', default: '5,100,1000' },
    backends: { type: 'string', default: '10' },
    floor: { type: 'boolean', default: false },
    python: { type: 'string' },
    warm: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const TICKS = 100; // USER_HZ on Linux
const BIN = fileURLToPath(new URL('../bin/lighthouse-reporter.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./http-floor.mjs', import.meta.url));
const GOALS: Record<number, { cpu: number; rssMb: number } | undefined> = { 5: { cpu: 0.2, rssMb: 75 }, 100: { cpu: 2, rssMb: 80 } };
/** warm-up and measuring window (s) per load */
const WINDOW: Record<number, [number, number]> = { 5: [420, 120], 100: [60, 60], 1000: [15, 30] };

interface Sample {
  /** run time of all threads, ns */
  ns: number;
  ticks: number;
  rssKb: number;
}

async function rssKb(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
}

async function sample(pid: number): Promise<Sample> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  let ns = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    // a thread may end between the listing and the read: its time is then not counted
    ns += Number((await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '0')).split(' ')[0]);
  }
  return { ns, ticks: Number(stat[11]) + Number(stat[12]), rssKb: await rssKb(pid) };
}

const zk = await startZooKeeper({ tickTime: 500, jvm: 'package' });
const backends: Backend[] = await Promise.all(Array.from({ length: Number(values.backends) }, (_, i) => startBackend(`b${i}`)));
const probe = await zkProbe(zk.connectString);
const env = { ...process.env, LIGHTHOUSE_LOG_LEVEL: 'warn', LIGHTHOUSE_ADVERTISE_HOST: 'bench', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };
const portOf = (i: number) => backends[i % backends.length].port;

async function configDir(services: number, root: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-bench-reporter-'));
  await mkdir(join(dir, 'services'), { recursive: true });
  await mkdir(join(dir, 'discovery'));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: ${root}\n`);
  // no HTTP server and a state file of its own (the Python reporter ignores both files)
  await writeFile(join(dir, 'http.yaml'), 'port: false\nsocket: false\n');
  await writeFile(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
  for (let i = 0; i < services; i++) {
    // rise/fall written out: the Python reporter requires them (ours defaults both to 1)
    await writeFile(join(dir, 'services', `svc${i}.yaml`), `port: ${portOf(i)}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n    rise: 1\n    fall: 1\n`);
  }
  return dir;
}

interface Measured {
  label: string;
  proc: ChildProcess;
  /** the ZooKeeper root it publishes under (none: it does not publish) */
  root?: string;
  dir?: string;
}

/** instances registered under `root` now (a flapping reporter holds some down) */
async function registered(root: string, services: number): Promise<number> {
  const lists = await Promise.all(Array.from({ length: services }, (_, i) => probe.children(`${root}/svc${i}`).catch(() => [])));
  return lists.reduce((n, c) => n + c.length, 0);
}

/** Warm up, then measure every process of `runs` over the same window. */
async function measure(runs: Measured[], services: number): Promise<void> {
  const exited = runs.map((r) => new Promise((resolve) => r.proc.on('exit', resolve)));
  try {
    for (const r of runs) {
      if (!r.root) continue;
      // up to 3 minutes; a reporter that never gets there is measured anyway (the figure says so)
      await waitFor(async () => (await registered(r.root!, services)) >= services, `${r.label}: all instances registered`, 180_000).catch((err: Error) =>
        console.log(`${r.label}: ${err.message}`),
      );
    }
    const [warmDefault, secs] = WINDOW[services] ?? [15, 30];
    const warm = values.warm !== undefined && services === 5 ? Number(values.warm) : warmDefault;
    await new Promise((r) => setTimeout(r, warm * 1000));
    const probesAt = () => backends.reduce((n, b) => n + b.probes.ok + b.probes.failed, 0);
    const reg0 = await Promise.all(runs.map((r) => (r.root ? registered(r.root, services) : 0)));
    const s0 = await Promise.all(runs.map((r) => sample(r.proc.pid!)));
    const p0 = probesAt();
    const t0 = performance.now();
    const peak = s0.map((s) => s.rssKb);
    for (let i = 0; i < secs; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      (await Promise.all(runs.map((r) => rssKb(r.proc.pid!)))).forEach((kb, k) => (peak[k] = Math.max(peak[k], kb)));
    }
    const s1 = await Promise.all(runs.map((r) => sample(r.proc.pid!)));
    const wall = (performance.now() - t0) / 1000;
    const reg1 = await Promise.all(runs.map((r) => (r.root ? registered(r.root, services) : 0)));
    const goal = GOALS[services];
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
    console.log(`${services} services, ${((probesAt() - p0) / wall).toFixed(0)} HTTP checks/s in all over ${wall.toFixed(0)} s after ${warm} s of warm-up; load average ${load}`);
    runs.forEach((r, k) => {
      const cpu = ((s1[k].ns - s0[k].ns) / 1e9 / wall) * 100;
      const ticks = s1[k].ticks - s0[k].ticks;
      console.log(
        `  ${r.label}: CPU ${cpu.toFixed(3)} % of a core (${ticks} ticks: ${((ticks / TICKS / wall) * 100).toFixed(2)} %)${goal ? ` (goal <= ${goal.cpu} %)` : ' (no goal)'}, ` +
          `RSS ${mb(s1[k].rssKb)} MB, peak ${mb(peak[k])} MB${goal ? ` (goal <= ${goal.rssMb} MB)` : ''}` +
          (r.root ? `; instances registered ${reg0[k]} of ${services} before the window, ${reg1[k]} after` : ''),
      );
    });
  } finally {
    for (const r of runs) if (r.proc.exitCode === null) r.proc.kill('SIGTERM');
    await Promise.all(exited);
    for (const r of runs) if (r.dir) await rm(r.dir, { recursive: true, force: true });
  }
}

try {
  for (const services of values.loads.split(',').map(Number)) {
    const runs: Measured[] = [];
    const root = `/bench${services}`;
    const dir = await configDir(services, root);
    const prof = values['cpu-prof'];
    const flags = shebangFlags('lighthouse-reporter');
    const node = prof
      ? spawn(process.execPath, [...flags, '--cpu-prof', '--cpu-prof-dir', prof, BIN, dir], { env, stdio: ['ignore', 'inherit', 'inherit'] })
      : spawn(BIN, [dir], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    runs.push({ label: 'node reporter', proc: node, root, dir });
    if (values.floor && services === 5) {
      const ports = Array.from({ length: services }, (_, i) => portOf(i)).join(',');
      runs.push({ label: 'bare undici, same requests', proc: spawn(process.execPath, [...flags, FLOOR, ports], { env, stdio: ['ignore', 'inherit', 'inherit'] }) });
    }
    if (values.python && services === 5) {
      const pyRoot = `/bench${services}py`;
      const pyDir = await configDir(services, pyRoot);
      const py = spawn('/usr/bin/python3', ['-c', `import sys; sys.argv = ['lighthouse-reporter', ${JSON.stringify(pyDir)}]; from lighthouse.scripts.reporter import run; run()`], {
        env: { ...env, PYTHONPATH: values.python },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      runs.push({ label: 'python reporter', proc: py, root: pyRoot, dir: pyDir });
    }
    await measure(runs, services);
  }
} finally {
  probe.close();
  for (const b of backends) await b.close();
  await zk.stop();
}
