/**
 * HAProxy balancer at scale (issue 3): --clusters x --nodes (default 1,000 x 50) on a real
 * HAProxy, the balancer driven directly with DesiredState objects (no ZooKeeper, no writer
 * process: bench/writer-convergence.ts measures those). Prints figures; asserts nothing.
 * Goals: (a) full render + write of the config <= 50 ms; (b) a one-node change -> its runtime
 * command applied <= 1 ms of writer CPU; (c) writer RSS <= 150 MB with that state.
 *
 *  (a) `renderConfig(state)`: the full config text. "cold" = a new balancer (empty caches: the
 *      writer's start); "warm" = the loaded balancer after a one-node change (what the background
 *      file write renders). "write" = writeFile + rename of that text (as ConfigFile does);
 *      `haproxy -c` runs in a child process (not writer CPU), printed on its own.
 *  (b) states built as the writer builds them: a changed cluster gets a new ClusterModel and a
 *      new sorted nodes array, every other cluster keeps its objects. Changes mix down (a node
 *      leaves), up (a node that left comes back), weight, and new (a never-seen address: a free
 *      slot). CPU = process.cpuUsage() (user + system, all threads of this process) around each
 *      apply(); "all-in" = the phase's whole CPU including the background config-file writes
 *      and the final flush, divided by the changes. Two phases: a burst (back to back) and paced
 *      (--gap ms apart).
 *  (c) process.memoryUsage().rss at start (node + tsx + modules: tsx's loader thread alone is
 *      ~30 MB a built writer does not have), after loading the state and after the changes (and
 *      after a forced GC when run with --expose-gc). (a) runs last: its cold renders make a
 *      second full set of models that would otherwise count in (c).
 * At the end the file must name every current server and HAProxy must serve exactly the state
 * (one `show servers state` on a connection of our own).
 *
 *   node --expose-gc --import tsx bench/haproxy-scale.ts [--clusters 1000] [--nodes 50]
 *     [--changes 500] [--gap 10] [--seed 1] [--cpu-prof DIR]
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { haproxyBalancer, type HaproxyBalancer } from '../src/balancers/haproxy/index.js';
import { checkConfig } from '../src/balancers/haproxy/config/check.js';
import { parseServersState, type ServerStateRow } from '../src/balancers/haproxy/runtime/parse.js';
import { systemClock } from '../src/core/clock.js';
import { sortNodes, type ServiceNode } from '../src/core/node.js';
import type { ClusterModel, DesiredState } from '../src/core/plugin.js';
import { cluster, haproxyEnv, type HaproxyEnv } from '../test/helpers/haproxy.js';
import { adminCommand, benchNode, cleanup, fmt, fmtStats, hrMs, nullLogger, rowsAgree, runBench, sleep, stats } from './lib.js';

const { values } = parseArgs({
  options: {
    clusters: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '50' },
    changes: { type: 'string', default: '500' },
    gap: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    /** a .cpuprofile of each change phase in this dir */
    'cpu-prof': { type: 'string' },
  },
});
const CLUSTERS = Number(values.clusters);
const NODES = Number(values.nodes);
const CHANGES = Number(values.changes);
const GAP = Number(values.gap);

let seed = Number(values.seed);
/** mulberry32: the same changes on every run */
function rand(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}

const ip = (c: number, host: number) => `10.${(c >> 8) & 255}.${c & 255}.${host}`;
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const gc = (globalThis as { gc?: () => void }).gc;

