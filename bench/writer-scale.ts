/**
 * Writer at scale (issue 3): --clusters (1,000) clusters x --nodes (50) nodes.
 *  (a) full render of the HAProxy config: model, render, the structure render every apply also
 *      does, write to disk; and `haproxy -c` of it (off the change path: background write).
 *      Goal: render + write <= 50 ms. Each timed step starts after a full GC (the bench's own
 *      fresh models are garbage the writer would not have; measured without it: 42.7-61.6 ms,
 *      the spread being which step a major GC fell into).
 *  (b) one-node change -> runtime command applied: a full Writer (built as lighthouse-writer
 *      builds it) with the real HaproxyBalancer and HAProxy, fed by an in-memory discovery
 *      plugin (no ZooKeeper: the writer's own cost). --changes single-node changes (weight /
 *      remove / add back, random clusters), each awaited on writer.onApplied. Writer CPU per
 *      change = process.cpuUsage delta / count, on the change path and then including the
 *      background config-file writes (their `haproxy -c` runs in child processes and is
 *      reported apart). Goal <= 1 ms.
 *  (c) writer RSS with that state loaded (after a GC, and peak), with the JS heap by space and
 *      what is outside it. Goal <= 150 MB. HAProxy's own memory (~300 MB per worker) is not the
 *      writer's. (a) runs after (c): its fresh full models would otherwise count in (c).
 *
 *   node --import tsx bench/writer-scale.ts [--clusters 1000] [--nodes 50] [--changes 50]
 *   node --cpu-prof --import tsx bench/writer-scale.ts     (where the time goes)
 */
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../src/core/clock.js';
import type { ServiceNode } from '../src/core/node.js';
import type { DesiredState, MembersListener } from '../src/core/plugin.js';
import type { LoadedConfig } from '../src/config/store.js';
import type { ClusterConfig } from '../src/config/schema.js';
import { Writer } from '../src/writer/writer.js';
import { buildModel, maskMembership } from '../src/balancers/haproxy/config/model.js';
import { createRenderer } from '../src/balancers/haproxy/config/render.js';
import { checkConfig } from '../src/balancers/haproxy/config/check.js';
import { ConfigFile } from '../src/balancers/haproxy/config/config-file.js';
import { haproxyClusterSchema, haproxySchema } from '../src/balancers/haproxy/config/schema.js';
import { planRuntime } from '../src/balancers/haproxy/runtime/plan.js';
import { parseServersState } from '../src/balancers/haproxy/runtime/parse.js';
import { haproxyEnv, freePort } from '../test/helpers/haproxy.js';
import { memoryDiscovery } from '../test/helpers/memory-discovery.js';
import { adminCommand, benchIp, benchNode, checkCpu, cleanup, fmt, fmtStats, instrumentedRegistry, nullLogger, runBench, showProc, stats } from './lib.js';
import type { HaproxyBalancer } from '../src/balancers/haproxy/balancer.js';

const { values } = parseArgs({ options: { clusters: { type: 'string', default: '1000' }, nodes: { type: 'string', default: '50' }, changes: { type: 'string', default: '50' } } });
const CLUSTERS = Number(values.clusters);
const NODES = Number(values.nodes);
const CHANGES = Number(values.changes);

const { rss: baseRss, heapUsed: baseHeap, heapTotal: baseHeapTotal } = process.memoryUsage(); // node + tsx + the modules above, no state yet
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;

/** time `fn` `n` times, return the median ms */
function median(n: number, fn: () => unknown): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    xs.push(performance.now() - t);
  }
  return stats(xs).p50;
}

