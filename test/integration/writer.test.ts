/**
 * lighthouse-writer end to end: a real ZooKeeper, the reporter and the writer as their own
 * processes, a real HAProxy started by the writer, and HTTP backends whose health the test
 * switches. Every assertion is about traffic or HAProxy's own view (worker pid, reload count).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { masterCommand, parseShowProc } from '../../src/balancers/haproxy/process.js';

const HOST = 'node1.lighthouse.test';
let zk: ZkServer;
let hap: HaproxyEnv;
let dir: string;
let webPort: number;
let reporter: Daemon;
let writer: Daemon;
const backends: Backend[] = [];

const serviceYaml = (ports: number[]) => `ports: [${ports.join(', ')}]\ndiscovery: zookeeper\nchecks:\n  interval: 0.1\n  http: {uri: /health, rise: 1, fall: 1}\n`;

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
  zk = await startZooKeeper({ tickTime: 200 });
  hap = await haproxyEnv();
  for (const id of ['b1', 'b2', 'b3']) backends.push(await startBackend(id));
  dir = await mkdtemp(join(tmpdir(), 'lh-writer-'));
  for (const d of ['balancers', 'discovery', 'clusters', 'services']) await mkdir(join(dir, d));
  webPort = await freePort();
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  await writeFile(join(dir, 'clusters/web.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${webPort}\n  backend: ["mode http"]\n`);
  await writeFile(join(dir, 'services/web.yaml'), serviceYaml(backends.map((b) => b.port)));
  await writeFile(join(dir, 'http.yaml'), 'port: false\nsocket: false\n');
  await writeFile(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
  const env = { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };
  reporter = startDaemon('lighthouse-reporter', [dir], env);
  writer = startDaemon('lighthouse-writer', [dir], env);
});

after(async () => {
  await writer?.stop('SIGKILL');
  await reporter?.stop('SIGKILL');
  await hap?.cleanup();
  for (const b of backends) await b.close();
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

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

test('a directive HAProxy rejects never replaces the running config', async () => {
  const before = await proc();
  const cfgBefore = await readFile(hap.configFile, 'utf8');
  const badPort = await freePort();
  await writeFile(join(dir, 'clusters/bad.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${badPort}\n  backend: ["balance no_such_algorithm"]\n`);
  const err = await writer.waitForLog((l) => l.level === 50 && /balancer apply failed/.test(String(l.msg)), 'rejection logged', 15_000);
  assert.match(JSON.stringify(err), /no_such_algorithm|balance/i, 'carries HAProxy\'s message');
  assert.equal(await readFile(hap.configFile, 'utf8'), cfgBefore, 'config file on disk unchanged');
  await servedBy(webPort, ['b2', 'b3', 'b4'], 'old config keeps serving');
  assert.deepEqual((await proc()).workers, before.workers);
  await rm(join(dir, 'clusters/bad.yaml'));
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
