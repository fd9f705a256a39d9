/**
 * Writer convergence (issue 3): a znode change -> HAProxy's runtime state, p50 / p99 over
 * --changes paced changes (add a node / change its weight / remove it, in turn), with 1 writer,
 * then with --writers writers watching the same cluster, each with its own HAProxy.
 * Goal: 1 writer p50 <= 2 ms, p99 <= 10 ms; 10 writers p99 <= 30 ms.
 *
 * How t1 is measured, and why this is the true figure:
 *  - every writer runs in its own process (one event loop per writer, as deployed: ten writers
 *    in one process would queue each other's work on one thread), built as lighthouse-writer
 *    builds it, logging at info (to /dev/null: formatting cost kept);
 *  - t1 = `writer.onApplied`, which fires after balancer.apply resolved, i.e. after HAProxy
 *    answered the runtime commands on its admin socket; HAProxy runs a CLI command before it
 *    writes the reply, so the new state is in effect at t1. The child stamps it with
 *    CLOCK_MONOTONIC (process.hrtime: one clock for all processes of the host) and sends it over
 *    IPC; the IPC delay is not counted but the stamp is taken before it;
 *  - t0 = the same clock, just before the bench's own ZooKeeper session issues the write, and
 *    tAck when ZooKeeper acknowledged it. The goal figures are from tAck: the change exists once
 *    ZooKeeper committed it, and the commit itself (a disk fsync: ~1-3 ms p50 on this VM, more
 *    under load) is ZooKeeper's latency, the same for any reader. The watch event is sent to
 *    the writers at the commit too, so a writer can be done before the bench reads its own ack
 *    (the figure is then slightly low, never high by more than the ack's delivery). Figures
 *    from t0 are printed as well;
 *  - a change counts as converged on a writer only when the state it applied is the expected
 *    one (a membership signature). Change i+1 starts once all writers converged on i AND
 *    finished the background work change i queued (the config-file write), then --gap ms. The
 *    writer defers that write (WRITE_DELAY_MS, 1 s, coalescing a burst) to keep it off the path
 *    of changes; waiting 1 s per change would make a run 7 minutes, so once every writer
 *    converged the bench has each one do it at once (`flush`), which is when the product would
 *    have done it: after the convergence, never during it. Its CPU is in the CPU line;
 *  - check that t1 is not early: on every --verify-every'th change the bench reads
 *    `show servers state` on each HAProxy (own connection) as soon as the writer reports, and
 *    compares it with the expected membership (address, weight, state).
 * Polling the admin sockets from here would add the poll period to every sample and burn a core
 * of the two.
 *
 * Each sample is also split by whose time it is (`stampExternals`): waiting for the watch event,
 * ZooKeeper's answer to the getData it makes, HAProxy's answer to the command batch, and the
 * rest, the writer's own time. The goal figures include all four.
 *
 * Warm, as deployed: ZooKeeper runs as Debian's package runs it (no JVM flags: the optimizing
 * JIT, where the tests' servers use C1 only for a quick start) and first serves --zk-warmup
 * reads; each run starts after --warmup uncounted changes (both the writer's and ZooKeeper's
 * JIT have seen the path). A writer and its ZooKeeper run for weeks; the first changes after
 * a cold start are not what a user sees. Measured cold (2026-12-03, 3 interleaved pairs, 1
 * writer): p50 4.25-6.79 ms cold against 2.85-5.50 warm, in the same minutes.
 *
 *   node --import tsx bench/writer-convergence.ts [--changes 200] [--writers 10] [--nodes 5] [--gap 20]
 *     [--warmup 100] [--zk-warmup 30000]   (0 0: cold)
 *     [--cpu-prof DIR]        a .cpuprofile per writer process
 *     [--what-if-no-check]    `haproxy -c` stubbed out: sizes the cost of validating every write
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ServiceNode } from '../src/core/node.js';
import { haproxyEnv, freePort, type HaproxyEnv } from '../test/helpers/haproxy.js';
import {
  checkCpu, cleanup, cycleChange, fixedCluster, fmt, fmtStats, forkTs, procCpu, hrMs, inProcessWriter, membershipSig, nullLogger, rowsAgree, runBench, serverRows, shebangFlags, showProc, sleep, stats, tempDir,
  writeConfigDir,
} from './lib.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    writers: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '5' },
    'verify-every': { type: 'string', default: '10' },
    gap: { type: 'string', default: '20' },
    /** changes made and not counted before each run (both JITs warm, as in a long-running writer) */
    warmup: { type: 'string', default: '100' },
    /** ZooKeeper reads before anything (bz.warm) */
    'zk-warmup': { type: 'string', default: '30000' },
    child: { type: 'string' },
    /** what-if: HAProxy binary wrapper that answers `-c` at once (no validation of membership writes) */
    'what-if-no-check': { type: 'boolean', default: false },
    /** profile each writer process: a .cpuprofile per writer in this dir */
    'cpu-prof': { type: 'string' },
  },
});
const ZK_PATH = '/lh';
const CLUSTER = 'web';

