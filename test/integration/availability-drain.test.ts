/**
 * Availability control end to end: a real ZooKeeper, two reporters advertising two nodes (A and
 * B) of one service, a writer with its real HAProxy, lighthousectl as operators run it. Every
 * claim is checked where it shows: traffic through HAProxy, HAProxy's own server state, the
 * znodes seen by an independent ZooKeeper session, exit codes and output.
 * (Remote changes, errors and the HTTP port: availability-cli.test.ts.)
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { freePort } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { availabilityNodes, ctl, runCtl as run, stateOf, type AvailabilityNode, type HoldBackend } from '../helpers/availability.js';
import { masterCommand } from '../../src/balancers/haproxy/process/process.js';
import { adminMode, parseServersState } from '../../src/balancers/haproxy/runtime/parse.js';

const suite = useZooKeeper();
let hap: HaproxyEnv;
let writer: Daemon;
let webPort: number;
let A: AvailabilityNode;
let B: AvailabilityNode;
let nodes: ReturnType<typeof availabilityNodes>;

async function serverState(b: HoldBackend): Promise<string> {
  const rows = parseServersState(await masterCommand(hap.socketFile, 'show servers state web', 2000)).rows;
  const row = rows.find((r) => r.addr === '127.0.0.1' && r.port === b.port);
  return row ? `${adminMode(row.adminState)}${row.opState === 2 ? '' : ' (stopped)'}` : 'absent';
}

/** traffic until exactly `ids` answer (bounded) */
async function servedBy(ids: string[], what: string, ms = 30_000) {
  let last = '';
  return waitFor(async () => {
    const t = await traffic(webPort, 20);
    last = `${[...t.hits.keys()].sort()} (${t.failed} failed)`;
    return t.failed === 0 && [...t.hits.keys()].sort().join() === [...ids].sort().join() ? t : null;
  }, what, ms, () => `; last: ${last}`);
}

/** a GET through HAProxy that the backend holds until released; resolves with the body */
function heldRequest(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: webPort, path: '/hold', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  await suite.ready();
  nodes = availabilityNodes(suite.zk.connectString, suite.cleanup);
  // the held request outlives a few lighthousectl runs: a server timeout well above them
  hap = await haproxyEnv({ defaults: ['mode http', 'timeout connect 2s', 'timeout client 90s', 'timeout server 90s'] });
  suite.cleanup.push(() => hap.cleanup());
  webPort = await freePort();
  const dir = await nodes.tempDir('lh-avail-writer-');
  for (const d of ['balancers', 'discovery', 'clusters']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${suite.zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  // idle pooled connections to a drained server close after pool-purge-delay: the setting
  // docs/AVAILABILITY.md recommends for wait-drained
  await writeFile(join(dir, 'clusters/web.yaml'), stringify({ discovery: 'zookeeper', haproxy: { port: webPort, backend: ['mode http'], server_options: 'pool-purge-delay 500ms' } }));
  writer = startDaemon('lighthouse-writer', [dir]);
  suite.cleanup.push(() => writer.stop('SIGKILL'));
  A = await nodes.node('A', true);
  B = await nodes.node('B', false);
});

test('both nodes serve; GET / answers Plight\'s code and message', async () => {
  // the first start of ZooKeeper sessions, HAProxy and three daemons: slow on a loaded machine
  await servedBy(['A', 'B'], 'A and B serving', 90_000);
  const r = await fetch(`http://127.0.0.1:${A.httpPort}/`);
  assert.deepEqual([r.status, await r.text()], [200, 'node is available\n']);
});

test('disable drains A: a request in flight on A completes, new ones go to B only, wait-drained returns only once it ended', async () => {
  // one held request on A (roundrobin: B may take one first; it is released at once)
  let inflight: Promise<string> | undefined;
  for (let i = 0; i < 10 && !inflight; i++) {
    const p = heldRequest();
    await waitFor(() => A.backend.held.length + B.backend.held.length > 0, 'the held request reached a backend', 30_000);
    if (A.backend.held.length) inflight = p;
    else (B.backend.held.shift()!(), await p);
  }
  assert.ok(inflight, 'a held request on A');

  const off = await run('disable', '-c', A.dir, '--reason', 'kernel upgrade');
  assert.equal(off.code, 0, off.err);
  assert.match(off.out, /^node node-a\.lighthouse\.test: disabled \(404 node is unavailable; effect drain\), since \S+ by local:\S+: kernel upgrade$/m);
  assert.match((await suite.probe.get(A.znode))!.data.toString(), /, "state": "drain"}$/);
  await waitFor(async () => (await serverState(A.backend)) === 'drain', 'HAProxy has A in drain', 30_000);
  assert.equal(await serverState(B.backend), 'up');
  const t = await traffic(webPort, 30);
  assert.deepEqual([[...t.hits.keys()], t.failed], [['B'], 0], 'new requests go to B only');
  assert.equal((await fetch(`http://127.0.0.1:${A.httpPort}/`)).status, 404);

  const wait = ctl('wait-drained', '-c', A.dir, '--timeout', '60', '--interval', '0.2');
  // the held request keeps one connection open (the reporter's own check connection is not counted)
  await waitFor(() => /^1 connection\(s\) open on port\(s\) \d+$/m.test(wait.running.out.trim().split('\n').at(-1) ?? ''), 'wait-drained counting the held request', 30_000, () => wait.running.out);
  assert.equal(wait.running.exited, false, `wait-drained returned while a request was open:\n${wait.running.out}`);
  A.backend.held.shift()!();
  assert.equal(await inflight, '200 A', 'the request in flight on A completed');
  const w = await wait.done;
  assert.equal(w.code, 0, w.out + w.err);
  assert.match(w.out, /drained: no connection open on port\(s\) \d+\n$/);
});

