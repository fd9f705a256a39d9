/**
 * The ZooKeeper discovery plugin against a real ZooKeeper (tickTime 200 ms, so a 2 s session
 * really expires), checked through an independent session (zk-probe). Silence and session loss
 * are caused for real: the server hung (SIGSTOP), the server down and back, and our own process
 * stopped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { zkProbe } from '../helpers/zk-probe.js';
import { waitFor } from '../helpers/wait.js';
import { createLogger } from '../../src/core/logger.js';
import { systemClock } from '../../src/core/clock.js';
import type { ServiceNode } from '../../src/core/node.js';
import { encodeNode } from '../../src/discovery/zookeeper/znode-format.js';
import { zookeeperDiscovery, type ZookeeperDiscovery } from '../../src/discovery/zookeeper/index.js';

const suite = useZooKeeper();
const { cleanup } = suite;

type Log = { level: number; msg: string; znode?: string; session?: string };

/** A discovery instance on the test's ZooKeeper (or a proxy of it on `viaPort`), logging to `logs`. */
function discovery(path: string, watch: 'auto' | 'classic' = 'auto', viaPort?: number): { d: ZookeeperDiscovery; logs: Log[] } {
  const logs: Log[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(JSON.parse(s)) } });
  const hosts = [viaPort ? `127.0.0.1:${viaPort}` : suite.zk.connectString];
  const config = zookeeperDiscovery.schema.parse({ hosts, path, session_timeout: 2000, connect_timeout: 10, watch });
  const d = zookeeperDiscovery.create(config, { logger, clock: systemClock });
  cleanup.push(() => d.stop());
  return { d, logs };
}

function node(port: number, metadata: Record<string, unknown> = {}, host = 'app01.example.com'): ServiceNode {
  return { name: `${host}:${port}`, host, ip: '127.0.0.1', port, peer: { name: host, ip: '127.0.0.1', port: 1024 }, metadata };
}

/** Every snapshot a watch delivers, in order. */
function collect(d: ZookeeperDiscovery, cluster: string) {
  const snaps: ServiceNode[][] = [];
  const stop = d.watch(cluster, (nodes) => snaps.push(nodes));
  const names = () => snaps.at(-1)?.map((n) => n.name).join(',');
  const until = (expect: string, what = `snapshot [${expect}]`) => waitFor(() => snaps.length > 0 && names() === expect, what, 10_000, () => ` (last: [${names()}])`);
  return { snaps, stop, names, until };
}

