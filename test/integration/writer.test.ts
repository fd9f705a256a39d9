/**
 * lighthouse-writer end to end: a real ZooKeeper, the reporter and the writer as their own
 * processes, a real HAProxy started by the writer, and HTTP backends whose health the test
 * switches. Every assertion is about traffic or HAProxy's own view (worker pid, reload count).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ZkServer } from '../helpers/zookeeper.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import type { Daemon } from '../helpers/daemon.js';
import { traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { masterCommand, parseShowProc } from '../../src/balancers/haproxy/process/process.js';

let stack: Stack;
let zk: ZkServer;
let hap: HaproxyEnv;
let dir: string;
let webPort: number;
let writer: Daemon;
let backends: Backend[];

// a probe timeout of a whole interval and fall 2: a loaded machine must not flap the checks
const serviceYaml = (ports: number[]) => `ports: [${ports.join(', ')}]\ndiscovery: zookeeper\nchecks:\n  interval: 0.2\n  timeout: 0.2\n  http: {uri: /health, rise: 1, fall: 2}\n`;

async function proc() {
  return waitFor(async () => parseShowProc(await masterCommand(hap.masterSocket, 'show proc', 1000)), 'HAProxy master answers');
}

/** traffic until only `ids` answer (bounded): membership has converged */
async function servedBy(port: number, ids: string[], what: string) {
  let last = '';
  return waitFor(async () => {
    const t = await traffic(port, 30);
    const seen = [...t.hits.keys()].sort();
    last = `served by [${seen}], ${t.failed} failed${t.errors.length ? ` (${[...new Set(t.errors)].join(', ')})` : ''}`;
    return t.failed === 0 && JSON.stringify(seen) === JSON.stringify([...ids].sort()) ? t : null;
  }, what, 15_000, () => `; last traffic: ${last}; writer log: ${writer.logs.filter((l) => Number(l.level) >= 40).slice(-8).map((l) => String(l.msg)).join(' | ')}`);
}

before(async () => {
  stack = await startStack(['b1', 'b2', 'b3']);
  ({ zk, hap, dir, backends } = stack);
  webPort = await freePort();
  await stack.file('clusters/web.yaml', `discovery: zookeeper\nhaproxy:\n  port: ${webPort}\n  backend: ["mode http"]\n`);
  await stack.file('services/web.yaml', serviceYaml(backends.map((b) => b.port)));
  stack.startReporter();
  writer = stack.startWriter();
  // (a loaded machine takes a while to compile and start a daemon: not what the tests measure)
  await writer.waitForLog((l) => l.msg === 'writer starting', 'the writer to start', 60_000);
});

after(() => stack?.cleanup());

test('traffic reaches every healthy backend', async () => {
  await servedBy(webPort, ['b1', 'b2', 'b3'], 'all three backends serving');
});

test('an unhealthy backend stops receiving traffic; a new node joins and an old one leaves without a reload', async () => {
  const before = await proc();
  backends[2].healthy = false;
  await servedBy(webPort, ['b1', 'b2'], 'b3 out of rotation');

  const b4 = await startBackend('b4');
  backends.push(b4);
  // b1 leaves, b4 joins (the reporter's own config edit)
  await writeFile(join(dir, 'services/web.yaml'), serviceYaml([backends[1].port, backends[2].port, b4.port]));
  await servedBy(webPort, ['b2', 'b4'], 'b4 in, b1 out');
  backends[2].healthy = true;
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'b3 back');
  const now = await proc();
  assert.deepEqual(now.workers, before.workers, 'same HAProxy worker: no reload');
  assert.equal(now.reloads, before.reloads);
  // every current server is in the config file too, so a later reload keeps them
  const wanted = [backends[1], backends[2], b4].map((b) => new RegExp(`127\\.0\\.0\\.1:${b.port}\\b`));
  await waitFor(async () => {
    const cfg = await readFile(hap.configFile, 'utf8');
    return wanted.every((re) => re.test(cfg)) && !cfg.includes(`127.0.0.1:${backends[0].port}`);
  }, 'config file lists exactly the current servers');
  assert.equal((await proc()).reloads, before.reloads, 'written, not reloaded');
});

