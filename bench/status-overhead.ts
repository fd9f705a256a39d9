/**
 * What the status API and the metrics cost the writer on its convergence path (issue 22):
 * znode change -> HAProxy runtime state applied, p50 / p99, with a dashboard connected to
 * /api/v1/events and a Prometheus-like scraper GETting /metrics every second, side by side
 * with neither. Goal: no measurable difference.
 *
 * One writer process built as lighthouse-writer builds it (HTTP server, users.yaml, metrics and
 * status observers on the writer), its own HAProxy, a ZooKeeper run as Debian's package runs
 * it. The two conditions are interleaved in blocks of --block changes (the machine's drift
 * falls on both alike); the clients (this process, as they would be another) are connected
 * only during the "with" blocks. t1 as in writer-convergence.ts: `writer.onApplied` in the
 * child, stamped on CLOCK_MONOTONIC and sent over IPC; t0 the ZooKeeper ack of the bench's
 * write. Between changes the writer's deferred config-file write is done (`flush`), as there.
 *
 *   node --import tsx bench/status-overhead.ts [--changes 300] [--block 25] [--gap 20] [--warmup 60]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { stringify } from 'yaml';
import type { ChildProcess } from 'node:child_process';
import type { ServiceNode } from '../src/core/node.js';
import { systemClock } from '../src/core/clock.js';
import { ConfigStore } from '../src/config/store.js';
import { Writer } from '../src/writer/writer.js';
import { fanOut } from '../src/core/fan-out.js';
import { daemonHttp } from '../src/status/daemon-http.js';
import { WriterHistory } from '../src/status/history.js';
import { mountStatus, writerStatus } from '../src/status/routes.js';
import { hashSecret } from '../src/http/users.js';
import type { HaproxyBalancer } from '../src/balancers/haproxy/balancer.js';
import { haproxyEnv, freePort } from '../test/helpers/haproxy.js';
import { Secrets } from '../src/core/redact.js';

import { cleanup, cycleChange, fixedCluster, fmtStats, forkTs, hrMs, instrumentedRegistry, membershipSig, nullLogger, runBench, shebangFlags, sleep, stats, writeConfigDir } from './lib.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '300' },
    block: { type: 'string', default: '25' },
    gap: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '60' },
    nodes: { type: 'string', default: '5' },
    child: { type: 'string' },
  },
});
const ZK_PATH = '/lh';
const CLUSTER = 'web';
const AUTH = `Basic ${Buffer.from('bench:bench-pw').toString('base64')}`;

// ------------------------------------------------------------ child: the writer, as the CLI builds it
async function child(dir: string): Promise<void> {
  const logger = nullLogger('info');
  let balancer: HaproxyBalancer | null = null;
  const registry = instrumentedRegistry({ balancer: (b) => (balancer = b) });
  const secrets = new Secrets();
  const store = new ConfigStore({ dir, registry, logger, secrets });
  const { config: loaded } = await store.load();
  const http = daemonHttp({ daemon: 'writer', dir, logger, clock: systemClock, store, secrets, sources: { sessions: () => writer.sessions(), clusters: () => writer.members() } });
  const history = new WriterHistory(systemClock);
  const writer = new Writer({ registry, logger, clock: systemClock, configDir: dir, observer: fanOut(['members', 'removed', 'applied', 'applyFailed'], [http.metrics.writerObserver(), history]), discoveryObserver: http.metrics });
  mountStatus(http.router, () => ({ result: writerStatus({ host: 'bench', clusters: () => writer.clusterConfigs(), members: () => writer.members(), serving: () => writer.serving(), since: (c) => history.changed.get(c) }), reloads: history.reloads }), systemClock);
  writer.onApplied.add((_b, state) => {
    const t = hrMs();
    const c = state.clusters.find((x) => x.name === CLUSTER);
    process.send!({ t, sig: c ? membershipSig(c.nodes) : null });
  });
  await writer.apply(loaded);
  http.configure(loaded);
  process.on('message', (m) => m === 'flush' && void balancer!.flush().then(() => process.send!('settled')));
  process.on('disconnect', () => void Promise.all([http.stop(), writer.stop()]).finally(() => process.exit(0)));
}

// ------------------------------------------------------------ parent
interface Proc {
  proc: ChildProcess;
  last: string | null;
  settled: number;
  waiter: { sig: string; resolve(t: number): void } | null;
}

function until(w: Proc, sig: string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not converged on ${sig} within ${ms} ms (last: ${w.last})`)), ms);
    w.waiter = { sig, resolve: (x) => (clearTimeout(t), resolve(x)) };
  });
}

async function idle(w: Proc): Promise<void> {
  const want = w.settled + 1;
  w.proc.send('flush');
  const end = Date.now() + 30_000;
  while (w.settled < want && Date.now() < end) await sleep(2);
}

/** a dashboard on /api/v1/events and a scraper of /metrics every second, until stopped */
function clients(port: number): { stop(): Promise<{ events: number; scrapes: number }> } {
  const ac = new AbortController();
  let events = 0;
  let scrapes = 0;
  const dashboard = (async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/events`, { headers: { authorization: AUTH }, signal: ac.signal });
    if (res.status !== 200) throw new Error(`events: HTTP ${res.status}`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      events += value.split('event: status').length - 1;
    }
  })().catch((err) => (ac.signal.aborted ? undefined : Promise.reject(err)));
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: ac.signal }).catch(() => null);
    if (r) await r.text().then(() => scrapes++, () => {});
  };
  const timer = setInterval(() => void scrape(), 1000);
  void scrape();
  return {
    async stop() {
      clearInterval(timer);
      ac.abort();
      await dashboard;
      return { events, scrapes };
    },
  };
}

async function parent(): Promise<void> {
  const CHANGES = Number(values.changes);
  const BLOCK = Number(values.block);
  const GAP = Number(values.gap);
  const NODES = Number(values.nodes);
  const { zk, bz, members: fixed } = await fixedCluster(ZK_PATH, CLUSTER, NODES);
  let members: ServiceNode[] = fixed;
  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => hap.cleanup());
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: zk.connectString, zkPath: ZK_PATH, clusters: { [CLUSTER]: { port: await freePort(), backend: ['mode http'] } } });
  const port = await freePort();
  await writeFile(join(dir, 'http.yaml'), stringify({ bind_address: '127.0.0.1', socket: false, writer: { port } }));
  await writeFile(join(dir, 'users.yaml'), stringify({ bench: { role: ['admin'], password_hash: await hashSecret('bench-pw') } }));
  const proc = forkTs(fileURLToPath(import.meta.url), ['--child', dir], shebangFlags('lighthouse-writer'));
  const w: Proc = { proc, last: null, settled: 0, waiter: null };
  proc.on('message', (m: { t: number; sig: string | null } | 'settled') => {
    if (m === 'settled') return void w.settled++;
    w.last = m.sig;
    if (w.waiter && m.sig === w.waiter.sig) {
      w.waiter.resolve(m.t);
      w.waiter = null;
    }
  });
  const sig0 = membershipSig(members);
  if (w.last !== sig0) await until(w, sig0, 60_000);

  let seq = 0;
  async function change(): Promise<number> {
    const ch = cycleChange(seq++, members, ZK_PATH, CLUSTER);
    members = ch.members;
    const done = until(w, membershipSig(members), 10_000);
    await ch.write(bz);
    const tAck = hrMs();
    const t1 = await done;
    await idle(w);
    if (GAP) await sleep(GAP);
    return t1 - tAck;
  }

  console.log(`status overhead: writer convergence (ZooKeeper ack of a znode write -> HAProxy runtime state applied), cluster of ${NODES}-${NODES + 1} nodes`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model.trim()}, load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (let i = 0; i < Number(values.warmup); i++) await change();
  const samples = { neither: [] as number[], with: [] as number[] };
  let events = 0;
  let scrapes = 0;
  for (let b = 0; samples.neither.length + samples.with.length < CHANGES; b++) {
    const withClients = b % 2 === 1;
    const c = withClients ? clients(port) : null;
    if (c) await sleep(1200); // the stream open, a first scrape done
    for (let i = 0; i < BLOCK; i++) (withClients ? samples.with : samples.neither).push(await change());
    if (c) {
      const r = await c.stop();
      events += r.events;
      scrapes += r.scrapes;
    }
  }
  console.log(`  neither (no client)                         ${fmtStats(stats(samples.neither))}`);
  console.log(`  dashboard on /api/v1/events + /metrics 1/s  ${fmtStats(stats(samples.with))}`);
  console.log(`  (during the "with" blocks: ${events} status events streamed, ${scrapes} scrapes; blocks of ${BLOCK}, interleaved)`);
  console.log(`  load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

runBench(async () => {
  if (values.child) return child(values.child).then(() => new Promise(() => {}));
  await parent();
});