describe('publishing', () => {
  test('register writes an ephemeral znode with the exact Python bytes; re-register updates it in place', async () => {
    const { d } = discovery('/pub/a');
    await d.start();
    const n = node(8080, { b: 1, a: 'x' });
    await d.register('web', n);
    const z = await suite.probe.get('/pub/a/web/app01.example.com:8080');
    assert.ok(z, 'the znode exists');
    assert.equal(
      z.data.toString(),
      String.raw`{"host": "app01.example.com", "ip": "127.0.0.1", "metadata": "{\"a\": \"x\", \"b\": 1}", "peer": "{\"ip\": \"127.0.0.1\", \"name\": \"app01.example.com\", \"port\": 1024}", "port": 8080}`,
    );
    assert.equal(z.owner, d.session.sessionId, 'ephemeral, owned by our session');

    await d.register('web', n); // idempotent
    await d.register('web', { ...n, metadata: { a: 'y' } });
    const z2 = await suite.probe.get('/pub/a/web/app01.example.com:8080');
    assert.equal(z2?.czxid, z.czxid, 'updated with setData, not re-created');
    assert.equal(z2?.data.toString(), encodeNode({ ...n, metadata: { a: 'y' } }));

    await d.unregister('web', n);
    assert.equal(await suite.probe.get('/pub/a/web/app01.example.com:8080'), null);
    await d.unregister('web', n); // already gone: fine
  });

  test('digest auth is sent and does not get in the way', async () => {
    const logs: Log[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(JSON.parse(s)) } });
    const config = zookeeperDiscovery.schema.parse({ hosts: suite.zk.connectString, path: '/pub/auth', session_timeout: '2s', auth: 'lighthouse:secret' });
    const d = zookeeperDiscovery.create(config, { logger, clock: systemClock });
    cleanup.push(() => d.stop());
    await d.start();
    await d.register('web', node(7000));
    assert.ok(await suite.probe.get('/pub/auth/web/app01.example.com:7000'), 'published with auth');
    assert.ok(!logs.some((l) => /authentication failed/.test(l.msg)), 'no authentication failure logged');
  });

  test('stop() deletes every published znode', async () => {
    const { d } = discovery('/pub/b');
    await d.start();
    await Promise.all([d.register('web', node(1)), d.register('web', node(2)), d.register('api', node(3))]);
    assert.equal((await suite.probe.children('/pub/b/web')).length, 2);
    await d.stop();
    assert.deepEqual(await suite.probe.children('/pub/b/web'), []);
    assert.deepEqual(await suite.probe.children('/pub/b/api'), []);
    assert.equal(d.connected, false);
  });

  test('a znode left by another session is replaced in one transaction: watchers never see it missing', async () => {
    const { d: watcher } = discovery('/pub/c');
    const { d } = discovery('/pub/c');
    await Promise.all([watcher.start(), d.start()]);
    const n = node(9000, { old: true });
    await suite.probe.create('/pub/c/web/app01.example.com:9000', encodeNode(n), true);
    const w = collect(watcher, 'web');
    await w.until('app01.example.com:9000');
    await d.register('web', node(9000, { new: true }));
    const z = await suite.probe.get('/pub/c/web/app01.example.com:9000');
    assert.equal(z?.owner, d.session.sessionId);
    assert.notEqual(z?.owner, suite.probe.sessionId());
    await waitFor(() => w.snaps.at(-1)?.[0]?.metadata.new === true, 'watcher sees the new data');
    assert.ok(w.snaps.every((s) => s.length === 1), `never empty: ${JSON.stringify(w.snaps.map((s) => s.length))}`);
  });
});