test('a new cluster file triggers exactly one reload', async () => {
  const before = await proc();
  const apiPort = await freePort();
  const api = await startBackend('api1');
  backends.push(api);
  await writeFile(join(dir, 'services/api.yaml'), serviceYaml([api.port]));
  await writeFile(join(dir, 'clusters/api.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${apiPort}\n`);
  await servedBy(apiPort, ['api1'], 'api cluster serving');
  // let any straggling apply land, then count
  await writer.waitForLog((l) => l.balancer === 'haproxy' && l.reloaded === false && typeof l.runtimeCommands === 'number', 'a runtime-only apply after the reload', 5000).catch(() => undefined);
  const now = await proc();
  assert.equal(now.reloads, before.reloads + 1, 'one reload for one new cluster');
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'web still serving the same members');
});

test('a cluster file HAProxy rejects is left out and named with its reason; the others keep serving', async () => {
  const before = await proc();
  const badPort = await freePort();
  await writeFile(join(dir, 'clusters/bad.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${badPort}\n  backend: ["balance no_such_algorithm"]\n`);
  const err = await writer.waitForLog((l) => l.level === 50 && l.cluster === 'bad', 'the cluster named in an error line', 15_000);
  assert.equal(err.file, 'clusters/bad.yaml');
  assert.match(String(err.msg), /clusters\/bad\.yaml/);
  assert.match(String(err.reason), /balance only supports/, "HAProxy's reason");
  assert.doesNotMatch(await readFile(hap.configFile, 'utf8'), /no_such_algorithm/, 'never in the config file');
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'the others keep serving');
  assert.deepEqual((await proc()).workers, before.workers, 'nothing to reload: the bad cluster was new');
  assert.equal(writer.logs.filter((l) => /balancer apply failed/.test(String(l.msg))).length, 0, 'the apply did not fail');
  await rm(join(dir, 'clusters/bad.yaml'));
});

test('a second cluster file on a serving cluster\'s port is left out: the one serving keeps serving, the error names both files', async () => {
  const before = await proc();
  await writeFile(join(dir, 'clusters/web-copy.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${webPort}\n`);
  const err = await writer.waitForLog((l) => l.level === 50 && /clusters\/web-copy\.yaml/.test(String(l.msg)), 'the clash logged', 15_000);
  assert.match(String(err.msg), /clusters\/web\.yaml/, 'names the file serving the port');
  assert.match(String(err.msg), new RegExp(`port ${webPort} is also bound by`));
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'web keeps serving its members, and only them');
  assert.doesNotMatch(await readFile(hap.configFile, 'utf8'), /web-copy/, 'the new file is left out of the config');
  assert.deepEqual((await proc()).workers, before.workers, 'no reload for a file left out');
  await rm(join(dir, 'clusters/web-copy.yaml'));
});

test('a ZooKeeper outage keeps traffic flowing; changes flow again afterwards', async () => {
  await zk.stopServer();
  try {
    // past the session timeout (2 s): the writer must keep the last known members
    const end = Date.now() + 3500;
    while (Date.now() < end) {
      const t = await traffic(webPort, 20);
      assert.equal(t.failed, 0, `requests failed during the outage: ${t.errors.join(', ')}`);
      assert.deepEqual([...t.hits.keys()].sort(), ['b2', 'b3', 'b4']);
    }
  } finally {
    await zk.startAgain();
  }
  backends[1].healthy = false; // b2
  await servedBy(webPort, ['b3', 'b4'], 'membership changes flow after the outage');
  backends[1].healthy = true;
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'and back');
});

test('balancers/haproxy.yaml deleted: said loudly, the last good one stays, membership keeps flowing', async () => {
  const yaml = await readFile(join(dir, 'balancers/haproxy.yaml'), 'utf8');
  await rm(join(dir, 'balancers/haproxy.yaml'));
  try {
    const said = await writer.waitForLog((l) => l.level === 50 && /balancers\/haproxy\.yaml/.test(String(l.msg)), 'an error line naming the file');
    assert.match(String(said.msg), /keeping its last good config/);
    backends[1].healthy = false; // b2
    await servedBy(webPort, ['b3', 'b4'], 'a membership change applied without the file');
    backends[1].healthy = true;
    await servedBy(webPort, ['b2', 'b3', 'b4'], 'and back');
  } finally {
    await writeFile(join(dir, 'balancers/haproxy.yaml'), yaml);
  }
  await writer.waitForLog((l) => /config file of balancer 'haproxy' is back/.test(String(l.msg)), 'the file back');
});

test('HAProxy killed is restarted from the full current config', async () => {
  const before = await proc();
  process.kill(before.masterPid, 'SIGKILL');
  for (const w of before.workers) {
    try {
      process.kill(w, 'SIGKILL');
    } catch {
      /* exited with its master */
    }
  }
  const after = await waitFor(async () => {
    const p = await masterCommand(hap.masterSocket, 'show proc', 500).then(parseShowProc).catch(() => null);
    return p && p.masterPid !== before.masterPid ? p : null;
  }, 'a new HAProxy master', 15_000);
  assert.notEqual(after.masterPid, before.masterPid);
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'web serving after restart');
});
