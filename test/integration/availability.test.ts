/**
 * Availability control end to end: a real ZooKeeper, two reporters advertising two nodes (A and
 * B) of one service, a writer with its real HAProxy, lighthousectl as operators run it. Every
 * claim is checked where it shows: traffic through HAProxy, HAProxy's own server state, the
 * znodes seen by an independent ZooKeeper session, exit codes and output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { zkProbe, type ZkProbe } from '../helpers/zk-probe.js';
import { freePort } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { masterCommand } from '../../src/balancers/haproxy/process.js';
import { adminMode, parseServersState } from '../../src/balancers/haproxy/runtime-parse.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'ops 0123456789abcdef0123456789abcdef';

/** An HTTP backend: /health, /hold (answers once released), anything else: its id. */
interface Backend {
  id: string;
  port: number;
  held: (() => void)[];
  served: number;
  close(): Promise<void>;
}

async function backend(id: string): Promise<Backend> {
  const b: Backend = { id, port: 0, held: [], served: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    b.served++;
    if (req.url === '/hold') return void b.held.push(() => res.end(id));
    res.end(id);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as { port: number }).port;
  b.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return b;
}

interface Node {
  host: string;
  dir: string;
  httpPort: number;
  backend: Backend;
  reporter: Daemon;
  znode: string;
}

let zk: ZkServer;
let probe: ZkProbe;
let hap: HaproxyEnv;
let writer: Daemon;
let webPort: number;
let A: Node;
let B: Node;
const cleanup: (() => Promise<unknown>)[] = [];