for (const watch of ['auto', 'classic'] as const) describe(`watching (watch: ${watch})`, () => {
  test('snapshots follow adds, data changes and removals; a bad znode is skipped and logged with its path', async () => {
    const { d, logs } = discovery(`/watch/${watch}/a`, watch);
    await d.start();
    await suite.probe.create(`/watch/${watch}/a/web/x`, ''); // make the cluster znode
    await suite.probe.remove(`/watch/${watch}/a/web/x`);
    const w = collect(d, 'web');
    await w.until('');
    await suite.probe.create(`/watch/${watch}/a/web/h2:80`, encodeNode(node(80, {}, 'h2')), true);
    await w.until('h2:80');
    await suite.probe.create(`/watch/${watch}/a/web/h1:80`, encodeNode(node(80, {}, 'h1')), true);
    await w.until('h1:80,h2:80');
    // Nerve's format, as SmartStack registers it
    await suite.probe.create(`/watch/${watch}/a/web/i-abc_0000000001`, '{"host":"10.0.0.9","port":3000,"name":"i-abc","weight":5}', true);
    await w.until('10.0.0.9:3000,h1:80,h2:80');
    await suite.probe.set(`/watch/${watch}/a/web/h1:80`, encodeNode(node(80, { v: 2 }, 'h1')));
    await waitFor(() => w.snaps.at(-1)?.find((n) => n.name === 'h1:80')?.metadata.v === 2, 'data change delivered');
    await suite.probe.create(`/watch/${watch}/a/web/broken`, '{"port": "nope"}', true);
    await waitFor(() => logs.find((l) => l.level === 40 && l.znode === `/watch/${watch}/a/web/broken`), 'warning naming the bad znode');
    await suite.probe.set(`/watch/${watch}/a/web/broken`, encodeNode(node(81, {}, 'h3'))); // fixed: now a member
    await w.until('10.0.0.9:3000,h1:80,h2:80,h3:81');
    await suite.probe.remove(`/watch/${watch}/a/web/h2:80`);
    await w.until('10.0.0.9:3000,h1:80,h3:81');
    const count = w.snaps.length;
    w.stop();
    await suite.probe.remove(`/watch/${watch}/a/web/h1:80`);
    await suite.probe.get(`/watch/${watch}/a/web/h3:81`); // a round trip for any late event
    assert.equal(w.snaps.length, count, 'nothing after stop');
    for (let i = 1; i < w.snaps.length; i++) assert.notDeepEqual(w.snaps[i], w.snaps[i - 1], 'no duplicate consecutive snapshots');
  });

  test('every create and setData by another session reaches the listener', async (t) => {
    const { d } = discovery(`/watch/${watch}/lat`, watch);
    const { d: writer } = discovery(`/watch/${watch}/lat`, watch);
    await Promise.all([d.start(), writer.start()]);
    await writer.register('web', node(1, {}, 'seed'));
    let at = 0;
    let count = -1;
    d.watch('web', (nodes) => ((at = performance.now()), (count = nodes.length)));
    await waitFor(() => count === 1, 'the first snapshot');
    const add: number[] = [];
    const change: number[] = [];
    for (let i = 0; i < 50; i++) {
      const n = node(80, {}, `h${i}`);
      let t0 = performance.now();
      await writer.register('web', n); // one create
      await waitFor(() => count === i + 2, `member ${i}`);
      add.push(at - t0);
      const seen = at;
      t0 = performance.now();
      await writer.register('web', { ...n, metadata: { i } }); // one setData
      await waitFor(() => at !== seen, `change ${i}`);
      change.push(at - t0);
    }
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))].toFixed(2);
    // from the writer's call: its create / setData (fsync on) + the watch event + our reads
    // (getChildren + getData for an add, getData for a change)
    // (figures, not a test: bench/writer-convergence.ts measures convergence)
    t.diagnostic(`create -> snapshot ms p50 ${p(add, 0.5)} p90 ${p(add, 0.9)}; setData -> snapshot p50 ${p(change, 0.5)} p90 ${p(change, 0.9)}`);
    assert.equal(add.length + change.length, 100);
  });

  test('two watches of one cluster in one session: each gets every change; stopping one leaves the other', async () => {
    const { d } = discovery(`/watch/${watch}/two`, watch);
    await d.start();
    await suite.probe.create(`/watch/${watch}/two/web/h0:80`, encodeNode(node(80, {}, 'h0')), true); // the cluster exists: no re-check timer runs
    const w1 = collect(d, 'web');
    const w2 = collect(d, 'web');
    await Promise.all([w1.until('h0:80'), w2.until('h0:80')]);
    await suite.probe.create(`/watch/${watch}/two/web/h1:80`, encodeNode(node(80, {}, 'h1')), true);
    await Promise.all([w1.until('h0:80,h1:80'), w2.until('h0:80,h1:80')]);
    w1.stop();
    await suite.probe.create(`/watch/${watch}/two/web/h2:80`, encodeNode(node(80, {}, 'h2')), true);
    await w2.until('h0:80,h1:80,h2:80');
    assert.equal(w1.names(), 'h0:80,h1:80', 'the stopped one got nothing more');
  });

  test('a cluster whose znode appears later is picked up', async () => {
    const { d } = discovery(`/watch/${watch}/b`, watch);
    await d.start();
    const w = collect(d, 'late');
    await w.until('', 'an empty snapshot for a cluster that does not exist');
    await suite.probe.create(`/watch/${watch}/b/late/h1:80`, encodeNode(node(80, {}, 'h1')), true);
    await w.until('h1:80');
  });
});