runBench(async () => {
  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => hap.cleanup());
  const config = haproxySchema.parse(hap.raw);
  const names = Array.from({ length: CLUSTERS }, (_, c) => `svc${String(c).padStart(4, '0')}`);
  const ports = new Set<number>();
  while (ports.size < CLUSTERS) ports.add(await freePort());
  const sections = new Map([...ports].map((p, c) => [names[c], haproxyClusterSchema.parse({ port: p, backend: ['mode http', 'balance roundrobin'] })]));
  const nodeOf = (c: number, i: number) => benchNode(8080, { ip: benchIp(c, i), host: `${names[c]}-${i}.bench` });
  const members = new Map(names.map((n, c) => [n, Array.from({ length: NODES }, (_, i) => nodeOf(c, i))]));
  const desired = (): DesiredState => ({ clusters: names.map((n) => ({ name: n, discovery: 'fake', balancer: sections.get(n), nodes: members.get(n)! })) });


  // ------------------------------------------------------------ (a) render
  // Every measurement on fresh objects: the renderer may cache output per model object (a full
  // render must not hit that cache), and buildModel may reuse unchanged clusters' objects.
  // `odd`: the first cluster without its first node (consecutive writes must differ)
  const fresh = (odd = false) =>
    buildModel(config, { clusters: names.map((n, c) => ({ name: n, discovery: 'fake', balancer: { ...sections.get(n)! }, nodes: members.get(n)!.slice(odd && c === 0 ? 1 : 0).map((x) => ({ ...x })) })) }).model;
  const renderPart = async () => {
    const renderer = createRenderer({});
    const file = join(hap.dir, 'render-test.cfg');
    const target = new ConfigFile(join(hap.dir, 'render-target.cfg'), config.haproxy_bin);
    const x = { model: [] as number[], render: [] as number[], structure: [] as number[], write: [] as number[] };
    let text = '';
    // Each timed step starts after a full GC: the bench builds three fresh sets of models per
    // round (~50,000 server objects each), garbage of its own that would otherwise be
    // collected inside whichever step comes next. The step's own garbage is still its cost.
    for (let i = 0; i < 5; i++) {
      const d = desired();
      gc();
      let t = performance.now();
      buildModel(config, { clusters: d.clusters.map((c) => ({ ...c, nodes: c.nodes.map((n) => ({ ...n })) })) });
      x.model.push(performance.now() - t);
      const [m1, m2, m3] = [fresh(), fresh(), fresh(i % 2 === 1)];
      gc();
      t = performance.now();
      text = renderer.render(m1);
      x.render.push(performance.now() - t);
      gc();
      t = performance.now();
      renderer.render(maskMembership(m2));
      x.structure.push(performance.now() - t);
      // as the writer writes a full config: in pieces (renderParts), through its one
      // ConfigFile (text that differs from the last write's each time; `haproxy -c` is a
      // child's CPU, timed below)
      gc();
      t = performance.now();
      if (!(await target.write(renderer.renderParts(m3), false))) throw new Error('the file was not written');
      x.write.push(performance.now() - t);
      await writeFile(file, text);
    }
    const t = performance.now();
    const check = await checkConfig(config.haproxy_bin, file);
    const tCheck = performance.now() - t;
    await rm(file);
    target.close();
    const med = (xs: number[]) => fmt(stats(xs).p50, 1);
    console.log(`writer scale: ${CLUSTERS} clusters x ${NODES} nodes; config ${mb(text.length)} (${text.split('\n').length} lines)`);
    console.log(`(a) full render, fresh model objects each time (median of 5)`);
    console.log(`  render ${med(x.render)} (to one string); render + write to disk as the writer does it ${med(x.write)} (goal <= 50 ms); before it, buildModel ${med(x.model)}`);
    console.log(`  the structure render (membership blanked) an apply also does: ${med(x.structure)}`);
    console.log(`  haproxy -c of it (background, child process): ${fmt(tCheck, 0)} (${check.ok ? 'valid' : `INVALID: ${check.output.slice(0, 3).join(' | ')}`})`);
  };

  // ------------------------------------------------------------ (b) full writer, in-memory discovery
  const listeners = new Map<string, MembersListener>();
  let balancer: HaproxyBalancer | null = null;
  const registry = instrumentedRegistry({ balancer: (b) => (balancer = b) });
  registry.add(memoryDiscovery('fake', listeners, (cluster) => members.get(cluster)!));
  const cfg: LoadedConfig = {
    node: { peer_port: 1024 },
    plugins: [],
    balancers: new Map([['haproxy', config]]),
    discovery: new Map([['fake', {}]]),
    clusters: new Map(names.map((n): [string, ClusterConfig] => [n, { name: n, discovery: 'fake', balancers: { haproxy: sections.get(n) } }])),
    services: new Map(),
  };
  const writer = new Writer({ registry, logger: nullLogger('info'), clock: systemClock, configDir: hap.dir });
  cleanup.add(() => writer.stop());
  let wake: (() => void) | null = null;
  writer.onApplied.add(() => wake?.());
  const applied = () => new Promise<void>((resolve) => (wake = resolve));

  const tw = performance.now();
  const first = applied();
  await writer.apply(cfg);
  await first;
  const tStart = performance.now() - tw;
  await balancer!.flush();
  const proc = await showProc(hap.masterSocket);
  gc();
  const loaded = process.memoryUsage();
  const rssLoaded = process.resourceUsage().maxRSS * 1024;
  console.log(`(b) full writer + HAProxy, in-memory discovery`);
  console.log(`  start to first full apply (HAProxy start, config write + check, reload): ${fmt(tStart, 0)}; HAProxy reloads ${proc.reloads}`);
  await (async () => {
    const rows = parseServersState(await adminCommand(hap.socketFile, 'show servers state')).rows;
    const m = fresh();
    console.log(`  planRuntime over HAProxy's ${rows.length} server rows (a full plan): ${fmt(median(5, () => planRuntime(rows, m.backends)), 1)}`);
  })();

  const removed = new Map<string, ServiceNode>();
  const kids = () => checkCpu('self'); // `haproxy -c` runs
  let seq = 0;
  async function changes(n: number, spaced: boolean): Promise<void> {
    const lat: number[] = [];
    const pathCpu: number[] = [];
    const kids0 = kids();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < n; k++) {
      const i = seq++;
      const name = names[Math.floor(Math.random() * CLUSTERS)];
      const cur = members.get(name)!;
      let next: ServiceNode[];
      if (removed.has(name)) (next = [...cur, removed.get(name)!].sort((a, b) => (a.name < b.name ? -1 : 1))), removed.delete(name);
      else if (i % 3 === 0) removed.set(name, cur[0]), (next = cur.slice(1));
      else next = cur.map((x, j) => (j === i % NODES ? { ...x, weight: 1 + ((x.weight ?? 1) % 100) } : x));
      members.set(name, next);
      const done = applied();
      const ts = performance.now();
      const c0 = process.cpuUsage();
      listeners.get(name)!(next);
      await done;
      const c = process.cpuUsage(c0);
      lat.push(performance.now() - ts);
      pathCpu.push((c.user + c.system) / 1000);
      if (spaced) await balancer!.flush();
    }
    await balancer!.flush();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`  ${n} one-node changes, ${spaced ? 'one at a time (each waits for the background config write it queued)' : 'back to back (their background config writes coalesce)'}:`);
    console.log(`    listener call -> onApplied ${fmtStats(stats(lat))}`);
    console.log(`    writer CPU on that path (listener call -> onApplied; ${spaced ? 'no background write runs meanwhile' : 'a background write may run meanwhile'}): ${fmtStats(stats(pathCpu))}`);
    console.log(`    writer CPU per change ${fmt(cpuMs / n, 1)} (goal <= 1 ms; process.cpuUsage incl. background writes, ${((100 * cpuMs) / wall).toFixed(0)}% of one core); + haproxy -c in child processes ${fmt((kids() - kids0) / n, 0)}`);
  }
  await changes(CHANGES, false);
  await changes(Math.min(CHANGES, 20), true);
  console.log(`  runtime commands of the last change: ${balancer!.lastCommands.join('; ') || '(none)'}; HAProxy reloads during changes: ${(await showProc(hap.masterSocket)).reloads - proc.reloads}`);

  // ------------------------------------------------------------ (c) memory
  gc();
  const after = process.memoryUsage();
  const mem = (m: NodeJS.MemoryUsage) => `RSS ${mb(m.rss)} (JS heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)})`;
  console.log(`(c) writer memory with ${CLUSTERS * NODES} nodes loaded, after a GC (goal <= 150 MB); baseline, node + tsx + modules before any state: RSS ${mb(baseRss)} (the built writer, plain node: ~66 MB)`);
  console.log(`  after start: ${mem(loaded)}, +${mb(loaded.rss - baseRss)} over the baseline; peak RSS so far ${mb(rssLoaded)}`);
  console.log(`  after the changes: ${mem(after)}; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}`);
  const spaces = getHeapSpaceStatistics().map((x) => `${x.space_name.replace(/_space$/, '')} ${mb(x.space_used_size)}/${mb(x.space_size)}`);
  console.log(`  JS heap by space (used/committed): ${spaces.join(', ')}`);
  console.log(`  writer state in the JS heap (used, over the baseline's ${mb(baseHeap)}): ${mb(after.heapUsed - baseHeap)}; RSS outside the JS heap and the baseline: ${mb(after.rss - baseRss - (after.heapTotal - baseHeapTotal))}`);

  // (a) last: its fresh models (three full sets per run) would otherwise count in (c)
  await renderPart();
});
