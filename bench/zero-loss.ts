/**
 * Zero loss (issue 3): GET / through HAProxy at --rate (2,000) req/s for --seconds (60) while
 * --changes (100) membership changes and --reloads (10) structural reloads happen, spread over
 * the run. Goal: 0 failed requests (any non-200, socket error or timeout).
 *
 * Everything is real: ZooKeeper, lighthouse-writer as its own process (the CLI from src/, config
 * directory watched), HAProxy started by it, HTTP backends on loopback (keep-alive servers). The
 * load generator runs in a worker thread (its own event loop), open loop: every 5 ms it starts
 * the requests that are due; a new connection per request by default (--keepalive: a pool of
 * keep-alive connections). The achieved rate is measured, not assumed.
 *
 * Membership changes, in turn: add (start a backend, then create its znode), weight (set data),
 * remove. A removal models a reporter that deregisters BEFORE the service stops: delete the
 * znode, keep the backend serving for --grace ms, then close it. Structural changes, in turn: a
 * new clusters/extraN.yaml (a new frontend + backend), and a changed directive of the served
 * cluster's backend (`timeout queue`). Reloads are counted by HAProxy's master (`show proc`).
 *
 *   node --import tsx bench/zero-loss.ts [--seconds 60] [--rate 2000] [--changes 100]
 *     [--reloads 10] [--grace 2000] [--keepalive] [--defaults-extra 'option idle-close-on-response']
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startBackend, type Backend } from '../test/helpers/backends.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { haproxyEnv, freePort } from '../test/helpers/haproxy.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { waitFor } from '../test/helpers/wait.js';
import { benchNode, benchZk, cleanup, fmtStats, hrMs, stats, rowsAgree, runBench, serverRows, showProc, sleep, writeCluster, writeConfigDir, znodeData, znodePath } from './lib.js';
import type { ServiceNode } from '../src/core/node.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '2000' },
    changes: { type: 'string', default: '100' },
    reloads: { type: 'string', default: '10' },
    grace: { type: 'string', default: '2000' },
    keepalive: { type: 'boolean', default: false },
    /** extra `defaults` lines for HAProxy, ';'-separated (e.g. "option idle-close-on-response") */
    'defaults-extra': { type: 'string', default: '' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const ZK_PATH = '/lh';

/** The load generator (plain JS: it runs in a worker thread with `eval`). */
const LOADGEN = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, rate, seconds, keepAlive, maxInFlight, warmup } = workerData;
const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 256 }) : false;
const fresh = () => ({ sent: 0, ok: 0, failed: 0, skipped: 0, errors: {}, failTimes: [], lat: [], slow: [] });
let r = fresh();
let inFlight = 0;
const now = () => Number(process.hrtime.bigint()) / 1e6;
function one() {
  inFlight++; r.sent++;
  const t = now();
  let done = false;
  const rr = r; // a request started in the warm-up counts there
  const end = (err) => {
    const r = rr;
    if (done) return; done = true; inFlight--;
    if (err) { r.failed++; r.errors[err] = (r.errors[err] || 0) + 1; r.failTimes.push(now()); } else { r.ok++; r.lat.push(now() - t); }
    if (now() - t > 100) r.slow.push([t, now() - t]);
  };
  const req = http.request({ host: '127.0.0.1', port, path: '/', agent, timeout: 10000 }, (res) => {
    res.resume();
    res.on('end', () => end(res.statusCode === 200 ? null : 'HTTP ' + res.statusCode));
    res.on('error', (e) => end(e.code || e.message));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => end(e.code || e.message));
  req.end();
}
let t0 = now();
let warming = warmup > 0;
const timer = setInterval(() => {
  if (warming && now() - t0 >= warmup * 1000) {
    warming = false;
    parentPort.postMessage({ warmup: r });
    r = fresh();
    t0 = now();
  }
  const elapsed = now() - t0;
  const due = Math.floor(Math.min(elapsed, seconds * 1000) * rate / 1000) - r.sent - r.skipped;
  for (let i = 0; i < due; i++) inFlight < maxInFlight ? one() : r.skipped++;
  if (!warming && elapsed >= seconds * 1000) {
    clearInterval(timer);
    r.secs = (now() - t0) / 1000;
    const wait = setInterval(() => { if (inFlight === 0 || now() - t0 > seconds * 1000 + 15000) { clearInterval(wait); r.unfinished = inFlight; parentPort.postMessage(r); } }, 10);
  }
}, 5);
`;

interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  skipped: number;
  unfinished: number;
  secs: number;
  errors: Record<string, number>;
  failTimes: number[];
  lat: number[];
  /** [start, ms] of requests slower than 100 ms */
  slow: [number, number][];
}

runBench(async () => {
  const zk = await startZooKeeper({ tickTime: 200, jvm: 'package' });
  cleanup.add(() => zk.stop());
  const bz = await benchZk(zk.connectString);
  await bz.mkdirp(`${ZK_PATH}/web`);

  const active: { b: Backend; node: ServiceNode }[] = [];
  const started: Backend[] = [];
  const closing = new Set<Promise<void>>();
  cleanup.add(async () => {
    await Promise.all(closing);
    for (const a of active) await a.b.close();
  });
  let seq = 0;
  const add = async () => {
    const b = await startBackend(`b${seq}`);
    started.push(b);
    const node = benchNode(b.port, { host: `web-${seq++}.bench` });
    await bz.create(znodePath(ZK_PATH, 'web', node), znodeData(node)); // serving before it is announced
    active.push({ b, node });
  };
  for (let i = 0; i < 4; i++) await add();

  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  const extra = values['defaults-extra'].split(';').map((l) => l.trim()).filter(Boolean);
  if (extra.length) hap.raw.defaults = [...(hap.raw.defaults as string[]), ...extra];
  cleanup.add(() => hap.cleanup());
  const webPort = await freePort();
  const web = (k: number) => ({ port: webPort, backend: ['mode http', `timeout queue ${5 + k}s`] });
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: zk.connectString, zkPath: ZK_PATH, clusters: { web: web(0) } });
  const writer = startDaemon('lighthouse-writer', [dir], { LIGHTHOUSE_LOG_LEVEL: 'info' });
  cleanup.add(() => writer.stop());
  const expected = () => active.map((a) => a.node);
  await waitFor(async () => !rowsAgree(await serverRows(hap.socketFile, 'web'), expected()), 'writer serving the first members', 30_000);
  await sleep(2500); // past restart_interval: the first structural change reloads at once
  const proc0 = await showProc(hap.masterSocket);

  // ------------------------------------------------------------ load + events
  const worker = new Worker(LOADGEN, { eval: true, workerData: { port: webPort, rate: RATE, seconds: SECONDS, keepAlive: values.keepalive, maxInFlight: 512, warmup: 3 } });
  cleanup.add(() => worker.terminate());
  const messages: LoadResult[] = [];
  let got: (() => void) | null = null;
  worker.on('message', (m: LoadResult | { warmup: LoadResult }) => (messages.push('warmup' in m ? m.warmup : m), got?.()));
  const next = (i: number) => new Promise<LoadResult>((resolve, reject) => {
    worker.once('error', reject);
    const check = () => (messages[i] ? resolve(messages[i]) : (got = check));
    check();
  });
  const warm = await next(0); // 3 s at the rate, not counted (JIT, connection set-up), no events
  const result = next(1);
  const tStart = hrMs();
  const events: { t: number; what: string }[] = [];
  const counts: Record<string, number> = {};
  const log = (what: string) => (events.push({ t: hrMs(), what }), (counts[what.split(' ')[0]] = (counts[what.split(' ')[0]] ?? 0) + 1));
  const CHANGES = Number(values.changes);
  const RELOADS = Number(values.reloads);
  const schedule: { at: number; run: () => Promise<void> }[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const kind = ['add', 'weight', 'remove'][i % 3];
    schedule.push({
      at: ((i + 0.5) * SECONDS * 1000) / CHANGES,
      run: async () => {
        if (kind === 'add' || (kind === 'remove' && active.length <= 2)) return void (await add(), log(`add ${active.at(-1)!.node.name}`));
        if (kind === 'weight') {
          const a = active[i % active.length];
          a.node = { ...a.node, weight: 1 + (i % 50) };
          await bz.set(znodePath(ZK_PATH, 'web', a.node), znodeData(a.node));
          return void log(`weight ${a.node.name} ${a.node.weight}`);
        }
        const [gone] = active.splice(0, 1); // deregister first; stop the service after the grace period
        await bz.remove(znodePath(ZK_PATH, 'web', gone.node));
        log(`remove ${gone.node.name}`);
        const p = sleep(Number(values.grace)).then(() => gone.b.close());
        closing.add(p);
        void p.finally(() => closing.delete(p));
      },
    });
  }
  for (let k = 0; k < RELOADS; k++) {
    schedule.push({
      at: ((k + 0.25) * SECONDS * 1000) / RELOADS,
      run: async () => {
        if (k % 2 === 0) {
          await writeCluster(dir, `extra${k}`, { port: await freePort(), backend: ['mode http'] });
          cleanup.add(() => rm(join(dir, 'clusters', `extra${k}.yaml`), { force: true }));
          return void log(`structure new cluster extra${k}`);
        }
        await writeCluster(dir, 'web', web(k));
        log(`structure web timeout queue ${5 + k}s`);
      },
    });
  }
  schedule.sort((a, b) => a.at - b.at);
  for (const s of schedule) {
    const wait = tStart + s.at - hrMs();
    if (wait > 0) await sleep(wait);
    await s.run();
  }
  const r = await result;
  await Promise.all(closing);
  await sleep(3000); // the last structural change may wait for restart_interval
  const proc1 = await showProc(hap.masterSocket);
  const agree = rowsAgree(await serverRows(hap.socketFile, 'web'), expected());
  const errLogs = writer.logs.filter((l) => Number(l.level) >= 50);

  console.log(`zero loss: GET / through HAProxy for ${r.secs.toFixed(1)} s, target ${RATE} req/s, ${values.keepalive ? 'keep-alive connections' : 'a new connection per request'}`);
  console.log(`  warm-up before (3 s, no events, not counted): ${warm.ok} ok, ${warm.failed} failed`);
  console.log(`  requests: ${r.sent} sent, ${r.ok} ok, ${r.failed} FAILED (goal 0)${r.unfinished ? `, ${r.unfinished} unfinished` : ''}; skipped (512 in flight): ${r.skipped}`);
  console.log(`  achieved ${(r.sent / r.secs).toFixed(0)} req/s sent, ${(r.ok / r.secs).toFixed(0)} req/s ok; latency ${fmtStats(stats(r.lat))}`);
  console.log(`  membership changes done: ${(counts.add ?? 0) + (counts.weight ?? 0) + (counts.remove ?? 0)} (add ${counts.add ?? 0}, weight ${counts.weight ?? 0}, remove ${counts.remove ?? 0}; removed backends closed ${values.grace} ms after deregistration)`);
  console.log(`  structural changes: ${counts.structure ?? 0}; HAProxy reloads (master show proc): ${proc1.reloads - proc0.reloads}, failed reloads ${proc1.failed - proc0.failed}`);
  console.log(`  backends that served traffic: ${started.filter((b) => b.served > 0).length} of ${started.length} started`);
  console.log(`  HAProxy state of 'web' agrees with ZooKeeper at the end: ${agree || 'yes'}; writer errors logged: ${errLogs.length}`);
  const nearest = (t: number) => {
    const e = events.filter((x) => x.t <= t).at(-1);
    return e ? `last event before: ${((e.t - tStart) / 1000).toFixed(2)} s ${e.what}` : 'before any event';
  };
  const windows = (ts: number[]) => {
    const w = new Map<number, number>(); // per 100 ms
    for (const t of ts) w.set(Math.floor((t - tStart) / 100), (w.get(Math.floor((t - tStart) / 100)) ?? 0) + 1);
    return [...w].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${(k / 10).toFixed(1)} s: ${n} (${nearest(tStart + k * 100 + 99)})`).join('\n    ');
  };
  if (r.slow.length) console.log(`  requests slower than 100 ms: ${r.slow.length}; started in (100 ms windows, worst first):\n    ${windows(r.slow.map(([t]) => t))}`);
  if (r.failed) {
    console.log(`  failures by cause: ${JSON.stringify(r.errors)}`);
    console.log(`  failures by time (100 ms windows, worst first; structural changes reload ~0.1-0.3 s after the file write):\n    ${windows(r.failTimes)}`);
  }
});