describe('sessions', () => {
  test('a hung server (SIGSTOP) past the session timeout: we reconnect to the same session, never start one of our own', async () => {
    const { d, logs } = discovery('/sess/a');
    const { d: reader } = discovery('/sess/a');
    await Promise.all([d.start(), reader.start()]);
    await d.register('web', node(80));
    const w = collect(reader, 'web');
    await w.until('app01.example.com:80');
    const path = '/sess/a/web/app01.example.com:80';
    const first = (await suite.probe.get(path))!;
    const oldId = d.session.sessionId;
    const sessions: string[] = [];
    d.session.on('session', (id) => sessions.push(id));
    const expired: string[] = [];
    d.session.on('expired', (id) => expired.push(id));

    suite.zk.pause();
    try {
      await waitFor(() => logs.find((l) => /no contact with zookeeper/.test(l.msg)), 'our timer: nothing heard for the session timeout', 6_000);
    } finally {
      suite.zk.resume();
    }
    // the server decides: it revived the session (the same id, our znode never deleted), or it
    // expired it (then, and only then, a new session)
    await waitFor(() => d.connected, 'connected again', 10_000);
    const p = await zkProbe(suite.zk.connectString); // the old probe's session may have expired in the pause
    cleanup.push(async () => p.close());
    suite.probe.close();
    suite.probe = p;
    if (expired.length === 0) {
      assert.equal(d.session.sessionId, oldId, 'the same session');
      assert.deepEqual(sessions, [], 'no second session');
      const z = await p.get(path);
      assert.equal(z?.czxid, first.czxid, 'the znode was never deleted (not re-created)');
      assert.equal(z?.owner, oldId);
      assert.ok(w.snaps.every((snap) => snap.some((n) => n.name === 'app01.example.com:80')), 'the reader never saw it missing');
    } else {
      assert.deepEqual(expired, [oldId], 'the server expired the old session');
      assert.equal(sessions.length, 1, 'one new session, after the server said so');
      assert.ok(logs.findIndex((l) => /session lost: the server expired it/.test(l.msg)) >= 0, 'the server\'s verdict logged');
      await waitFor(async () => (await p.get(path))?.owner === d.session.sessionId, 'znode re-created by the new session');
    }
    // the reader's watch works on whatever session it has now
    await p.create('/sess/a/web/h9:80', encodeNode(node(80, {}, 'h9')), true);
    await w.until('app01.example.com:80,h9:80');
  });

  test('ZooKeeper down for longer than the session timeout, then back on the same port', async () => {
    const { d, logs } = discovery('/sess/b');
    const { d: reader } = discovery('/sess/b');
    await Promise.all([d.start(), reader.start()]);
    await d.register('web', node(81));
    const w = collect(reader, 'web');
    await w.until('app01.example.com:81');
    const oldId = d.session.sessionId;
    const atStop = w.snaps.length;
    await suite.zk.stopServer();
    await waitFor(() => logs.find((l) => /no contact with zookeeper/.test(l.msg)), 'silence noticed while the server is down', 6_000);
    assert.equal(d.connected, false);
    assert.equal(w.snaps.length, atStop, 'nothing sent while the reader had no server');
    await suite.zk.startAgain();
    await waitFor(() => d.connected, 'connected after the restart', 15_000);
    const p = await zkProbe(suite.zk.connectString);
    cleanup.push(async () => p.close());
    // the restarted server restores its sessions from its log: ours lives on (its znode with it)
    // unless it expired before we reconnected; a new session only on the server's word
    const revived = d.session.sessionId === oldId;
    if (!revived) assert.ok(logs.some((l) => /session lost: the server expired it/.test(l.msg)), 'a new session only once the server expired the old one');
    await waitFor(async () => (await p.get('/sess/b/web/app01.example.com:81'))?.owner === d.session.sessionId, 'znode owned by the current session');
    await p.create('/sess/b/web/h8:81', encodeNode(node(81, {}, 'h8')), true);
    await w.until('app01.example.com:81,h8:81');
    suite.probe.close();
    suite.probe = p; // the suite's probe died with the old server
  });

  test('answers streaming in for longer than the session timeout: pings keep the session (the server counts what it receives)', async () => {
    const { d, logs } = discovery('/sess/d');
    await d.start();
    await d.session.mkdirp('/sess/d');
    await d.session.create('/sess/d/big', Buffer.alloc(1024, 'x'), 'persistent');
    const id = d.session.sessionId;
    let expired = false;
    d.session.once('expired', () => (expired = true));
    // read slowly, as a writer busy applying 50,000 answers does: one chunk of the socket
    // every 150 ms, so answers never stop arriving while nothing else is sent
    const socket = (d.session as unknown as { client: { connectionManager: { socket: Socket } } }).client.connectionManager.socket;
    const pause = () => socket.pause();
    socket.on('data', pause);
    const resume = setInterval(() => socket.resume(), 150);
    cleanup.push(async () => clearInterval(resume));
    const t0 = Date.now();
    const reads = await Promise.allSettled(Array.from({ length: 2500 }, () => d.session.getData('/sess/d/big')));
    clearInterval(resume);
    socket.off('data', pause).resume();
    const took = Date.now() - t0;
    const failed = reads.filter((r) => r.status === 'rejected');
    assert.ok(took > 2 * d.session.timeout, `the answers took ${took} ms, more than the session timeout (${d.session.timeout} ms) twice: else this proves nothing`);
    assert.equal(failed.length, 0, `every read answered (first failure: ${String((failed[0] as PromiseRejectedResult | undefined)?.reason)})`);
    assert.equal(expired, false, 'the session was not expired');
    assert.equal(d.session.sessionId, id, 'the same session');
    assert.ok(!logs.some((l) => /session lost|connection lost/.test(l.msg)), `no loss logged: ${logs.map((l) => l.msg).join('; ')}`);
  });

  test('our process stopped (SIGSTOP) past the session timeout recovers after SIGCONT', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { zookeeperDiscovery } from '${root}src/discovery/zookeeper/index.ts';
      import { createLogger } from '${root}src/core/logger.ts';
      import { systemClock } from '${root}src/core/clock.ts';
      const config = zookeeperDiscovery.schema.parse({ hosts: ['${suite.zk.connectString}'], path: '/sess/c', session_timeout: 2000 });
      const d = zookeeperDiscovery.create(config, { logger: createLogger({ level: 'info', format: 'json' }), clock: systemClock });
      await d.start();
      // as the reporter does: a register still waiting when the session goes (the test may stop
      // us between the server's create and our reading its answer) rejects, and is retried
      d.register('web', ${JSON.stringify(node(82))}).catch((err) => console.log(JSON.stringify({ msg: 'register: ' + err.message })));
      process.on('SIGTERM', () => d.stop().then(() => process.exit(0)));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: string[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(...b.toString().split('\n').filter(Boolean)));
    cleanup.push(async () => child.exitCode === null && child.kill('SIGKILL'));
    const path = '/sess/c/web/app01.example.com:82';

    const first = await waitFor(() => suite.probe.get(path), 'the child to register', 15_000);
    child.kill('SIGSTOP');
    try {
      await waitFor(async () => (await suite.probe.get(path)) === null, 'the server to expire the stopped child', 8_000);
    } finally {
      child.kill('SIGCONT');
    }
    const again = await waitFor(async () => {
      const z = await suite.probe.get(path);
      return z && z.owner !== first.owner && z;
    }, 'the child to re-register on a new session', 10_000);
    assert.equal(again.data.toString(), first.data.toString());
    assert.ok(out.some((l) => /session lost/.test(l)), `child logged the loss:\n${out.join('\n')}`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.equal(await suite.probe.get(path), null, 'stop() removed it');
  });
});

