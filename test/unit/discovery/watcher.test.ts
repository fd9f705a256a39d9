/**
 * ClusterWatch (watcher.ts) against a scripted session: reads answer when the test says, and
 * events arrive where the test puts them. ZooKeeper may deliver the event of another session's
 * write ahead of the answer to an older read (seen under load on the real server); these cases
 * are that order, made deterministic. The real server: test/integration/zookeeper.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { FakeClock } from '../../../src/core/clock.js';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import type { ServiceNode } from '../../../src/core/node.js';
import { encodeNode } from '../../../src/discovery/zookeeper/znode-format.js';
import { ClusterWatch } from '../../../src/discovery/zookeeper/watcher.js';
import { READ_WINDOW, ReadQueue } from '../../../src/discovery/zookeeper/read-queue.js';
import type { ZkSession } from '../../../src/discovery/zookeeper/session.js';
import { ZK_ERR, ZkEventType, type RawEvent } from '../../../src/discovery/zookeeper/zk-client.js';

const PATH = '/lh/web';
const node = (host: string): ServiceNode => ({ name: `${host}:80`, host, ip: '127.0.0.1', port: 80, peer: null, metadata: {} });

/** A session whose reads wait in `pending` until answered, in any order the test chooses. */
class ScriptedSession extends EventEmitter {
  connected = true;
  persistentWatches = true;
  handler: ((ev: RawEvent) => void) | null = null;
  pending: { op: string; path: string; answer(v: unknown): void; fail(code: number): void }[] = [];
  private zxid = 1;

  async addRecursiveWatch(_path: string, h: (ev: RawEvent) => void): Promise<void> {
    this.handler = h;
  }
  removeRecursiveWatch(): void {}
  private read(op: string, path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (code: number) => reject(Object.assign(new Error(`${op} ${path}: ${code}`), { getCode: () => code }));
      this.pending.push({ op, path, answer: resolve, fail });
    });
  }
  getChildren(path: string): Promise<unknown> {
    return this.read('getChildren', path);
  }
  getData(path: string): Promise<unknown> {
    return this.read('getData', path);
  }
  exists(path: string): Promise<unknown> {
    return this.read('exists', path);
  }
  /** answer the oldest pending read of `op` on `path` */
  async answer(op: string, path: string, value: unknown | number): Promise<void> {
    const i = this.pending.findIndex((p) => p.op === op && p.path === path);
    assert.ok(i >= 0, `a pending ${op} ${path} (pending: ${this.pending.map((p) => `${p.op} ${p.path}`).join(', ')})`);
    const [p] = this.pending.splice(i, 1);
    if (typeof value === 'number') p.fail(value);
    else p.answer(value);
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
  }
  data(n: ServiceNode): { data: Buffer; stat: { mzxid: Buffer } } {
    const mzxid = Buffer.alloc(8);
    mzxid.writeUInt32BE(this.zxid++, 4);
    return { data: Buffer.from(encodeNode(n)), stat: { mzxid } };
  }
  event(type: number, path: string): void {
    this.handler!({ type, path });
  }
}

/** A watch on a listing of `members` (HOST:80 znodes), all read; `snap` maps each snapshot. */
async function startWith<T>(members: string[], snap: (nodes: ServiceNode[]) => T) {
  const s = new ScriptedSession();
  const snaps: T[] = [];
  const w = new ClusterWatch({ session: s as unknown as ZkSession, path: PATH, listener: (nodes) => snaps.push(snap(nodes)), log: silentLogger(), clock: new FakeClock(), reads: new ReadQueue() });
  await new Promise((r) => setImmediate(r));
  await s.answer('getChildren', PATH, members.map((h) => `${h}:80`));
  for (const h of members) await s.answer('getData', `${PATH}/${h}:80`, s.data(node(h)));
  return { s, w, snaps };
}
const started = (members: string[]) => startWith(members, (nodes) => nodes.map((n) => n.host).join(','));
const startedNodes = (members: string[]) => startWith(members, (nodes) => nodes);