test('the state survives a restart of the reporter, and A is never published up in between', async () => {
  const seen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const z = await suite.probe.get(A.znode).catch(() => null);
      seen.add(z ? z.data.toString() : 'absent');
    }
  })();
  const servedBefore = A.backend.served;
  assert.equal(await A.reporter.stop('SIGTERM'), 0);
  A.reporter = nodes.startReporter(A);
  const z = await waitFor(() => suite.probe.get(A.znode), 'A published again', 20_000);
  watching = false;
  await watcher;
  assert.match(z.data.toString(), /"state": "drain"}$/);
  assert.equal(z.version, 0, 'created draining, never changed since (no up version in between)');
  for (const data of seen) assert.ok(data === 'absent' || data.endsWith('"state": "drain"}'), `A published without drain: ${data}`);
  const s = await stateOf(A);
  assert.deepEqual([s.node.state, s.node.reason], ['disabled', 'kernel upgrade']);
  await traffic(webPort, 20);
  assert.equal(A.backend.served, servedBefore, 'A took no new request');
});

test('offline removes A from HAProxy; enable brings it back', async () => {
  const off = await run('offline', '-c', A.dir);
  assert.equal(off.code, 0, off.err);
  await waitFor(async () => (await suite.probe.get(A.znode)) === null, 'A withdrawn from ZooKeeper', 30_000);
  await waitFor(async () => /^maint|^absent/.test(await serverState(A.backend)), 'A out of HAProxy', 30_000);
  await servedBy(['B'], 'B only');
  assert.equal((await fetch(`http://127.0.0.1:${A.httpPort}/`)).status, 503);

  const on = await run('enable', '-c', A.dir);
  assert.equal(on.code, 0, on.err);
  assert.doesNotMatch((await suite.probe.get(A.znode))!.data.toString(), /state/, 'published up: no state key, the Python wire format');
  await servedBy(['A', 'B'], 'A back');
  const list = await run('list-states', '-c', A.dir);
  assert.equal(list.out, '* enabled   200  up        node is available\n  disabled  404  drain     node is unavailable\n  offline   503  withdraw  node is offline\n');
});