describe('the connection', () => {
  test('a connection cut in the middle of a reply: the next connection is framed afresh and the session goes on', async () => {
    // a TCP proxy in front of ZooKeeper that can forward part of one reply, then cut
    const [zkHost, zkPort] = suite.zk.connectString.split(':');
    let cutNext = false;
    let cuts = 0;
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const server = connect(Number(zkPort), zkHost);
      sockets.add(client).add(server);
      client.on('data', (d) => server.write(d));
      server.on('data', (d) => {
        if (cutNext && d.length > 16) {
          cutNext = false;
          cuts++;
          client.write(d.subarray(0, d.length - 8)); // all of the reply but its last 8 bytes
          client.destroy();
          server.destroy();
          return;
        }
        client.write(d);
      });
      for (const s of [client, server]) s.on('error', () => {}).on('close', () => (client.destroy(), server.destroy()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    });
    const { d, logs } = discovery('/conn/a');
    // point the plugin's session at the proxy
    const config = zookeeperDiscovery.schema.parse({ hosts: [`127.0.0.1:${(proxy.address() as AddressInfo).port}`], path: '/conn/a', session_timeout: 2000, connect_timeout: 10 });
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(JSON.parse(s)) } });
    const viaProxy = zookeeperDiscovery.create(config, { logger, clock: systemClock });
    cleanup.push(() => viaProxy.stop());
    await Promise.all([d.start(), viaProxy.start()]);
    await d.register('web', node(9000, { blob: 'x'.repeat(2000) }));
    const w = collect(viaProxy, 'web');
    await w.until('app01.example.com:9000');
    const session = viaProxy.session.sessionId;

    cutNext = true; // the reply to the next read (the data of the changed znode) is cut short
    await d.register('web', node(9000, { blob: 'y'.repeat(2000) }));
    await waitFor(() => cuts === 1, 'the proxy cut a reply', 5_000);
    await waitFor(() => w.snaps.at(-1)?.[0]?.metadata.blob === 'y'.repeat(2000), 'the change read again on a fresh connection', 10_000);
    assert.equal(viaProxy.session.sessionId, session, 'same session');
    await d.register('web', node(9001));
    await w.until('app01.example.com:9000,app01.example.com:9001', 'later changes keep flowing');
  });

  test('a server that accepts the connection and never answers the handshake: the connection is dropped and tried again', async () => {
    const [zkHost, zkPort] = suite.zk.connectString.split(':');
    let accepted = 0;
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      sockets.add(client);
      client.on('error', () => {});
      if (++accepted === 1) return; // the first connection: accepted, read, never answered
      const server = connect(Number(zkPort), zkHost);
      sockets.add(server);
      client.pipe(server).pipe(client);
      server.on('error', () => {}).on('close', () => client.destroy());
      client.on('close', () => server.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    });
    const config = zookeeperDiscovery.schema.parse({ hosts: [`127.0.0.1:${(proxy.address() as AddressInfo).port}`], path: '/conn/b', session_timeout: 1000, connect_timeout: 10 });
    const d = zookeeperDiscovery.create(config, { logger: createLogger({ level: 'silent' }), clock: systemClock });
    cleanup.push(() => d.stop());
    await d.start(); // rejects after connect_timeout (10 s) if the first connection is never given up
    assert.equal(accepted, 2, 'a second connection, after the silent first one');
    assert.ok(d.session.sessionId, 'a session after the second connection');
  });

  for (const watch of ['auto', 'classic'] as const) {
    test(`a connection lost within the session (watch: ${watch}): a change made in the gap arrives, and the ones after it`, async () => {
      const proxy = await zkProxy();
      const { d: pub } = discovery(`/conn/gap-${watch}`);
      const { d, logs } = discovery(`/conn/gap-${watch}`, watch, proxy.port);
      await Promise.all([pub.start(), d.start()]);
      await pub.register('web', node(9000));
      const w = collect(d, 'web');
      await w.until('app01.example.com:9000');
      const session = d.session.sessionId;
      proxy.refuse = true;
      proxy.cut();
      await waitFor(() => logs.find((l) => /connection lost/.test(l.msg)), 'the client saw the connection go');
      await pub.register('web', node(9001)); // while the watcher has no connection
      await pub.unregister('web', node(9000));
      proxy.refuse = false;
      await w.until('app01.example.com:9001', 'the gap caught up on the new connection');
      assert.equal(d.session.sessionId, session, 'same session');
      await pub.register('web', node(9002));
      await w.until('app01.example.com:9001,app01.example.com:9002', 'later changes keep flowing');
    });
  }

  test('a server older than 3.6 (addWatch answered UNIMPLEMENTED, connection closed): one-shot watches', async () => {
    // ZooKeeper 3.4 / 3.5 answer an unknown request type UNIMPLEMENTED and close the connection
    const proxy = await zkProxy({ unimplemented: [106] });
    const { d: pub } = discovery('/conn/old');
    const { d, logs } = discovery('/conn/old', 'auto', proxy.port);
    await Promise.all([pub.start(), d.start()]);
    await pub.register('web', node(9000));
    const w = collect(d, 'web');
    await w.until('app01.example.com:9000');
    assert.ok(proxy.refused >= 1, 'addWatch was tried');
    assert.ok(logs.some((l) => /older than 3\.6/.test(l.msg)), 'logged once');
    await pub.register('web', node(9001));
    await w.until('app01.example.com:9000,app01.example.com:9001');
    await pub.register('web', node(9001, { v: 2 }));
    await waitFor(() => w.snaps.at(-1)?.[1]?.metadata.v === 2, 'a data change');
    await pub.unregister('web', node(9000));
    await w.until('app01.example.com:9001');
    assert.equal(proxy.refused, 1, 'not tried again');
  });
});