describe('cluster watch: events ahead of older answers', () => {
  it('a member re-created while the NO_NODE answer to its deletion is on the way stays a member', async () => {
    const { s, w, snaps } = await started(['a', 'b']);
    assert.equal(snaps.at(-1), 'a,b');
    s.event(ZkEventType.NODE_DELETED, `${PATH}/b:80`); // read 1
    s.event(ZkEventType.NODE_CREATED, `${PATH}/b:80`); // read 2, its event ahead of answer 1
    await s.answer('getData', `${PATH}/b:80`, ZK_ERR.NO_NODE); // answer 1: gone, then
    await s.answer('getData', `${PATH}/b:80`, s.data(node('b'))); // answer 2: there
    assert.equal(snaps.at(-1), 'a,b');
    w.stop();
  });

  it('a children list answered without a member created after it was asked for keeps that member', async () => {
    const { s, w, snaps } = await started([]);
    assert.equal(snaps.at(-1), '');
    s.event(ZkEventType.NODE_DELETED, PATH); // the cluster znode: list again
    s.event(ZkEventType.NODE_CREATED, `${PATH}/c:80`); // a member created after that list was asked for
    await s.answer('getChildren', PATH, []); // the older list, answered after the event
    await s.answer('getData', `${PATH}/c:80`, s.data(node('c')));
    assert.equal(snaps.at(-1), 'c');
    w.stop();
  });

  it('the cluster znode answered missing after a member\'s event keeps that member too', async () => {
    const s = new ScriptedSession();
    const snaps: string[] = [];
    const w = new ClusterWatch({ session: s as unknown as ZkSession, path: PATH, listener: (nodes) => snaps.push(nodes.map((n) => n.host).join(',')), log: silentLogger(), clock: new FakeClock(), reads: new ReadQueue() });
    await new Promise((r) => setImmediate(r));
    s.event(ZkEventType.NODE_CREATED, PATH);
    s.event(ZkEventType.NODE_CREATED, `${PATH}/d:80`);
    await s.answer('getChildren', PATH, ZK_ERR.NO_NODE); // the first list, asked before both
    await s.answer('exists', PATH, { version: 0 });
    await s.answer('getChildren', PATH, ['d:80']);
    await s.answer('getData', `${PATH}/d:80`, s.data(node('d')));
    await s.answer('getChildren', PATH, ['d:80']);
    assert.equal(snaps.at(-1), 'd');
    w.stop();
  });
});

describe('cluster watch: listed members are read through one window per session', () => {
  it(`at most ${READ_WINDOW} reads pending at once, in listing order across clusters; each member read once`, async () => {
    const s = new ScriptedSession();
    const snaps: string[] = [];
    const listen = (nodes: ServiceNode[]) => snaps.push(`${nodes.length} ${nodes[0]?.host}`);
    const big = Array.from({ length: READ_WINDOW + 100 }, (_, i) => `a${String(i).padStart(4, '0')}`);
    const small = Array.from({ length: 10 }, (_, i) => `b${i}`);
    const reads = new ReadQueue(); // one window for both watches, as a discovery instance has
    const wa = new ClusterWatch({ session: s as unknown as ZkSession, path: '/lh/big', listener: listen, log: silentLogger(), clock: new FakeClock(), reads });
    const wb = new ClusterWatch({ session: s as unknown as ZkSession, path: '/lh/small', listener: listen, log: silentLogger(), clock: new FakeClock(), reads });
    await new Promise((r) => setImmediate(r));
    await s.answer('getChildren', '/lh/big', big.map((h) => `${h}:80`));
    await s.answer('getChildren', '/lh/small', small.map((h) => `${h}:80`));
    let most = 0;
    const read: string[] = [];
    for (let k = 0; k < 2 * big.length && s.pending.length > 0; k++) {
      most = Math.max(most, s.pending.length);
      const p = s.pending[0];
      read.push(p.path);
      await s.answer('getData', p.path, s.data(node(p.path.slice(p.path.lastIndexOf('/') + 1, -3))));
    }
    assert.equal(most, READ_WINDOW, 'reads pending at once');
    assert.deepEqual(read, [...big.map((h) => `/lh/big/${h}:80`), ...small.map((h) => `/lh/small/${h}:80`)], 'in listing order, each once');
    assert.deepEqual(snaps, [`${big.length} a0000`, '10 b0'], 'one snapshot per cluster, the first listed first');
    wa.stop();
    wb.stop();
  });
});

