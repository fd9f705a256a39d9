/**
 * The writer at scale as deployed (issue 3, scale): the built `bin/lighthouse-writer.js` (its
 * shebang's V8 flags apply) in its own process, a real ZooKeeper holding --clusters (1,000) x
 * --nodes (50) ephemeral znodes, a real HAProxy. Where bench/writer-scale.ts and
 * bench/haproxy-scale.ts measure the balancer inside the bench process (tsx and the bench's own
 * state included), this prints what the writer process itself costs, from /proc:
 *  - RSS (and its anonymous / file-backed split) once HAProxy serves every node, and its peak
 *    (VmHWM) over the load. Goal <= 150 MB.
 *  - --changes one-node weight changes (setData on a random node; with --kind membership a
 *    node removed, then added back by the cluster's next change), one at a time, --gap ms
 *    apart, each waited for on HAProxy (`show servers state BACKEND` on a connection of our
 *    own, polled every 1 ms): writer CPU per change (user + system ticks over the phase,
 *    background config-file writes included) and znode write -> HAProxy state latency (poll
 *    period included). Goal <= 1 ms of writer CPU per change. That CPU twice: all of it (the
 *    ticks of the phase over the changes: the config-file writes the changes queue included),
 *    and on each change's path alone, from the ZooKeeper event to the `set server` commands
 *    written (bench/critical-path-hook.mjs, loaded into the writer: process.cpuUsage at both
 *    ends; the write of the file is deferred 1 s, off that path). With --changes 400 or more,
 *    its p50 per 200 changes too: the path is optimized by V8 as changes come (a writer runs
 *    for days; the first 200 are the coldest). The figures are after --warmup (200) changes
 *    that are not counted (their p50 is printed: the cold figure).
 * Prints figures, asserts nothing timed.
 *
 *   node --import tsx bench/writer-process-scale.ts [--clusters 1000] [--nodes 50] [--changes 200] [--warmup 200] [--gap 20] [--kind weight|membership] [--cpu-prof DIR] [--heap-snapshot DIR] [--node-args "FLAGS"]
 */
import { spawn } from 'node:child_process';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { haproxyEnv, freePort } from '../test/helpers/haproxy.js';
import { preferredPort } from '../scripts/lib/ports.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { adminMode, type ServerStateRow } from '../src/balancers/haproxy/runtime/parse.js';
import { adminCommand, benchIp, benchNode, benchZk, cleanup, fmtStats, hrMs, runBench, serverRows, shebangFlags, sleep, stats, tempDir, writeConfigDir, znodeData, znodePath, type ZkOp } from './lib.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '50' },
    changes: { type: 'string', default: '200' },
    /** changes made first and not counted: a writer runs for days, V8 optimizes its path over
     * the first hundreds of changes */
    warmup: { type: 'string', default: '200' },
    gap: { type: 'string', default: '20' },
    /** weight: one-node weight changes; membership: a node removed, then added back, in turn */
    kind: { type: 'string', default: 'weight' },
    /** a .cpuprofile of the writer process in this dir (the writer is then run by `node
     * --cpu-prof BIN`: its shebang has no V8 flags to lose) */
    'cpu-prof': { type: 'string' },
    /** a heap snapshot of the writer once loaded, written in this dir */
    'heap-snapshot': { type: 'string' },
    /** what-if: extra node / V8 flags for the writer process, e.g. "--max-old-space-size=200" */
    'node-args': { type: 'string' },
  },
});
const CLUSTERS = Number(values.clusters);
const NODES = Number(values.nodes);
const CHANGES = Number(values.changes);
const WARMUP = Number(values.warmup);
const GAP = Number(values.gap);
const KIND = values.kind;
if (KIND !== 'weight' && KIND !== 'membership') throw new Error(`--kind: weight or membership, not ${KIND}`);
const ZK_PATH = '/bench';
const TICKS = 100; // USER_HZ
const BIN = fileURLToPath(new URL('../bin/lighthouse-writer.js', import.meta.url));

async function proc(pid: number): Promise<{ ticks: number; rss: number; anon: number; file: number; hwm: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)![1]) / 1024;
  return { ticks: Number(stat[11]) + Number(stat[12]), rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}

const mb = (x: number) => `${x.toFixed(0)} MB`;