async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function reporterDir(b: Backend, token: boolean): Promise<{ dir: string; httpPort: number }> {
  const dir = await tempDir('lh-avail-node-');
  await mkdir(join(dir, 'discovery'));
  await mkdir(join(dir, 'services'));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  await writeFile(join(dir, 'services/web.yaml'), `port: ${b.port}\ndiscovery: zookeeper\nchecks:\n  interval: 0.1\n  http: {uri: /health, fall: 3}\n`);
  const httpPort = await freePort();
  await writeFile(join(dir, 'http.yaml'), stringify({ port: httpPort, bind_address: '127.0.0.1', socket: 'run/reporter.sock', ...(token && { token_file: 'http.token' }) }));
  if (token) await writeFile(join(dir, 'http.token'), `${TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'availability.yaml'), 'state_file: state/availability.json\n');
  return { dir, httpPort };
}

function startReporter(n: Pick<Node, 'host' | 'dir'>): Daemon {
  const d = startDaemon('lighthouse-reporter', [n.dir], { LIGHTHOUSE_ADVERTISE_HOST: n.host, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' });
  cleanup.push(() => d.stop('SIGKILL'));
  return d;
}

async function node(id: string, token: boolean): Promise<Node> {
  const b = await backend(id);
  cleanup.push(() => b.close());
  const host = `node-${id.toLowerCase()}.lighthouse.test`;
  const { dir, httpPort } = await reporterDir(b, token);
  return { host, dir, httpPort, backend: b, reporter: startReporter({ host, dir }), znode: `/lh/web/${host}:${b.port}` };
}

interface Ctl {
  code: number | null;
  out: string;
  err: string;
}

/** lighthousectl ARGS; `running.out` grows while it runs */
function ctl(...args: string[]): { done: Promise<Ctl>; running: { out: string; exited: boolean } } {
  const running = { out: '', exited: false };
  const done = new Promise<Ctl>((resolve) => {
    const p = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/lighthousectl.ts'), ...args], { cwd: ROOT, timeout: 90_000 }, (err, out, stderr) => {
      running.exited = true;
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: stderr });
    });
    p.stdout!.on('data', (d) => (running.out += d));
  });
  return { done, running };
}

const run = async (...args: string[]) => ctl(...args).done;

async function serverState(b: Backend): Promise<string> {
  const rows = parseServersState(await masterCommand(hap.socketFile, 'show servers state web', 2000)).rows;
  const row = rows.find((r) => r.addr === '127.0.0.1' && r.port === b.port);
  return row ? `${adminMode(row.adminState)}${row.opState === 2 ? '' : ' (stopped)'}` : 'absent';
}

/** traffic until exactly `ids` answer (bounded) */
async function servedBy(ids: string[], what: string, ms = 20_000) {
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

const stateOf = async (n: Node) => (await (await fetch(`http://127.0.0.1:${n.httpPort}/state`)).json()) as { node: { state: string; reason?: string; by: string } };

before(async () => {
  zk = await startZooKeeper({ tickTime: 200 });
  probe = await zkProbe(zk.connectString);
  // the held request outlives a few lighthousectl runs: a server timeout well above them
  hap = await haproxyEnv({ defaults: ['mode http', 'timeout connect 2s', 'timeout client 90s', 'timeout server 90s'] });
  webPort = await freePort();
  const dir = await tempDir('lh-avail-writer-');
  for (const d of ['balancers', 'discovery', 'clusters']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  // idle pooled connections to a drained server close after pool-purge-delay: the setting
  // docs/AVAILABILITY.md recommends for wait-drained
  await writeFile(join(dir, 'clusters/web.yaml'), stringify({ discovery: 'zookeeper', haproxy: { port: webPort, backend: ['mode http'], server_options: 'pool-purge-delay 500ms' } }));
  writer = startDaemon('lighthouse-writer', [dir]);
  A = await node('A', true);
  B = await node('B', false);
});

after(async () => {
  await writer?.stop('SIGKILL');
  await hap?.cleanup();
  for (const f of cleanup.reverse()) await f().catch(() => {});
  probe?.close();
  await zk?.stop();
});

test('both nodes serve; GET / answers Plight\'s code and message', async () => {
  // the first start of ZooKeeper sessions, HAProxy and three daemons: slow on a loaded machine
  await servedBy(['A', 'B'], 'A and B serving', 60_000);
  const r = await fetch(`http://127.0.0.1:${A.httpPort}/`);
  assert.deepEqual([r.status, await r.text()], [200, 'node is available\n']);
});

test('disable drains A: a request in flight on A completes, new ones go to B only, wait-drained returns only once it ended', async () => {
  // one held request on A (roundrobin: B may take one first; it is released at once)
  let inflight: Promise<string> | undefined;
  for (let i = 0; i < 10 && !inflight; i++) {
    const p = heldRequest();
    await waitFor(() => A.backend.held.length + B.backend.held.length > 0, 'the held request reached a backend');
    if (A.backend.held.length) inflight = p;
    else (B.backend.held.shift()!(), await p);
  }
  assert.ok(inflight, 'a held request on A');

  const off = await run('disable', '-c', A.dir, '--reason', 'kernel upgrade');
  assert.equal(off.code, 0, off.err);
  assert.match(off.out, /^node node-a\.lighthouse\.test: disabled \(404 node is unavailable; effect drain\), since \S+ by local:\S+: kernel upgrade$/m);
  assert.match((await probe.get(A.znode))!.data.toString(), /, "state": "drain"}$/);
  await waitFor(async () => (await serverState(A.backend)) === 'drain', 'HAProxy has A in drain');
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
      const z = await probe.get(A.znode).catch(() => null);
      seen.add(z ? z.data.toString() : 'absent');
    }
  })();
  const servedBefore = A.backend.served;
  assert.equal(await A.reporter.stop('SIGTERM'), 0);
  A.reporter = startReporter(A);
  const z = await waitFor(() => probe.get(A.znode), 'A published again', 20_000);
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
  await waitFor(async () => (await probe.get(A.znode)) === null, 'A withdrawn from ZooKeeper');
  await waitFor(async () => /^maint|^absent/.test(await serverState(A.backend)), 'A out of HAProxy');
  await servedBy(['B'], 'B only');
  assert.equal((await fetch(`http://127.0.0.1:${A.httpPort}/`)).status, 503);

  const on = await run('enable', '-c', A.dir);
  assert.equal(on.code, 0, on.err);
  assert.doesNotMatch((await probe.get(A.znode))!.data.toString(), /state/, 'published up: no state key, the Python wire format');
  await servedBy(['A', 'B'], 'A back');
  const list = await run('list-states', '-c', A.dir);
  assert.equal(list.out, '* enabled   200  up        node is available\n  disabled  404  drain     node is unavailable\n  offline   503  withdraw  node is offline\n');
});