interface Applied {
  /** onApplied; the latest member list delivered to the writer and apply() call before it */
  t: number;
  tSnap: number;
  tApply: number;
  sig: string | null;
  /** the latest watch event dispatched, getData issued / answered, admin-socket batch written /
   * answered before `t` (see `stampExternals`) */
  tEvent: number;
  tRead: number;
  tReadDone: number;
  tSocket: number;
  tSocketDone: number;
}

/**
 * Stamps around the two round trips outside the writer: ZooKeeper's answer to the getData a
 * watch event makes, and HAProxy's answer to the batch of runtime commands. The prototypes are
 * wrapped here, in the bench's child, as bench/critical-path-hook.mjs does: the product has no
 * hook. The split says how much of a sample is the writer's own time.
 */
async function stampExternals(t: Pick<Applied, 'tEvent' | 'tRead' | 'tReadDone' | 'tSocket' | 'tSocketDone'>): Promise<void> {
  const { ZkSession } = await import('../src/discovery/zookeeper/session.js');
  const { RecursiveWatches } = await import('../src/discovery/zookeeper/recursive-watches.js');
  const { RuntimeApi } = await import('../src/balancers/haproxy/runtime/api.js');
  const zs = ZkSession.prototype as unknown as { getData(...a: unknown[]): Promise<unknown> };
  const rw = RecursiveWatches.prototype as unknown as { dispatch(ev: unknown): void };
  const { getData } = zs;
  const { dispatch } = rw;
  rw.dispatch = function (ev) {
    t.tEvent = hrMs();
    return dispatch.call(this, ev);
  };
  zs.getData = function (...a) {
    t.tRead = hrMs();
    return getData.apply(this, a).finally(() => (t.tReadDone = hrMs()));
  };
  const execute = RuntimeApi.prototype.execute;
  RuntimeApi.prototype.execute = function (commands) {
    t.tSocket = hrMs();
    return execute.call(this, commands).finally(() => (t.tSocketDone = hrMs()));
  };
}

// ------------------------------------------------------------ child: one writer
async function child(dir: string): Promise<void> {
  let tSnap = 0;
  let tApply = 0;
  const ext = { tEvent: 0, tRead: 0, tReadDone: 0, tSocket: 0, tSocketDone: 0 };
  await stampExternals(ext);
  const { writer, balancer } = await inProcessWriter(dir, nullLogger('info'), { members: () => (tSnap = hrMs()), applyStart: () => (tApply = hrMs()) });
  writer.onApplied.add((_balancer, state) => {
    const t = hrMs(); // first: the stamp must not include our own bookkeeping
    const c = state.clusters.find((x) => x.name === CLUSTER);
    process.send!({ t, tSnap, tApply, ...ext, sig: c ? membershipSig(c.nodes) : null } satisfies Applied);
  });
  // all writers converged: do the background config-file write queued now, and say when done
  process.on('message', (m) => m === 'flush' && void balancer().flush().then(() => process.send!('settled')));
  process.on('disconnect', () => void writer.stop().finally(() => process.exit(0)));
}

// ------------------------------------------------------------ parent
interface WriterProc {
  proc: ChildProcess;
  hap: HaproxyEnv;
  last: Applied | null;
  /** flushes asked / done */
  flushes: number;
  settled: number;
  waiter: { sig: string; resolve(a: Applied): void } | null;
}

async function startWriter(connect: string, haproxyBin?: string): Promise<WriterProc> {
  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1, ...(haproxyBin && { haproxy_bin: haproxyBin }) });
  cleanup.add(() => hap.cleanup());
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: connect, zkPath: ZK_PATH, clusters: { [CLUSTER]: { port: await freePort(), backend: ['mode http'] } } });
  // the bin's V8 flags, as it runs (plus, for what-ifs, $BENCH_WRITER_FLAGS)
  const flags = [...shebangFlags('lighthouse-writer'), ...(process.env.BENCH_WRITER_FLAGS?.split(/\s+/).filter(Boolean) ?? [])];
  const proc = forkTs(fileURLToPath(import.meta.url), ['--child', dir], [...flags, ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [])]);
  const w: WriterProc = { proc, hap, last: null, flushes: 0, settled: 0, waiter: null };
  proc.on('message', (m: Applied | 'settled') => {
    if (m === 'settled') return void w.settled++;
    w.last = m;
    if (w.waiter && m.sig === w.waiter.sig) {
      w.waiter.resolve(m);
      w.waiter = null;
    }
  });
  return w;
}