runBench(async () => {
  const zk = await startZooKeeper({ tickTime: 500, jvm: 'package' });
  cleanup.add(() => zk.stop());
  const bz = await benchZk(zk.connectString);
  const names = Array.from({ length: CLUSTERS }, (_, c) => `svc${String(c).padStart(4, '0')}`);
  const nodeOf = (c: number, i: number, weight?: number) => benchNode(8080, { ip: benchIp(c, i), host: `${names[c]}-${i}.bench`, ...(weight !== undefined && { weight }) });

  const t0 = performance.now();
  await bz.mkdirp(ZK_PATH);
  for (let c = 0; c < CLUSTERS; c += 50) {
    await Promise.all(names.slice(c, c + 50).map((n) => bz.create(`${ZK_PATH}/${n}`, '', false)));
    await Promise.all(
      names.slice(c, c + 50).map((_, k) => {
        const ops: ZkOp[] = Array.from({ length: NODES }, (_, i) => ({ op: 'create', path: znodePath(ZK_PATH, names[c + k], nodeOf(c + k, i)), data: znodeData(nodeOf(c + k, i)) }));
        return bz.multi(ops);
      }),
    );
  }
  console.log(`writer process at scale: ${CLUSTERS} clusters x ${NODES} nodes in ZooKeeper (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => hap.cleanup());
  const clusters: Record<string, Record<string, unknown>> = {};
  // one port per cluster, below the kernel's ephemeral range: an ephemeral port free now may be
  // a client socket of another process by the time HAProxy binds it, a load later (and free
  // ports asked for one at a time may repeat: the writer refuses two clusters on one port)
  const ports = new Set<number>();
  for (const [i, n] of names.entries()) {
    let port = await preferredPort(20_000 + i);
    while (ports.has(port)) port = await freePort();
    ports.add(port);
    clusters[n] = { port, backend: ['mode http', 'balance roundrobin'] };
  }
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: zk.connectString, zkPath: ZK_PATH, clusters, level: 'warn' });

  const tStart = performance.now();
  const logFile = join(dir, 'writer.log');
  const log = await open(logFile, 'w');
  const prof = values['cpu-prof'];
  const snap = values['heap-snapshot'];
  const nodeArgs = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), ...(snap ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snap}`] : []), ...(values['node-args']?.split(/\s+/).filter(Boolean) ?? [])];
  // run by `node` itself when flags are added: the shebang's own flags first, as it would
  const shebang = shebangFlags('lighthouse-writer');
  const critical = join(await tempDir('lh-bench-critical-'), 'critical-path.txt'); // not in the config dir: the writer watches that
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${fileURLToPath(new URL('./critical-path-hook.mjs', import.meta.url))}`.trim(), LH_BENCH_CRITICAL_FILE: critical };
  const w = nodeArgs.length ? spawn(process.execPath, [...shebang, ...nodeArgs, BIN, dir], { stdio: ['ignore', log.fd, 'inherit'], env }) : spawn(BIN, [dir], { stdio: ['ignore', log.fd, 'inherit'], env });
  await log.close();
  /** the writer's warnings and errors so far (it logs at warn), a count per message */
  const problems = async () => {
    const counts = new Map<string, number>();
    for (const l of (await readFile(logFile, 'utf8')).split('\n').filter(Boolean)) {
      const msg = String((JSON.parse(l) as { msg?: unknown }).msg).replace(/\d+/g, 'N').slice(0, 120);
      counts.set(msg, (counts.get(msg) ?? 0) + 1);
    }
    return [...counts].map(([m, n]) => `${n} x ${m}`);
  };
  cleanup.pid(w.pid!);
  const exited = new Promise((r) => w.once('exit', r));
  cleanup.add(async () => {
    if (w.exitCode === null) w.kill('SIGTERM');
    await exited;
    cleanup.forget(w.pid!);
  });

  // loaded: HAProxy serves every node (named servers not in maintenance)
  const want = CLUSTERS * NODES;
  let served = 0;
  const end = Date.now() + 300_000;
  while (Date.now() < end) {
    const text = await adminCommand(hap.socketFile, 'show servers state').catch(() => '');
    served = text.split('\n').filter((l) => /^\d+ svc\d+ \d+ svc\d+-\d+\.bench:8080 1[01]\./.test(l) && l.split(' ')[6] === '0').length;
    if (served >= want) break;
    await sleep(500);
  }
  if (served < want) throw new Error(`HAProxy serves ${served} of ${want} nodes after 300 s; writer log:\n${(await problems()).join('\n')}`);
  console.log(`  start to every node served by HAProxy: ${((performance.now() - tStart) / 1000).toFixed(1)} s`);
  await sleep(3000); // background config write, GC settle
  const loaded = await proc(w.pid!);
  console.log(`  writer RSS with the state loaded: ${mb(loaded.rss)} (anon ${mb(loaded.anon)}, file ${mb(loaded.file)}); peak so far ${mb(loaded.hwm)} (goal <= 150 MB)`);
  if (snap) {
    const before = new Set(await readdir(snap));
    w.kill('SIGUSR2');
    const end = Date.now() + 120_000;
    let file: string | undefined;
    while (!file && Date.now() < end) {
      await sleep(500);
      file = (await readdir(snap)).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    }
    await sleep(2000); // written
    console.log(`  heap snapshot: ${file ? join(snap, file) : 'none within 120 s'}`);
  }

  // one-node changes, one at a time
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const criticalPath = async () => (await readFile(critical, 'utf8')).split('\n').filter(Boolean).map((us) => Number(us) / 1000);
  let lat: number[] = [];
  /** membership: the node of a cluster that is removed now (added back by its next change) */
  const removed = new Map<number, number>();
  const changes = async (count: number) => {
    for (let k = 0; k < count; k++) await change(k);
  };
  if (WARMUP > 0) {
    await writeFile(critical, '');
    await changes(WARMUP);
    console.log(`  warm-up, not counted: ${WARMUP} changes (writer CPU on the path p50 ${stats(await criticalPath()).p50.toFixed(2)} ms)`);
    lat = [];
  }
  await writeFile(critical, ''); // from here on: the changes'
  const p0 = await proc(w.pid!);
  const tPhase = performance.now();
  const mPhase = hrMs();
  await changes(CHANGES);
  async function change(k: number): Promise<void> {
    const c = rand(CLUSTERS);
    const i = removed.get(c) ?? rand(NODES);
    const weight = 2 + (k % 50);
    const n = nodeOf(c, i, weight);
    const path = znodePath(ZK_PATH, names[c], n);
    // membership: remove a node (served no more: gone or in maintenance), then add it back
    const removing = KIND === 'membership' && !(removed.get(c) === i);
    const [what, done] =
      KIND === 'weight'
        ? [`${n.name} weight ${weight}`, (rows: ServerStateRow[]) => rows.some((r) => r.addr === n.ip && r.uweight === weight)]
        : removing
          ? [`${n.name} removed`, (rows: ServerStateRow[]) => !rows.some((r) => r.addr === n.ip && adminMode(r.adminState) !== 'maint')]
          : [`${n.name} added`, (rows: ServerStateRow[]) => rows.some((r) => r.addr === n.ip && adminMode(r.adminState) === 'up')];
    const t = hrMs();
    if (KIND === 'weight') await bz.set(path, znodeData(n));
    else if (removing) await bz.remove(path), removed.set(c, i);
    else await bz.create(path, znodeData(n)), removed.delete(c);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = await serverRows(hap.socketFile, names[c]);
      if (done(rows)) break;
      if (Date.now() > deadline) throw new Error(`change ${k} (${what}) not applied within 10 s; writer log:\n${(await problems()).join('\n')}`);
      await sleep(1);
    }
    lat.push(hrMs() - t);
    await sleep(GAP);
  }
  const wall = (performance.now() - tPhase) / 1000;
  // to cut the phase out of a .cpuprofile (its timestamps are µs on the same clock)
  if (prof) console.log(`    the phase on CLOCK_MONOTONIC: ${Math.round(mPhase * 1000)}..${Math.round(hrMs() * 1000)} µs`);
  const p1 = await proc(w.pid!);
  const cpuMs = ((p1.ticks - p0.ticks) / TICKS) * 1000;
  console.log(`  ${CHANGES} one-node ${KIND === 'weight' ? 'weight changes' : 'removals and additions'}, ${GAP} ms apart (${wall.toFixed(1)} s):`);
  console.log(`    writer CPU per change ${(cpuMs / CHANGES).toFixed(2)} ms (goal <= 1 ms; /proc ticks over the phase incl. background config writes: ${(cpuMs / wall / 10).toFixed(1)}% of a core)`);
  const path = await criticalPath();
  console.log(`    writer CPU on the path of a change (ZooKeeper event -> set server written; process.cpuUsage) ${fmtStats(stats(path))}`);
  // a writer runs for days: how the figure moves as V8 optimizes the path (it tiers up over
  // the first thousand or so changes)
  if (path.length >= 400) {
    const blocks: string[] = [];
    for (let i = 0; i + 200 <= path.length; i += 200) blocks.push(`${i + 1}-${i + 200}: ${stats(path.slice(i, i + 200)).p50.toFixed(2)}`);
    console.log(`      p50 by 200 changes, in order (ms): ${blocks.join('  ')}`);
  }
  console.log(`    znode write -> HAProxy state (1 ms poll included) ${fmtStats(stats(lat))}`);
  const logged = await problems();
  console.log(`  writer warnings/errors logged: ${logged.length ? `\n    ${logged.join('\n    ')}` : 'none'}`);
  console.log(`  writer RSS after the changes: ${mb(p1.rss)} (anon ${mb(p1.anon)}, file ${mb(p1.file)}); peak ${mb(p1.hwm)} (goal <= 150 MB)`);
  await sleep(10_000); // what a writer between bursts of changes holds
  const p2 = await proc(w.pid!);
  console.log(`  writer RSS 10 s later, idle: ${mb(p2.rss)} (anon ${mb(p2.anon)}, file ${mb(p2.file)}) (goal <= 150 MB)`);
});
