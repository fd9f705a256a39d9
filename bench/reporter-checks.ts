/**
 * Reporter cost: 1,000 HTTP checks per second (1,000 services x interval 1 s) against local
 * backends, all published to a real ZooKeeper. Prints the reporter's CPU (share of one core,
 * from /proc/PID/stat) and RSS after a warm-up. Goal (issue 2): <= 5% of one core, <= 80 MB.
 *
 * Runs the built reporter (dist/, as in production: `npm run build` first).
 *
 *   node --import tsx bench/reporter-checks.ts [--services 1000] [--seconds 30]
 */
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { zkProbe } from '../test/helpers/zk-probe.js';
import { startBackend } from '../test/helpers/backends.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { waitFor } from '../test/helpers/wait.js';

const { values } = parseArgs({ options: { services: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '30' }, backends: { type: 'string', default: '10' } } });
const SERVICES = Number(values.services);
const SECONDS = Number(values.seconds);
const TICKS = 100; // USER_HZ on Linux

async function procStat(pid: number): Promise<{ cpuTicks: number; rssKb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { cpuTicks: Number(stat[11]) + Number(stat[12]), rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) };
}

const zk = await startZooKeeper({ tickTime: 500 });
const backends = await Promise.all(Array.from({ length: Number(values.backends) }, (_, i) => startBackend(`b${i}`)));
const dir = await mkdtemp(join(tmpdir(), 'lh-bench-reporter-'));
await mkdir(join(dir, 'services'), { recursive: true });
await mkdir(join(dir, 'discovery'));
await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /bench\n`);
await writeFile(join(dir, 'logging.yaml'), 'level: warn\n');
for (let i = 0; i < SERVICES; i++) {
  const port = backends[i % backends.length].port;
  await writeFile(join(dir, 'services', `svc${i}.yaml`), `port: ${port}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n`);
}
const probe = await zkProbe(zk.connectString);
const d = startDaemon('lighthouse-reporter', [dir], { LIGHTHOUSE_LOG_LEVEL: 'warn', LIGHTHOUSE_ADVERTISE_HOST: 'bench', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' }, true);
try {
  await waitFor(async () => (await probe.children('/bench').catch(() => [])).length >= SERVICES, 'all services registered', 120_000);
  const probesAt = () => backends.reduce((n, b) => n + b.probes.ok + b.probes.failed, 0);
  await new Promise((r) => setTimeout(r, 5000)); // warm-up: JIT, connection pools
  const s0 = await procStat(d.pid);
  const p0 = probesAt();
  const t0 = performance.now();
  let peakRss = s0.rssKb;
  for (let i = 0; i < SECONDS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    peakRss = Math.max(peakRss, (await procStat(d.pid)).rssKb);
  }
  const s1 = await procStat(d.pid);
  const secs = (performance.now() - t0) / 1000;
  const rate = (probesAt() - p0) / secs;
  const cpu = ((s1.cpuTicks - s0.cpuTicks) / TICKS / secs) * 100;
  console.log(`reporter: ${SERVICES} services, ${rate.toFixed(0)} HTTP checks/s over ${secs.toFixed(0)} s`);
  console.log(`reporter CPU: ${cpu.toFixed(1)}% of one core (goal <= 5%)`);
  console.log(`reporter RSS: ${(s1.rssKb / 1024).toFixed(1)} MB now, ${(peakRss / 1024).toFixed(1)} MB peak (goal <= 80 MB)`);
} finally {
  await d.stop();
  probe.close();
  for (const b of backends) await b.close();
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
}
