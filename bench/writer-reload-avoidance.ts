/**
 * Reload avoidance (issue 3): --changes (1,000) mixed membership changes on a few clusters,
 * written to a real ZooKeeper and applied by a real writer to a real HAProxy; counts HAProxy
 * reloads (master `show proc`) and prints the share of changes applied without one. Goal 100%.
 *
 * Changes (seeded, --seed): add a node (new address), remove one, replace one (remove + add in
 * one transaction: a rolling deploy with new addresses), weight, state maint / drain / up,
 * down / up (znode removed, later the same node back: what a failing health check does), and
 * bursts of 3-5 of those in one transaction. Cluster `grow` also gains a node every 20th change,
 * so it outgrows the slot headroom it was rendered with (schema.ts `slots`: max(16, 50%)): then
 * the entries of gone nodes and `add server` take the overflow (plan.ts).
 *
 * Each change waits until the writer applied exactly the expected membership of every cluster
 * (writer.onApplied, in-process writer built as lighthouse-writer builds it). A reload is
 * attributed to the change whose apply raised the balancer's reload count; the writer's own
 * 'reload needed' log line gives the reason. At the end `show servers state` must agree with
 * ZooKeeper for every backend.
 *
 *   node --import tsx bench/writer-reload-avoidance.ts [--changes 1000] [--seed 7]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { ServiceNode } from '../src/core/node.js';
import type { DesiredState } from '../src/core/plugin.js';
import { haproxyEnv, freePort } from '../test/helpers/haproxy.js';
import { startZooKeeper } from '../test/helpers/zookeeper.js';
import {
  benchNode, benchZk, cleanup, fmtStats, hrMs, inProcessWriter, membershipSig, rowsAgree, runBench, serverRows, showProc, stats, writeConfigDir,
  znodeData, znodePath, type ZkOp,
} from './lib.js';

const { values } = parseArgs({ options: { changes: { type: 'string', default: '1000' }, seed: { type: 'string', default: '7' } } });
const CHANGES = Number(values.changes);
const ZK_PATH = '/lh';
const START: Record<string, number> = { alpha: 3, beta: 10, gamma: 40, grow: 10 };

/** mulberry32: a small seeded PRNG, so runs are comparable */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

