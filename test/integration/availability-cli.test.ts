/**
 * Availability control: who may change a state (the local socket, a bearer token, nobody over
 * TCP without one), named errors for bad states and bad availability.yaml / http.yaml, and an
 * HTTP port that is taken. A real ZooKeeper and reporters, lighthousectl as operators run it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as netServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { startDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { availabilityNodes, holdBackend, runCtl as run, stateOf, TOKEN, type AvailabilityNode } from '../helpers/availability.js';

const suite = useZooKeeper();
let A: AvailabilityNode;
let B: AvailabilityNode;
let nodes: ReturnType<typeof availabilityNodes>;

before(async () => {
  await suite.ready();
  nodes = availabilityNodes(suite.zk.connectString, suite.cleanup);
  A = await nodes.node('A', true);
  B = await nodes.node('B', false);
  await waitFor(() => suite.probe.get(A.znode), 'A published', 60_000);
});

test('a remote change without the right token gets 401 and changes nothing; with it, it is recorded as the token\'s', async () => {
  const url = `http://127.0.0.1:${A.httpPort}`;
  const put = (headers: Record<string, string>) => fetch(`${url}/state`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: '{"state": "offline"}' });
  assert.equal((await put({})).status, 401);
  assert.equal((await put({ authorization: 'Bearer 0123456789abcdef0123456789abcdeX' })).status, 401);
  const noToken = await run('offline', '--url', url);
  assert.deepEqual([noToken.code, /failed \(HTTP 401\)/.test(noToken.err)], [1, true], noToken.err);
  assert.equal((await stateOf(A)).node.state, 'enabled');
  assert.ok(await suite.probe.get(A.znode), 'still published');
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
  const logged = await A.reporter.waitForLog((l) => /availability\.yaml:3:\d+ states\.maintenance\.effect/.test(String(l.msg)), 'the error with file:line:col', 30_000);
  assert.match(String(logged.msg), /last good version stays in force/);
  assert.equal((await run('set-state', 'maintenance', '-c', A.dir)).code, 2);

  // a reporter never starts on a broken availability.yaml (it could not know the node's state)
  const dir = await nodes.tempDir('lh-avail-bad-');
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
  const b = await holdBackend('C');
  suite.cleanup.push(() => b.close());
  const { dir, httpPort } = await nodes.reporterDir(b, false);
  const holder = netServer();
  await new Promise<void>((r) => holder.listen(httpPort, '127.0.0.1', r));
  const host = 'node-c.lighthouse.test';
  const d = nodes.startReporter({ host, dir });
  await waitFor(() => suite.probe.get(`/lh/web/${host}:${b.port}`), 'C published while its port is taken', 60_000);
  await d.waitForLog((l) => /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/.test(String(l.msg)), 'the port problem logged', 30_000);
  await new Promise((r) => holder.close(r));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${httpPort}/`).catch(() => null))?.status === 200, 'serving once the port is free', 20_000);
});
