/**
 * Reporter cost at the loads of issue 23: a typical node (5 HTTP services checked every
 * second), 100 HTTP checks/s, and 1,000 checks/s (a stress figure, no goal). Each load is a
 * fresh reporter (bin/lighthouse-reporter.js through its shebang, so the product's V8 flags
 * apply: `npm run build` first) against local HTTP backends, publishing to a real ZooKeeper.
 *
 * CPU is the reporter process's own CPU time (utime + stime from /proc/PID/stat, all its
 * threads) over the window, as a share of one core. Not wall-clock time: other processes on
 * this shared 2-core VM (other builds, tests) slow the reporter's wake-ups down but do not add
 * to its CPU seconds, so CPU time is the more robust figure. At 5 checks/s the window is long
 * (120 s: 0.2 % of a core is 24 ticks of 10 ms) to keep the tick resolution small.
 *
 * With `--python DIR` (a checkout of github.com/wglass/lighthouse, deps from Debian:
 * python3-kazoo python3-watchdog python3-yaml python3-six) the Python reporter runs the first
 * load on the same config dir, measured the same way, for a side-by-side figure.
 *
 *   node --import tsx bench/reporter-checks.ts [--loads 5,100,1000] [--python DIR] [--cpu-prof DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
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
    python: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const TICKS = 100; // USER_HZ on Linux
const BIN = fileURLToPath(new URL('../bin/lighthouse-reporter.js', import.meta.url));
const GOALS: Record<number, { cpu: number; rssMb: number } | undefined> = { 5: { cpu: 0.2, rssMb: 75 }, 100: { cpu: 2, rssMb: 80 } };
/** warm-up and measuring window (s) per load: low rates need long windows (tick resolution) */
const WINDOW: Record<number, [number, number]> = { 5: [30, 120], 100: [20, 60], 1000: [15, 30] };

async function procStat(pid: number): Promise<{ ticks: number; rssKb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { ticks: Number(stat[11]) + Number(stat[12]), rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) };
}

const zk = await startZooKeeper({ tickTime: 500, jvm: 'package' });
const backends: Backend[] = await Promise.all(Array.from({ length: Number(values.backends) }, (_, i) => startBackend(`b${i}`)));
const probe = await zkProbe(zk.connectString);
const env = { ...process.env, LIGHTHOUSE_LOG_LEVEL: 'warn', LIGHTHOUSE_ADVERTISE_HOST: 'bench', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };

async function configDir(services: number, root: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-bench-reporter-'));
  await mkdir(join(dir, 'services'), { recursive: true });
  await mkdir(join(dir, 'discovery'));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: ${root}\n`);
  // no HTTP server and a state file of its own (the Python reporter ignores both files)
  await writeFile(join(dir, 'http.yaml'), 'port: false\nsocket: false\n');
  await writeFile(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
  for (let i = 0; i < services; i++) {
    const port = backends[i % backends.length].port;
    // rise/fall written out: the Python reporter requires them (ours defaults both to 1)
    await writeFile(join(dir, 'services', `svc${i}.yaml`), `port: ${port}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n    rise: 1\n    fall: 1\n`);
  }
  return dir;
}

async function measure(label: string, proc: ChildProcess, services: number, root: string): Promise<void> {
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  try {
    // instances registered now (a flapping reporter holds some down): one getChildren per service.
    // Counted per instance: the services' own znodes outlive the reporter before this one.
    const registered = async () => (await Promise.all(Array.from({ length: services }, (_, i) => probe.children(`${root}/svc${i}`).catch(() => [])))).reduce((n, c) => n + c.length, 0);
    // up to 3 minutes; a reporter that never gets there is measured anyway (the figure says so)
    await waitFor(async () => (await registered()) >= services, `${label}: all instances registered`, 180_000).catch((err: Error) => console.log(`${label}: ${err.message}`));
    const [warm, secs] = WINDOW[services] ?? [15, 30];
    await new Promise((r) => setTimeout(r, warm * 1000));
    const probesAt = () => backends.reduce((n, b) => n + b.probes.ok + b.probes.failed, 0);
    const reg0 = await registered();
    const s0 = await procStat(proc.pid!);
    const p0 = probesAt();
    const t0 = performance.now();
    let peak = s0.rssKb;
    for (let i = 0; i < secs; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      peak = Math.max(peak, (await procStat(proc.pid!)).rssKb);
    }
    const s1 = await procStat(proc.pid!);
    const wall = (performance.now() - t0) / 1000;
    const reg1 = await registered();
    const cpu = ((s1.ticks - s0.ticks) / TICKS / wall) * 100;
    const goal = GOALS[services];
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    console.log(
      `${label}: ${services} services, ${((probesAt() - p0) / wall).toFixed(0)} HTTP checks/s over ${wall.toFixed(0)} s: ` +
        `CPU ${cpu.toFixed(2)} % of a core (${s1.ticks - s0.ticks} ticks)${goal ? ` (goal <= ${goal.cpu} %)` : ' (no goal)'}, ` +
        `RSS ${mb(s1.rssKb)} MB, peak ${mb(peak)} MB${goal ? ` (goal <= ${goal.rssMb} MB)` : ''}; ` +
        `instances registered ${reg0} of ${services} before the window, ${reg1} after; load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`,
    );
  } finally {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
  }
}

try {
  for (const services of values.loads.split(',').map(Number)) {
    const root = `/bench${services}`;
    const dir = await configDir(services, root);
    const prof = values['cpu-prof'];
    const d = prof
      ? spawn(process.execPath, [...shebangFlags('lighthouse-reporter'), '--cpu-prof', '--cpu-prof-dir', prof, BIN, dir], { env, stdio: ['ignore', 'inherit', 'inherit'] })
      : spawn(BIN, [dir], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    await measure('node reporter', d, services, root);
    if (values.python && services === 5) {
      const py = spawn('/usr/bin/python3', ['-c', `import sys; sys.argv = ['lighthouse-reporter', ${JSON.stringify(dir)}]; from lighthouse.scripts.reporter import run; run()`], {
        env: { ...env, PYTHONPATH: values.python },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await measure('python reporter', py, services, root);
    }
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  probe.close();
  for (const b of backends) await b.close();
  await zk.stop();
}