runBench(async () => {
  const rnd = prng(Number(values.seed));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const zk = await startZooKeeper({ tickTime: 200, jvm: 'package' });
  cleanup.add(() => zk.stop());
  const bz = await benchZk(zk.connectString);

  // the model: cluster -> node name -> node; nodes taken down, to bring back
  const model = new Map<string, Map<string, ServiceNode>>();
  const down = new Map<string, ServiceNode[]>();
  let nextIp = 0;
  const fresh = (cluster: string) => {
    const i = nextIp++;
    return benchNode(8080, { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, host: `${cluster}-${i}.bench` });
  };
  for (const [c, n] of Object.entries(START)) {
    await bz.mkdirp(`${ZK_PATH}/${c}`);
    model.set(c, new Map());
    down.set(c, []);
    for (let i = 0; i < n; i++) {
      const node = fresh(c);
      await bz.create(znodePath(ZK_PATH, c, node), znodeData(node));
      model.get(c)!.set(node.name, node);
    }
  }

  const hap = await haproxyEnv({ restart_interval: 2, liveness_interval: 1 });
  cleanup.add(() => hap.cleanup());
  const clusters: Record<string, Record<string, unknown>> = {};
  for (const c of Object.keys(START)) clusters[c] = { port: await freePort(), backend: ['mode http'] };
  const dir = await writeConfigDir({ haproxy: hap.raw, zkConnect: zk.connectString, zkPath: ZK_PATH, clusters });
  const reasons: string[][] = [];
  const errors: string[] = [];
  const logger = pino({ level: 'info' }, {
    write: (s: string) => {
      if (s.includes('"reload needed"')) reasons.push(JSON.parse(s).reasons);
      if (/"level":(40|50|60)/.test(s)) errors.push(s.trim());
    },
  });
  const { writer, balancer } = await inProcessWriter(dir, logger);
  cleanup.add(() => writer.stop());

  const expected = () => new Map([...model].map(([c, m]) => [c, membershipSig([...m.values()])]));
  let want = expected();
  let wake: (() => void) | null = null;
  let t1 = 0;
  const matches = (s: DesiredState) => s.clusters.length === want.size && s.clusters.every((c) => want.get(c.name) === membershipSig(c.nodes));
  writer.onApplied.add((_b, s) => {
    if (wake && matches(s)) ((t1 = hrMs()), wake(), (wake = null));
  });
  const applied = (what: string) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not applied within 20 s: ${what}\nwriter warnings/errors:\n${errors.slice(-5).join('\n')}`)), 20_000);
      wake = () => (clearTimeout(t), resolve());
    });
  await applied('setup'); // subscribed before the first member list can arrive (the session connects first)
  await balancer().flush();
  const proc0 = await showProc(hap.masterSocket);
  const reloads0 = balancer().reloads;
  const reasons0 = reasons.length;

  // ------------------------------------------------------------ one change = a list of ZK ops
  const ops: ZkOp[] = [];
  const put = (c: string, n: ServiceNode, op: 'create' | 'set') => (model.get(c)!.set(n.name, n), ops.push({ op, path: znodePath(ZK_PATH, c, n), data: znodeData(n) }));
  const del = (c: string, n: ServiceNode) => (model.get(c)!.delete(n.name), ops.push({ op: 'remove', path: znodePath(ZK_PATH, c, n) }));
  const some = (c: string) => pick([...model.get(c)!.values()]);
  const kinds: Record<string, (c: string) => void> = {
    add: (c) => put(c, fresh(c), 'create'),
    remove: (c) => del(c, some(c)),
    replace: (c) => (del(c, some(c)), put(c, fresh(c), 'create')),
    // weight and state always differ from the current ones: a no-op write changes nothing to wait for
    weight: (c) => {
      const n = some(c);
      put(c, { ...n, weight: ((n.weight ?? 1) + 1 + Math.floor(rnd() * 99)) % 101 }, 'set');
    },
    state: (c) => {
      const n = some(c);
      put(c, { ...n, state: pick((['maint', 'drain', 'up'] as const).filter((x) => x !== (n.state ?? 'up'))) }, 'set');
    },
    'down/up': (c) => {
      const d = down.get(c)!;
      if (d.length && rnd() < 0.5) put(c, d.shift()!, 'create');
      else {
        const n = some(c);
        d.push(n);
        del(c, n);
      }
    },
  };
  const single = Object.keys(kinds);
  const mix = [...single, ...single, 'add', 'weight', 'burst']; // burst: 3-5 ops in one transaction
  const perKind: Record<string, { n: number; reloaded: number; ms: number[] }> = {};
  const exhausted: string[] = [];
  const t0run = hrMs();

  for (let i = 0; i < CHANGES; i++) {
    const c = i % 20 === 19 ? 'grow' : pick(Object.keys(START));
    let kind = i % 20 === 19 ? 'add' : pick(mix);
    const size = model.get(c)!.size;
    if (size <= 2 && ['remove', 'replace', 'down/up', 'burst'].includes(kind)) kind = 'add';
    if (size >= 90 && kind === 'add') kind = 'remove';
    ops.length = 0;
    if (kind === 'burst') {
      const k = 3 + Math.floor(rnd() * 3);
      for (let j = 0; j < k; j++) kinds[pick(['add', 'remove', 'weight', 'state'])](c);
      // one transaction must not touch a znode twice: fold the ops on each path into one
      const last = new Map<string, ZkOp>();
      for (const o of ops) {
        const prev = last.get(o.path);
        if (prev?.op === 'create' && o.op === 'set') last.set(o.path, { ...o, op: 'create' });
        else if (prev?.op === 'create' && o.op === 'remove') last.delete(o.path);
        else last.set(o.path, o);
      }
      ops.splice(0, ops.length, ...last.values());
    } else kinds[kind](c);
    want = expected();
    const before = balancer().reloads;
    const done = applied(`change ${i} (${kind} on ${c})`);
    const t0 = hrMs();
    await (ops.length === 1 ? (ops[0].op === 'create' ? bz.create(ops[0].path, ops[0].data) : ops[0].op === 'set' ? bz.set(ops[0].path, ops[0].data) : bz.remove(ops[0].path)) : bz.multi(ops));
    await done;
    const k = (perKind[kind] ??= { n: 0, reloaded: 0, ms: [] });
    k.n++;
    k.ms.push(t1 - t0);
    if (balancer().reloads > before) {
      k.reloaded++;
      exhausted.push(`#${i} ${kind} on ${c} (${size} -> ${model.get(c)!.size} nodes)`);
    }
  }
  const secs = (hrMs() - t0run) / 1000;
  await writer.settled();
  await balancer().flush();
  const proc1 = await showProc(hap.masterSocket);
  const disagree: string[] = [];
  for (const [c, m] of model) {
    const d = rowsAgree(await serverRows(hap.socketFile, c), [...m.values()]);
    if (d) disagree.push(`${c}: ${d}`);
  }

  const reloads = proc1.reloads - proc0.reloads;
  const reloadedChanges = Object.values(perKind).reduce((a, k) => a + k.reloaded, 0);
  console.log(`writer reload avoidance: ${CHANGES} membership changes on ${model.size} clusters in ${secs.toFixed(1)} s (seed ${values.seed})`);
  console.log(`  HAProxy reloads (master show proc): ${reloads}  (balancer count ${balancer().reloads - reloads0})`);
  console.log(`  applied without a reload: ${CHANGES - reloadedChanges}/${CHANGES} = ${((100 * (CHANGES - reloadedChanges)) / CHANGES).toFixed(1)}% (goal 100%)`);
  for (const [kind, k] of Object.entries(perKind).sort()) {
    console.log(`  ${kind.padEnd(8)} ${String(k.n).padStart(4)} changes, ${k.reloaded} reloaded; ZK write -> applied ${fmtStats(stats(k.ms))}`);
  }
  const why = reasons.slice(reasons0).flat();
  if (why.length) console.log(`  reload reasons (writer log):\n    ${[...new Set(why)].slice(0, 8).join('\n    ')}`);
  if (exhausted.length) console.log(`  changes that reloaded:\n    ${exhausted.slice(0, 12).join('\n    ')}${exhausted.length > 12 ? `\n    ... ${exhausted.length - 12} more` : ''}`);
  console.log(`  clusters at start -> end: ${[...model].map(([c, m]) => `${c} ${START[c]} -> ${m.size}`).join(', ')}`);
  console.log(`  writer warnings/errors logged: ${errors.length}${errors.length ? `\n    ${errors.slice(0, 3).join('\n    ')}` : ''}`);
  console.log(`  show servers state agrees with ZooKeeper at the end: ${disagree.length ? `NO: ${disagree.join('; ')}` : 'yes, every backend'}`);
});