describe('cluster watch: znodes not named HOST:PORT', () => {
  it('are sorted by their node name, and of two znodes for one host:port the first by znode name wins', async () => {
    const s = new ScriptedSession();
    const snaps: ServiceNode[][] = [];
    const w = new ClusterWatch({ session: s as unknown as ZkSession, path: PATH, listener: (nodes) => snaps.push([...nodes]), log: silentLogger(), clock: new FakeClock(), reads: new ReadQueue() });
    await new Promise((r) => setImmediate(r));
    await s.answer('getChildren', PATH, ['z_0001', 'b:80', 'a_0002', 'c:80']);
    await s.answer('getData', `${PATH}/z_0001`, s.data({ ...node('a'), metadata: { from: 'z_0001' } }));
    await s.answer('getData', `${PATH}/b:80`, s.data(node('b')));
    await s.answer('getData', `${PATH}/a_0002`, s.data({ ...node('d'), metadata: { from: 'a_0002' } }));
    await s.answer('getData', `${PATH}/c:80`, s.data({ ...node('a'), metadata: { from: 'c:80' } }));
    assert.equal(snaps.length, 1, 'one snapshot once all answered');
    assert.deepEqual(snaps[0].map((n) => [n.name, n.metadata.from]), [['a:80', 'c:80'], ['b:80', undefined], ['d:80', 'a_0002']]);
    w.stop();
  });
});

