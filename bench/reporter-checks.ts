/**
 * Reporter cost: 1,000 HTTP checks per second (1,000 services x interval 1 s) against local
 * backends, all published to a real ZooKeeper. Prints the reporter's CPU (share of one core,
 * from /proc/PID/stat) and RSS after a warm-up. Goal (issue 2): <= 5% of one core, <= 80 MB.
 *
 * Runs the reporter as installed: bin/lighthouse-reporter.js through its shebang, so the V8
 * flags the product sets there apply (`npm run build` first). RSS is printed with its split:
 * file-backed pages are mostly the node binary itself (~42 MB here, shared with every other
 * node process); anonymous pages are the heap and everything else the process allocated.
 *
 *   node --import tsx bench/reporter-checks.ts [--services 1000] [--seconds 30] [--cpu-prof DIR]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { zkProbe } from '../test/helpers/zk-probe.js';
import { startBackend } from '../test/helpers/backends.js';
import { waitFor } from '../test/helpers/wait.js';
import { shebangFlags } from './lib.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '30' },
    backends: { type: 'string', default: '10' },
    /** seconds between the last registration and the first measurement */
    warmup: { type: 'string', default: '15' },
    /** a .cpuprofile of the reporter in this dir (run as `node SHEBANG-FLAGS --cpu-prof BIN`) */
    'cpu-prof': { type: 'string' },
  },
});
const SERVICES = Number(values.services);
const SECONDS = Number(values.seconds);
const TICKS = 100; // USER_HZ on Linux

const BIN = fileURLToPath(new URL('../bin/lighthouse-reporter.js', import.meta.url));

async function procStat(pid: number): Promise<{ cpuTicks: number; userTicks: number; rssKb: number; anonKb: number; fileKb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)![1]);
  return { cpuTicks: Number(stat[11]) + Number(stat[12]), userTicks: Number(stat[11]), rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') };
}

const zk = await startZooKeeper({ tickTime: 500, jvm: 'package' });
const backends = await Promise.all(Array.from({ length: Number(values.backends) }, (_, i) => startBackend(`b${i}`)));
const dir = await mkdtemp(join(tmpdir(), 'lh-bench-reporter-'));
await mkdir(join(dir, 'services'), { recursive: true });
await mkdir(join(dir, 'discovery'));
await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /bench\n`);
await writeFile(join(dir, 'logging.yaml'), 'level: warn\n');
await writeFile(join(dir, 'http.yaml'), 'port: false\nsocket: false\n');
await writeFile(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
for (let i = 0; i < SERVICES; i++) {
  const port = backends[i % backends.length].port;
  await writeFile(join(dir, 'services', `svc${i}.yaml`), `port: ${port}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n`);
}
const probe = await zkProbe(zk.connectString);
const env = { ...process.env, LIGHTHOUSE_LOG_LEVEL: 'warn', LIGHTHOUSE_ADVERTISE_HOST: 'bench', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };
const prof = values['cpu-prof'];
const d = prof
  ? spawn(process.execPath, [...shebangFlags('lighthouse-reporter'), '--cpu-prof', '--cpu-prof-dir', prof, BIN, dir], { env, stdio: ['ignore', 'inherit', 'inherit'] })
  : spawn(BIN, [dir], { env, stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise((resolve) => d.on('exit', resolve));
process.on('exit', () => d.exitCode === null && d.kill('SIGKILL'));
try {
  await waitFor(async () => (await probe.children('/bench').catch(() => [])).length >= SERVICES, 'all services registered', 120_000);
  const probesAt = () => backends.reduce((n, b) => n + b.probes.ok + b.probes.failed, 0);
  await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000)); // warm-up: JIT, connection pools
  // CPU in windows of 5 s: this VM shares its cores (noise of +-1.5% of a core between runs),
  // and noise only adds, so the quietest window is the best estimate, the median the typical
  const WINDOW_S = 5;
  const windows: { cpu: number; user: number }[] = [];
  const first = await procStat(d.pid!);
  const p0 = probesAt();
  const t0 = performance.now();
  let peakRss = first.rssKb;
  let last = first;
  let lastT = t0;
  for (let i = 0; i < SECONDS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await procStat(d.pid!);
    peakRss = Math.max(peakRss, now.rssKb);
    if ((i + 1) % WINDOW_S === 0) {
      const t = performance.now();
      const secs = (t - lastT) / 1000;
      windows.push({ cpu: ((now.cpuTicks - last.cpuTicks) / TICKS / secs) * 100, user: ((now.userTicks - last.userTicks) / TICKS / secs) * 100 });
      last = now;
      lastT = t;
    }
  }
  const s1 = await procStat(d.pid!);
  const secs = (performance.now() - t0) / 1000;
  const rate = (probesAt() - p0) / secs;
  const cpu = ((s1.cpuTicks - first.cpuTicks) / TICKS / secs) * 100;
  const user = ((s1.userTicks - first.userTicks) / TICKS / secs) * 100;
  const sorted = windows.map((w) => w.cpu).sort((x, y) => x - y);
  console.log(`reporter: ${SERVICES} services, ${rate.toFixed(0)} HTTP checks/s over ${secs.toFixed(0)} s`);
  console.log(`reporter CPU: ${cpu.toFixed(1)}% of one core over the run (goal <= 5%): user ${user.toFixed(1)}%, system (kernel: syscalls, loopback TCP) ${(cpu - user).toFixed(1)}%`);
  if (sorted.length) console.log(`  per ${WINDOW_S} s window: min ${sorted[0].toFixed(1)}%  median ${sorted[sorted.length >> 1].toFixed(1)}%  max ${sorted.at(-1)!.toFixed(1)}%  (n=${sorted.length}; in order: ${windows.map((w) => w.cpu.toFixed(1)).join(' ')})`);
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  console.log(`reporter RSS: ${mb(s1.rssKb)} MB now (anon ${mb(s1.anonKb)}, file ${mb(s1.fileKb)}), ${mb(peakRss)} MB peak (goal <= 80 MB)`);
} finally {
  if (d.exitCode === null) d.kill('SIGTERM');
  await exited;
  probe.close();
  for (const b of backends) await b.close();
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
}