/** `count` consecutive loopback ports nobody listens on, below the ephemeral range */
async function freeRange(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let base = 20000; base + count < 32768; base += count) {
    const ok = await Promise.all(Array.from({ length: count }, (_, i) => free(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports`);
}

function create(env: HaproxyEnv): HaproxyBalancer {
  const config = haproxyBalancer.schema.parse(env.raw);
  return haproxyBalancer.create(config, { logger: nullLogger('info'), clock: systemClock, configDir: env.dir }) as HaproxyBalancer;
}

/** The bench's membership: what a writer holds, and the changes it would pass on. */
class Membership {
  clusters: ClusterModel[];
  private readonly gone = new Map<number, ServiceNode[]>();
  private readonly fresh = new Map<number, number>();

  constructor(base: number) {
    this.clusters = Array.from({ length: CLUSTERS }, (_, c) =>
      cluster(`c${String(c).padStart(5, '0')}`, { port: base + c, backend: ['balance roundrobin'] }, sortNodes(Array.from({ length: NODES }, (_, n) => benchNode(8080, { ip: ip(c, n + 1) })))),
    );
  }

  get state(): DesiredState {
    return { clusters: this.clusters.slice() };
  }

  /** one node changed in one cluster; returns its kind */
  change(i: number): string {
    const kinds = ['down', 'up', 'weight', 'new'];
    let kind = kinds[i % kinds.length];
    if (kind === 'up' && this.gone.size === 0) kind = 'weight';
    let c = kind === 'up' ? [...this.gone.keys()][rand(this.gone.size)] : rand(CLUSTERS);
    const nodes = [...this.clusters[c].nodes];
    if (kind === 'down') {
      const [n] = nodes.splice(rand(nodes.length), 1);
      this.gone.set(c, [...(this.gone.get(c) ?? []), n]);
    } else if (kind === 'up') {
      const back = this.gone.get(c)!;
      nodes.push(back.pop()!);
      if (!back.length) this.gone.delete(c);
    } else if (kind === 'weight') {
      const k = rand(nodes.length);
      nodes[k] = { ...nodes[k], weight: ((nodes[k].weight ?? 1) % 9) + 2 };
    } else {
      const k = (this.fresh.get(c) ?? 0) + 1;
      this.fresh.set(c, k);
      nodes.push(benchNode(8080, { ip: ip(c, 100 + k) }));
    }
    this.clusters[c] = { ...this.clusters[c], nodes: sortNodes(nodes) };
    return kind;
  }
}

function rss(what: string): void {
  const before = process.memoryUsage();
  gc?.();
  const after = process.memoryUsage();
  console.log(`  RSS ${what}: ${mb(before.rss)} (heap used ${mb(before.heapUsed)})${gc ? `; after GC ${mb(after.rss)} (heap used ${mb(after.heapUsed)})` : ''}`);
}

async function phase(lb: HaproxyBalancer, m: Membership, name: string, gap: number): Promise<void> {
  const wall: number[] = [];
  const cpu: number[] = [];
  const kinds = new Map<string, number>();
  let commands = 0;
  let reloads = 0;
  const reloadsBefore = lb.reloads;
  const prof = values['cpu-prof'] ? new Session() : null;
  if (prof) {
    prof.connect();
    await prof.post('Profiler.enable');
    await prof.post('Profiler.start');
  }
  const phaseCpu = process.cpuUsage();
  const t0 = hrMs();
  for (let i = 0; i < CHANGES; i++) {
    const kind = m.change(i);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    const state = m.state;
    const c0 = process.cpuUsage();
    const w0 = hrMs();
    const r = await lb.apply(state);
    wall.push(hrMs() - w0);
    cpu.push(cpuMs(process.cpuUsage(c0)));
    commands += r.runtimeCommands;
    if (r.reloaded) reloads++;
    if (gap) await sleep(gap);
  }
  const applied = hrMs() - t0;
  const f0 = hrMs();
  await lb.flush();
  const flush = hrMs() - f0;
  const total = cpuMs(process.cpuUsage(phaseCpu));
  if (prof) {
    const { profile } = await prof.post('Profiler.stop');
    await mkdir(values['cpu-prof']!, { recursive: true });
    await writeFile(join(values['cpu-prof']!, `haproxy-scale-${name.split(' ')[0]}.cpuprofile`), JSON.stringify(profile));
    prof.disconnect();
  }
  const c = stats(cpu);
  console.log(`\n${name}: ${CHANGES} one-node changes (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), ${commands} runtime commands, ${reloads} applies reloaded (${lb.reloads - reloadsBefore} reloads)`);
  console.log(`  (b) CPU per apply:   mean ${fmt(cpu.reduce((x, y) => x + y, 0) / cpu.length, 3)}  p50 ${fmt(c.p50, 3)}  p99 ${fmt(c.p99, 3)}  max ${fmt(c.max, 3)}`);
  console.log(`  (b) CPU all-in:      ${fmt(total / CHANGES, 3)} per change (${fmt(total, 0)} over the phase incl. background file writes and the final flush)`);
  console.log(`      wall per apply:  ${fmtStats(stats(wall))}`);
  console.log(`      phase wall ${fmt(applied, 0)}, final flush ${fmt(flush, 0)}`);
}

async function verify(lb: HaproxyBalancer, m: Membership, env: HaproxyEnv): Promise<void> {
  await lb.flush();
  const file = readFileSync(env.configFile, 'utf8');
  const named = new Set([...file.matchAll(/^\s+server (\S+) /gm)].map((x) => x[1]));
  const want = m.clusters.flatMap((c) => c.nodes.map((n) => n.name));
  const missing = want.filter((n) => !named.has(n));
  const rows = parseServersState(await adminCommand(env.socketFile, 'show servers state')).rows;
  const by = new Map<string, ServerStateRow[]>();
  for (const r of rows) by.set(r.backend, [...(by.get(r.backend) ?? []), r]);
  const wrong = m.clusters.map((c) => [c.name, rowsAgree(by.get(c.name) ?? [], c.nodes)]).filter(([, d]) => d);
  console.log(`\ncheck: the file names ${named.size} servers, ${missing.length} of the ${want.length} current ones missing; HAProxy has ${rows.length} server entries, ${wrong.length} backends differ from the state${wrong.length ? ` (${wrong[0].join(': ')})` : ''}`);
}

async function main(): Promise<void> {
  console.log(`HAProxy balancer at scale: ${CLUSTERS} clusters x ${NODES} nodes, ${CHANGES} changes per phase, paced gap ${GAP} ms; ${process.version}${gc ? '' : ' (no --expose-gc: RSS without forced GC)'}`);
  rss('at start, no state');
  const base = await freeRange(CLUSTERS);
  const env = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => env.cleanup());
  const m = new Membership(base);
  rss('with the state built, before the balancer');

  // ---- load
  const lb = create(env);
  cleanup.add(() => lb.stopHaproxy());
  await lb.start();
  const t = hrMs();
  const first = await lb.apply(m.state);
  console.log(`\nload: first apply ${fmt(hrMs() - t, 0)} (render, haproxy -c, write, reload: ${first.reloaded ? 'reloaded' : 'no reload'}), ${lb.reloads} reload(s)`);
  await lb.flush();
  rss('after loading the state (c)');

  // ---- (b), (c); then (a), whose cold renders (a second full set of models) would otherwise
  // count in (c)
  await phase(lb, m, 'burst', 0);
  await phase(lb, m, `paced (${GAP} ms apart)`, GAP);
  rss('after the changes (c)');
  await verify(lb, m, env);
  await render(env, lb, m);
}

/** (a); its own function, so that nothing it made stays reachable from main's frame */
async function render(env: HaproxyEnv, lb: HaproxyBalancer, m: Membership): Promise<void> {
  const cold: number[] = [];
  const coldCpu: number[] = [];
  let text = '';
  for (let i = 0; i < 3; i++) {
    const fresh = create(env);
    const c0 = process.cpuUsage();
    const t = hrMs();
    text = fresh.renderConfig(m.state);
    cold.push(hrMs() - t);
    coldCpu.push(cpuMs(process.cpuUsage(c0)));
  }
  const file = join(env.dir, 'scale-a.cfg');
  const writes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = hrMs();
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    writes.push(hrMs() - t);
  }
  let t = hrMs();
  const check = await checkConfig(String(env.raw.haproxy_bin), file);
  const checkMs = hrMs() - t;
  const warm: number[] = [];
  const background: number[] = [];
  for (let i = 0; i < 20; i++) {
    m.change(2); // a weight
    await lb.apply(m.state);
    t = hrMs();
    lb.renderConfig(m.state);
    warm.push(hrMs() - t);
    const c0 = process.cpuUsage();
    await lb.flush(); // the background write, now: render, compare, write, spawn `haproxy -c`
    background.push(cpuMs(process.cpuUsage(c0)));
  }
  console.log(`\n(a) full config: ${(text.length / 1048576).toFixed(1)} MB, ${text.split('\n').length} lines`);
  console.log(`  render cold (new balancer): ${cold.map((x) => fmt(x, 1)).join(', ')} wall; ${coldCpu.map((x) => fmt(x, 1)).join(', ')} CPU`);
  console.log(`  render warm (after a one-node change): ${fmtStats(stats(warm))}`);
  console.log(`  write (writeFile + rename): ${writes.map((x) => fmt(x, 1)).join(', ')}`);
  console.log(`  cold render + write: ${fmt(cold[cold.length - 1] + writes[writes.length - 1], 1)}; warm render + write: ${fmt(stats(warm).p50 + writes[writes.length - 1], 1)}`);
  console.log(`  haproxy -c (child process, not writer CPU): ${fmt(checkMs, 0)}, ${check.ok ? 'valid' : `INVALID: ${check.output.slice(0, 3).join(' | ')}`}`);
  console.log(`  one background write (render, compare, write, run haproxy -c), writer CPU: ${fmtStats(stats(background))}`);
}

runBench(main);