describe('what a change costs', () => {
  for (const [watch, reads] of [['auto', { add: 'getData', remove: 'getData' }], ['classic', { add: 'getChildren,getData', remove: 'getChildren,getData' }]] as const) {
    test(`watch: ${watch}: an add reads ${reads.add}; a removal ${reads.remove}`, async () => {
      const { d: pub } = discovery('/cost/' + watch);
      const { d } = discovery('/cost/' + watch, watch);
      await Promise.all([pub.start(), d.start()]);
      await pub.register('web', node(9000));
      const w = collect(d, 'web');
      await w.until('app01.example.com:9000');
      const ops: string[] = [];
      const s = d.session as unknown as Record<'getData' | 'getChildren', (...a: unknown[]) => unknown>;
      for (const op of ['getData', 'getChildren'] as const) {
        const real = s[op].bind(d.session);
        s[op] = (...a: unknown[]) => (ops.push(op), real(...a));
      }
      await pub.register('web', node(9001));
      await w.until('app01.example.com:9000,app01.example.com:9001');
      assert.equal(ops.sort().join(','), reads.add);
      ops.length = 0;
      await pub.unregister('web', node(9001));
      await w.until('app01.example.com:9000');
      assert.equal(ops.sort().join(','), reads.remove);
    });
  }
});