test('a remote change without the right token gets 401 and changes nothing; with it, it is recorded as the token\'s', async () => {
  const url = `http://127.0.0.1:${A.httpPort}`;
  const put = (headers: Record<string, string>) => fetch(`${url}/state`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: '{"state": "offline"}' });
  assert.equal((await put({})).status, 401);
  assert.equal((await put({ authorization: 'Bearer 0123456789abcdef0123456789abcdeX' })).status, 401);
  const noToken = await run('offline', '--url', url);
  assert.deepEqual([noToken.code, /failed \(HTTP 401\)/.test(noToken.err)], [1, true], noToken.err);
  assert.equal((await stateOf(A)).node.state, 'enabled');
  assert.ok(await probe.get(A.znode), 'still published');
  const noRemote = await fetch(`http://127.0.0.1:${B.httpPort}/state`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN.split(' ')[1]}` }, body: '{"state": "offline"}' });
  assert.equal(noRemote.status, 403, 'B has no token_file: no remote changes at all');

  const tokenFile = join(A.dir, 'http.token');
  const ok = await run('disable', '--url', url, '--token-file', tokenFile, '--reason', 'remote', '--json');
  assert.equal(ok.code, 0, ok.err);
  assert.equal(JSON.parse(ok.out).node.by, 'token:ops');
  const back = await run('enable', '--url', url, '--token-file', tokenFile);
  assert.equal(back.code, 0, back.err);
});

test('bad states, bad availability.yaml and bad http.yaml are named errors', async () => {
  const bogus = await run('set-state', 'maintenance', '-c', A.dir);
  assert.equal(bogus.code, 2, bogus.err);
  assert.match(bogus.err, /unknown state 'maintenance' \(valid: enabled, disabled, offline\)/);
  const svc = await run('disable', '--service', 'nope', '-c', A.dir);
  assert.equal(svc.code, 2);
  assert.match(svc.err, /unknown service 'nope' \(this node's services: web\)/);

  // a broken live edit: named, and the last good states stay in force
  await writeFile(join(A.dir, 'availability.yaml'), 'state_file: state/availability.json\nstates:\n  maintenance: {code: 503, effect: sideways}\n');
  const logged = await A.reporter.waitForLog((l) => /availability\.yaml:3:\d+ states\.maintenance\.effect/.test(String(l.msg)), 'the error with file:line:col');
  assert.match(String(logged.msg), /last good version stays in force/);
  assert.equal((await run('set-state', 'maintenance', '-c', A.dir)).code, 2);

  // a reporter never starts on a broken availability.yaml (it could not know the node's state)
  const dir = await tempDir('lh-avail-bad-');
  await writeFile(join(dir, 'availability.yaml'), 'default_state: nope\n');
  const d = startDaemon('lighthouse-reporter', [dir]);
  assert.equal(await d.exited, 78);
  assert.match(d.raw.join('\n'), /availability\.yaml:1:16 default_state: no state named 'nope'/);

  await writeFile(join(dir, 'availability.yaml'), '{}\n');
  await writeFile(join(dir, 'http.yaml'), 'port: 99999\n');
  const st = await run('status', '-c', dir);
  assert.equal(st.code, 78);
  assert.match(st.err, /^http\.yaml:1:7 port: Too big/m);
  await writeFile(join(A.dir, 'availability.yaml'), 'state_file: state/availability.json\n');
});

test('a taken HTTP port never stops the reporter from publishing; it binds once the port is free', async () => {
  const b = await backend('C');
  cleanup.push(() => b.close());
  const { dir, httpPort } = await reporterDir(b, false);
  const holder = netServer();
  await new Promise<void>((r) => holder.listen(httpPort, '127.0.0.1', r));
  const host = 'node-c.lighthouse.test';
  const d = startReporter({ host, dir });
  await waitFor(() => probe.get(`/lh/web/${host}:${b.port}`), 'C published while its port is taken', 20_000);
  await d.waitForLog((l) => /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/.test(String(l.msg)), 'the port problem logged');
  await new Promise((r) => holder.close(r));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/`).catch(() => null))?.status === 200, 'serving once the port is free', 20_000);
  assert.match(await readFile(join(dir, 'http.yaml'), 'utf8'), new RegExp(`port: ${httpPort}`));
});
