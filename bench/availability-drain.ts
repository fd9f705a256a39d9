/**
 * Availability drain (issue 21): from `lighthousectl disable` returning to every writer's HAProxy
 * serving the node's server in drain, with --writers writers (each its own process and its own
 * HAProxy) watching the cluster. Goal: p99 <= 20 ms on loopback with 10 writers.
 *
 * How it is measured:
 *  - a real reporter (lighthouse-reporter, built) publishes one healthy instance; lighthousectl
 *    (built, as installed) runs as its own process for every sample, over the reporter's local
 *    socket; t0 = CLOCK_MONOTONIC when that process has exited (the operator's command
 *    returned). The reporter answers PUT /state once ZooKeeper acknowledged the change, so a
 *    writer may be done before the command returns: such a sample is negative (and is the
 *    point: the drain is in effect when the command says so);
 *  - each writer is built as lighthouse-writer builds it and stamps `writer.onApplied` (after
 *    HAProxy answered the runtime commands on its admin socket: the drain is in force) with
 *    CLOCK_MONOTONIC and the cluster's membership signature, sent over IPC; a sample ends when
 *    every writer applied the signature with the server in drain;
 *  - after each sample every HAProxy is asked `show servers state` on its own connection and
 *    must show the server in drain (counted, printed);
 *  - then `lighthousectl enable` (timed the same way, printed apart), and the next sample.
 *
 *   node --import tsx bench/availability-drain.ts [--samples 50] [--writers 10] [--warmup 5]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import { startBackend, freePort } from '../test/helpers/backends.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { haproxyEnv } from '../test/helpers/haproxy.js';
import { adminMode } from '../src/balancers/haproxy/runtime/parse.js';
import { cleanup, fmtStats, forkTs, hrMs, inProcessWriter, membershipSig, nullLogger, runBench, serverRows, shebangFlags, stats, tempDir, writeConfigDir } from './lib.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '50' },
    writers: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    child: { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLUSTER = 'web';
const HOST = 'node-a.bench';

interface Applied {
  t: number;
  sig: string | null;
}

// ------------------------------------------------------------ child: one writer
async function child(dir: string): Promise<void> {
  const { writer } = await inProcessWriter(dir, nullLogger('info'));
  writer.onApplied.add((_b, state) => {
    const t = hrMs();
    const c = state.clusters.find((x) => x.name === CLUSTER);
    process.send!({ t, sig: c ? membershipSig(c.nodes) : null } satisfies Applied);
  });
  process.on('disconnect', () => void writer.stop().finally(() => process.exit(0)));
}

// ------------------------------------------------------------ parent
interface WriterProc {
  socket: string;
  last: Applied | null;
  waiter: { sig: string; resolve(a: Applied): void } | null;
}

async function startWriter(connect: string): Promise<WriterProc> {
  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => hap.cleanup());
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: connect, zkPath: '/lh', clusters: { [CLUSTER]: { port: await freePort(), backend: ['mode http'] } } });
  const proc = forkTs(fileURLToPath(import.meta.url), ['--child', dir], shebangFlags('lighthouse-writer'));
  const w: WriterProc = { socket: hap.socketFile, last: null, waiter: null };
  proc.on('message', (m: Applied) => {
    w.last = m;
    if (w.waiter && m.sig === w.waiter.sig) (w.waiter.resolve(m), (w.waiter = null));
  });
  return w;
}

function applied(ws: WriterProc[], sig: string, ms: number): Promise<Applied[]> {
  return Promise.all(
    ws.map((w) =>
      w.last?.sig === sig
        ? w.last
        : new Promise<Applied>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`a writer did not apply ${sig} within ${ms} ms (last: ${w.last?.sig})`)), ms);
            w.waiter = { sig, resolve: (a) => (clearTimeout(t), resolve(a)) };
          }),
    ),
  );
}

/** `lighthousectl ARGS` (built); resolves with CLOCK_MONOTONIC at its exit and how long it ran */
function ctl(args: string[]): Promise<{ tExit: number; ran: number }> {
  const t = hrMs();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(ROOT, 'dist/cli/lighthousectl.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      const tExit = hrMs();
      if (code === 0) resolve({ tExit, ran: tExit - t });
      else reject(new Error(`lighthousectl ${args.join(' ')}: exit ${code}: ${err}`));
    });
  });
}