/**
 * A TCP proxy in front of the test's ZooKeeper that forwards whole frames (4-byte length
 * prefix). `cut()` drops every connection, `refuse` turns new ones away; `unimplemented` lists
 * request types answered as ZooKeeper < 3.6 answers an unknown one: UNIMPLEMENTED (-6), once
 * every earlier request is answered, then the connection closed.
 */
async function zkProxy(opts: { unimplemented?: number[] } = {}) {
  const [zkHost, zkPort] = suite.zk.connectString.split(':');
  const sockets = new Set<Socket>();
  const frames = (sock: Socket, onFrame: (f: Buffer) => void) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const n = 4 + buf.readInt32BE(0);
        onFrame(buf.subarray(0, n));
        buf = buf.subarray(n);
      }
    });
  };
  const state = {
    port: 0,
    refuse: false,
    refused: 0,
    cut: () => sockets.forEach((s) => s.destroy()),
  };
  const proxy = createServer((client) => {
    sockets.add(client);
    client.on('error', () => {}).on('close', () => server.destroy());
    const server = connect(Number(zkPort), zkHost);
    sockets.add(server);
    server.on('error', () => {}).on('close', () => client.destroy());
    if (state.refuse) return void client.destroy();
    const first = [true, true]; // the handshake frames carry no xid / type
    let outstanding = 0; // requests with an xid >= 0 not answered yet
    let inject: Buffer | null = null;
    const flush = () => {
      if (inject && outstanding === 0) client.end(inject), server.destroy(), (inject = null);
    };
    frames(client, (f) => {
      if (first[0]) return void ((first[0] = false), server.write(f));
      const xid = f.readInt32BE(4);
      const type = f.readInt32BE(8);
      if (inject) return;
      if (opts.unimplemented?.includes(type)) {
        state.refused++;
        inject = Buffer.alloc(20);
        inject.writeInt32BE(16, 0);
        inject.writeInt32BE(xid, 4);
        inject.writeBigInt64BE(-1n, 8);
        inject.writeInt32BE(-6, 16);
        return flush();
      }
      if (xid >= 0) outstanding++;
      server.write(f);
    });
    frames(server, (f) => {
      if (first[1]) return void ((first[1] = false), client.write(f));
      if (f.readInt32BE(4) >= 0) outstanding--;
      client.write(f);
      flush();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  state.port = (proxy.address() as AddressInfo).port;
  cleanup.push(async () => {
    state.cut();
    await new Promise((r) => proxy.close(r));
  });
  return state;
}