describe('cluster watch: one member\'s new data', () => {
  const hosts = Array.from({ length: 50 }, (_, i) => `h${String(i).padStart(2, '0')}`);
  const weighted = (h: string, weight: number): ServiceNode => ({ ...node(h), weight });

  it('is one slot of the last snapshot: no pass over the other members, the others the same objects', async () => {
    const { s, w, snaps } = await startedNodes(hosts);
    const before = snaps.at(-1)!;
    const members = (w as unknown as { members: Map<string, unknown> }).members;
    let gets = 0;
    const get = members.get.bind(members);
    members.get = (k: string) => (gets++, get(k));
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/h17:80`);
    await s.answer('getData', `${PATH}/h17:80`, s.data(weighted('h17', 7)));
    const after = snaps.at(-1)!;
    assert.equal(snaps.length, 2, 'one more snapshot');
    assert.equal(after[17].weight, 7, 'the changed member');
    assert.ok(after.every((n, i) => i === 17 || n === before[i]), 'every other member the same object');
    assert.ok(gets <= 2, `members looked up for one change: ${gets}`);
    w.stop();
  });

  it('that renames it (another host:port under the same znode) sorts the snapshot again', async () => {
    const { s, w, snaps } = await startedNodes(['a', 'b', 'c']);
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/a:80`);
    await s.answer('getData', `${PATH}/a:80`, s.data(node('z')));
    assert.deepEqual(snaps.at(-1)!.map((n) => n.name), ['b:80', 'c:80', 'z:80']);
    w.stop();
  });

  it('that does not parse drops it; data that parses again brings it back in its place', async () => {
    const { s, w, snaps } = await startedNodes(['a', 'b', 'c']);
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/b:80`);
    await s.answer('getData', `${PATH}/b:80`, { data: Buffer.from('{"port": "nope"}'), stat: s.data(node('b')).stat });
    assert.deepEqual(snaps.at(-1)!.map((n) => n.name), ['a:80', 'c:80']);
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/b:80`);
    await s.answer('getData', `${PATH}/b:80`, s.data(weighted('b', 3)));
    assert.deepEqual(snaps.at(-1)!.map((n) => `${n.name}/${n.weight ?? ''}`), ['a:80/', 'b:80/3', 'c:80/']);
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/c:80`);
    await s.answer('getData', `${PATH}/c:80`, s.data(weighted('c', 4)));
    assert.deepEqual(snaps.at(-1)!.map((n) => `${n.name}/${n.weight ?? ''}`), ['a:80/', 'b:80/3', 'c:80/4']);
    w.stop();
  });
});
describe('cluster watch: members coming and going', () => {
  it('every snapshot is in name order, one member at a time and many at once', async () => {
    const start = Array.from({ length: 30 }, (_, i) => `m${(i * 7919) % 1000}`);
    const { s, w, snaps } = await startedNodes(start);
    const present = new Set(start);
    const expect = () => [...present].map((h) => `${h}:80`).sort();
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let k = 0; k < 150; k++) {
      const h = `m${rand(1000)}`;
      const path = `${PATH}/${h}:80`;
      if (present.has(h)) {
        present.delete(h);
        s.event(ZkEventType.NODE_DELETED, path);
        await s.answer('getData', path, ZK_ERR.NO_NODE);
      } else {
        present.add(h);
        s.event(ZkEventType.NODE_CREATED, path);
        await s.answer('getData', path, s.data(node(h)));
      }
      assert.deepEqual(snaps.at(-1)!.map((n) => n.name), expect(), `after change ${k} (${h})`);
    }
    // a listing without 20 of them (more than are put in place one by one), and with 3 new
    const gone = [...present].slice(0, 20);
    for (const h of gone) present.delete(h);
    const fresh = ['n1', 'n2', 'n3'];
    s.event(ZkEventType.NODE_CREATED, PATH);
    await s.answer('getChildren', PATH, [...present, ...fresh].map((h) => `${h}:80`));
    for (const h of fresh) present.add(h), await s.answer('getData', `${PATH}/${h}:80`, s.data(node(h)));
    assert.deepEqual(snaps.at(-1)!.map((n) => n.name), expect(), 'after the listing');
    w.stop();
  });
});

describe('cluster watch: a refused member', () => {
  it('is warned about once per data version (not per event, nor per re-read), and its siblings keep serving', async () => {
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(JSON.parse(line).msg) } });
    const s = new ScriptedSession();
    const snaps: string[] = [];
    const w = new ClusterWatch({ session: s as unknown as ZkSession, path: PATH, listener: (nodes) => snaps.push(nodes.map((n) => n.host).join(',')), log: logger, clock: new FakeClock(), reads: new ReadQueue() });
    const raw = (zxid: number, ip: string) => {
      const mzxid = Buffer.alloc(8);
      mzxid.writeUInt32BE(zxid, 4);
      return { data: Buffer.from(JSON.stringify({ host: 'b', ip, port: 80 })), stat: { mzxid } };
    };
    const evil = '127.0.0.1\n  server evil 127.0.0.1:1';
    await new Promise((r) => setImmediate(r));
    await s.answer('getChildren', PATH, ['a:80', 'b:80']);
    await s.answer('getData', `${PATH}/a:80`, s.data(node('a')));
    await s.answer('getData', `${PATH}/b:80`, raw(100, evil));
    assert.equal(snaps.at(-1), 'a', 'the good sibling serves');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^skipping member with bad data: znode \/lh\/web\/b:80: "ip" is not an IP address/);

    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/b:80`); // an event, the same data
    await s.answer('getData', `${PATH}/b:80`, raw(100, evil));
    s.emit('session', 'beef'); // a new session: everything read again
    await new Promise((r) => setImmediate(r));
    await s.answer('getChildren', PATH, ['a:80', 'b:80']);
    await s.answer('getData', `${PATH}/a:80`, s.data(node('a')));
    await s.answer('getData', `${PATH}/b:80`, raw(100, evil));
    assert.equal(snaps.at(-1), 'a');
    assert.equal(warnings.length, 1, 'the same bad data: no new warning');

    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/b:80`);
    await s.answer('getData', `${PATH}/b:80`, raw(101, '0.0.0.0'));
    assert.equal(warnings.length, 2, 'new bad data: warned');
    assert.match(warnings[1], /unspecified address/);
    s.event(ZkEventType.NODE_DATA_CHANGED, `${PATH}/b:80`);
    await s.answer('getData', `${PATH}/b:80`, raw(102, '127.0.0.2'));
    assert.equal(snaps.at(-1), 'a,b', 'good again: a member');
    w.stop();
  });
});