async function parent(): Promise<void> {
  const SAMPLES = Number(values.samples);
  const WRITERS = Number(values.writers);
  const WARMUP = Number(values.warmup);
  // the built CLI and reporter, as installed (ensure-deps builds dist/ when src is newer)
  const built = spawnSync('bash', ['scripts/ensure-deps.sh'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('scripts/ensure-deps.sh failed');

  const zk = await startZooKeeper({ tickTime: 200, jvm: 'package' });
  cleanup.add(() => zk.stop());
  const b = await startBackend('a');
  cleanup.add(() => b.close());
  const dir = await tempDir('lh-bench-node-');
  await mkdir(join(dir, 'discovery'));
  await mkdir(join(dir, 'services'));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), stringify({ hosts: [zk.connectString], path: '/lh' }));
  await writeFile(join(dir, 'services', `${CLUSTER}.yaml`), stringify({ port: b.port, discovery: 'zookeeper', checks: { interval: 1, http: { uri: '/health' } } }));
  await writeFile(join(dir, 'http.yaml'), stringify({ port: await freePort(), bind_address: '127.0.0.1', socket: 'reporter.sock' }));
  await writeFile(join(dir, 'availability.yaml'), stringify({ state_file: 'availability.json' }));
  const reporter = startDaemon('lighthouse-reporter', [dir], { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1', LIGHTHOUSE_LOG_LEVEL: 'info' }, true);
  cleanup.add(() => reporter.stop());

  const writers: WriterProc[] = [];
  for (let i = 0; i < WRITERS; i++) writers.push(await startWriter(zk.connectString));
  const name = `${HOST}:${b.port}`;
  const up = `${name}//up`;
  const drain = `${name}//drain`;
  await applied(writers, up, 120_000);

  const fromReturn: number[] = [];
  const perWriter: number[] = [];
  const enableFromReturn: number[] = [];
  const cliRuns: number[] = [];
  let shown = 0;
  const notShown: string[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const counted = i >= WARMUP;
    const waitDrain = applied(writers, drain, 10_000);
    const off = await ctl(['disable', '-c', dir, '--reason', 'bench']);
    const done = await waitDrain;
    if (counted) {
      fromReturn.push(Math.max(...done.map((a) => a.t)) - off.tExit);
      perWriter.push(...done.map((a) => a.t - off.tExit));
      cliRuns.push(off.ran);
      for (const w of writers) {
        const row = (await serverRows(w.socket, CLUSTER)).find((r) => r.port === b.port && r.addr === '127.0.0.1');
        if (row && adminMode(row.adminState) === 'drain') shown++;
        else notShown.push(`sample ${i - WARMUP}: ${row ? adminMode(row.adminState) : 'no row'}`);
      }
    }
    const waitUp = applied(writers, up, 10_000);
    const on = await ctl(['enable', '-c', dir]);
    const back = await waitUp;
    if (counted) enableFromReturn.push(Math.max(...back.map((a) => a.t)) - on.tExit);
  }

  console.log(`availability drain: lighthousectl disable returned -> every writer's HAProxy serving the server in drain (writer.onApplied, CLOCK_MONOTONIC)`);
  console.log(`${SAMPLES} samples (after ${WARMUP} uncounted), ${WRITERS} writers, each with its own HAProxy; < 0: done before the command returned`);
  console.log(`  disable -> all ${WRITERS} in drain   ${fmtStats(stats(fromReturn))}   (goal p99 <= 20 ms)`);
  console.log(`  disable -> each writer         ${fmtStats(stats(perWriter))}`);
  console.log(`  enable  -> all ${WRITERS} serving    ${fmtStats(stats(enableFromReturn))}`);
  console.log(`  lighthousectl disable, spawn to exit (node start included): ${fmtStats(stats(cliRuns))}`);
  console.log(`  show servers state had the server in drain: ${shown}/${shown + notShown.length} checks${notShown.length ? `\n    ${notShown.slice(0, 5).join('\n    ')}` : ''}`);
}

runBench(async () => {
  if (values.child) return child(values.child).then(() => new Promise(() => {})); // runs until disconnected
  return parent();
});