function until(w: WriterProc, sig: string, ms: number): Promise<Applied> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`writer ${w.proc.pid}: not converged on ${sig} within ${ms} ms (last: ${w.last?.sig})`)), ms);
    w.waiter = { sig, resolve: (a) => (clearTimeout(t), resolve(a)) };
  });
}

async function converged(ws: WriterProc[], sig: string, ms: number): Promise<void> {
  await Promise.all(ws.filter((w) => w.last?.sig !== sig).map((w) => until(w, sig, ms)));
}

/** Every writer's background work (the config-file write) for what it applied is done. */
async function idle(ws: WriterProc[]): Promise<void> {
  for (const w of ws) w.flushes++, w.proc.send('flush');
  const end = Date.now() + 30_000;
  while (ws.some((w) => w.settled < w.flushes) && Date.now() < end) await sleep(2);
}

async function parent(): Promise<void> {
  const CHANGES = Number(values.changes);
  const WRITERS = Number(values.writers);
  const NODES = Number(values.nodes);
  const VERIFY = Number(values['verify-every']);
  const GAP = Number(values.gap);
  const WARMUP = Number(values.warmup);
  const ZK_WARMUP = Number(values['zk-warmup']);
  // members: NODES fixed ones, and one that is added, re-weighted and removed in turn (cycleChange)
  const { zk, bz, members: fixed } = await fixedCluster(ZK_PATH, CLUSTER, NODES);
  let members: ServiceNode[] = fixed;

  // what-if (not the product): `haproxy -c` skipped, to size what validating every
  // membership-only config write costs (src/balancers/haproxy/balancer.ts apply -> writeLater)
  let bin: string | undefined;
  if (values['what-if-no-check']) {
    bin = join(await tempDir('lh-bench-bin-'), 'haproxy');
    await writeFile(bin, `#!/bin/sh\n[ "$1" = -c ] && exit 0\nexec ${process.env.HAPROXY_BIN ?? 'haproxy'} "$@"\n`, { mode: 0o755 });
    console.log('WHAT-IF RUN: haproxy -c answered by a stub (config files are not validated)');
  }
  const writers: WriterProc[] = [await startWriter(zk.connectString, bin)];
  let seq = 0; // change number across both runs (the extra node's identity follows it)
  await converged(writers, membershipSig(members), 60_000);

  async function run(label: string, CHANGES: number): Promise<void> {
    const perWriter: number[] = [];
    const fromAck: number[] = [];
    const allFromAck: number[] = [];
    const allConverged: number[] = [];
    const ack: number[] = [];
    const byKind: Record<string, number[]> = { add: [], weight: [], remove: [] };
    const phases = { members: [] as number[], queue: [] as number[], apply: [] as number[], event: [] as number[], zkRead: [] as number[], socket: [] as number[], own: [] as number[] };
    const reloads0 = await Promise.all(writers.map(async (w) => (await showProc(w.hap.masterSocket)).reloads));
    let verified = 0;
    const disagreements: string[] = [];
    await idle(writers);
    const cpu0 = writers.map((w) => ({ ...procCpu(w.proc.pid!), children: checkCpu(w.proc.pid!) }));
    for (let c = 0; c < CHANGES; c++) {
      const i = seq++;
      const ch = cycleChange(i, members, ZK_PATH, CLUSTER);
      const kind = ch.kind;
      members = ch.members;
      const want = membershipSig(members);
      const expect = members;
      const checks: Promise<void>[] = [];
      const waits = writers.map((w) =>
        until(w, want, 10_000).then((a) => {
          if (VERIFY > 0 && i % VERIFY === 0) {
            checks.push(serverRows(w.hap.socketFile, CLUSTER).then((rows) => {
              const diff = rowsAgree(rows, expect);
              if (diff) disagreements.push(`change ${i} (${kind}), writer ${w.proc.pid}: ${diff}`);
              else verified++;
            }));
          }
          return a;
        }),
      );
      const t0 = hrMs();
      const op = ch.write(bz);
      let tAck = 0;
      await op.then(() => ack.push((tAck = hrMs()) - t0));
      const applied = await Promise.all(waits);
      await Promise.all(checks);
      const lat = applied.map((a) => a.t - t0);
      for (const a of applied) {
        phases.members.push(a.tSnap - tAck);
        phases.queue.push(a.tApply - a.tSnap);
        phases.apply.push(a.t - a.tApply);
        phases.event.push(a.tEvent - tAck);
        phases.zkRead.push(a.tReadDone - a.tRead);
        phases.socket.push(a.tSocketDone - a.tSocket);
        // the sample's span [tAck, t] less the parts of it spent waiting for the event, ZooKeeper and HAProxy
        const within = (from: number, to: number) => Math.max(0, Math.min(to, a.t) - Math.max(from, tAck));
        phases.own.push(a.t - tAck - within(tAck, a.tEvent) - within(a.tRead, a.tReadDone) - within(a.tSocket, a.tSocketDone));
      }
      perWriter.push(...lat);
      fromAck.push(...applied.map((a) => a.t - tAck));
      allFromAck.push(Math.max(...applied.map((a) => a.t - tAck)));
      byKind[kind].push(...applied.map((a) => a.t - tAck));
      allConverged.push(Math.max(...lat));
      await idle(writers); // a change reaches writers whose previous background work is done
      if (GAP) await sleep(GAP);
    }
    const cpu1 = writers.map((w) => ({ ...procCpu(w.proc.pid!), children: checkCpu(w.proc.pid!) }));
    const cpuUser = cpu1.reduce((a, c, i) => a + c.user - cpu0[i].user, 0) / writers.length / CHANGES;
    const cpuSelf = cpu1.reduce((a, c, i) => a + c.self - cpu0[i].self, 0) / writers.length / CHANGES;
    const cpuKids = cpu1.reduce((a, c, i) => a + c.children - cpu0[i].children, 0) / writers.length / CHANGES;
    const reloads1 = await Promise.all(writers.map(async (w) => (await showProc(w.hap.masterSocket)).reloads));
    const reloads = reloads1.reduce((a, r, i) => a + r - reloads0[i], 0);
    if (!label) return; // a warm-up
    console.log(`\n${label}: ${CHANGES} changes (add / weight / remove in turn), cluster of ${NODES}-${NODES + 1} nodes`);
    console.log(`  from the ZooKeeper ack of the write (the change exists):`);
    console.log(`    per writer   ${fmtStats(stats(fromAck))}`);
    if (writers.length > 1) console.log(`    all ${writers.length} done  ${fmtStats(stats(allFromAck))}`);
    for (const [kind, xs] of Object.entries(byKind)) console.log(`    ${kind.padEnd(12)} ${fmtStats(stats(xs))}`);
    console.log(`  from issuing the write (includes ZooKeeper's own commit: fsync, quorum):`);
    console.log(`    per writer   ${fmtStats(stats(perWriter))}`);
    if (writers.length > 1) console.log(`    all ${writers.length} done  ${fmtStats(stats(allConverged))}`);
    console.log(`  where the time goes, per writer sample:`);
    console.log(`    ZK ack -> member list in the writer (watch event, re-read)     ${fmtStats(stats(phases.members))}`);
    console.log(`    member list -> balancer.apply called (writer, coalescer)        ${fmtStats(stats(phases.queue))}`);
    console.log(`    balancer.apply -> applied (render, runtime API round trip)     ${fmtStats(stats(phases.apply))}`);
    console.log(`  the same samples split by whose time it is:`);
    console.log(`    ZK ack -> watch event dispatched (< 0: the event came first)   ${fmtStats(stats(phases.event))}`);
    console.log(`    ZooKeeper: the getData round trip the event makes              ${fmtStats(stats(phases.zkRead))}`);
    console.log(`    HAProxy: the runtime command batch's round trip                ${fmtStats(stats(phases.socket))}`);
    console.log(`    the writer's own time (the rest: parse, model, plan, callbacks) ${fmtStats(stats(phases.own))}`);
    console.log(`  ZooKeeper ack of the bench's own write: ${fmtStats(stats(ack))}`);
    console.log(`  CPU per change per writer (/proc, 10 ms ticks): writer process ${cpuSelf.toFixed(1)} ms (user ${cpuUser.toFixed(1)}, kernel ${(cpuSelf - cpuUser).toFixed(1)}) + its background haproxy -c ${cpuKids.toFixed(1)} ms`);
    console.log(`  HAProxy reloads during the changes: ${reloads}`);
    console.log(`  show servers state agreed with the expected membership at t1: ${verified}/${verified + disagreements.length} samples${disagreements.length ? `\n    ${disagreements.slice(0, 5).join('\n    ')}` : ''}`);
  }

  console.log(`writer convergence: znode write (bench session) -> HAProxy runtime state applied (writer.onApplied, CLOCK_MONOTONIC)`);
  console.log(`warm-up, not counted: ${ZK_WARMUP} ZooKeeper reads (${fmt(await bz.warm(`${ZK_PATH}/${CLUSTER}`, ZK_WARMUP), 0)}), then ${WARMUP} changes before each run`);
  await run('', WARMUP);
  await run('1 writer (goal p50 <= 2 ms, p99 <= 10 ms)', CHANGES);
  if (WRITERS > 1) {
    for (let i = 1; i < WRITERS; i++) writers.push(await startWriter(zk.connectString, bin));
    await converged(writers, membershipSig(members), 120_000);
    await run('', WARMUP);
    await run(`${WRITERS} writers (goal p99 <= 30 ms)`, CHANGES);
  }
}

runBench(async () => {
  if (values.child) return child(values.child).then(() => new Promise(() => {})); // runs until disconnected
  return parent();
});
