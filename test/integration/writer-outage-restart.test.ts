/**
 * Restarts during a ZooKeeper outage, end to end: a real ZooKeeper, the reporter and the writer
 * as their own processes, the HAProxy the writer runs. Until a cluster has been heard from
 * ZooKeeper in a writer process, that writer keeps what HAProxy (or the config on disk) serves
 * for it: traffic on the cluster ports never fails while ZooKeeper is away.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { freePort } from '../helpers/backends.js';
import type { Daemon } from '../helpers/daemon.js';
import { killHaproxy, traffic, type Traffic } from '../helpers/haproxy.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

let s: Stack;
let ports: { web: number; api: number };
// generous timings: the checks are not what this file tests, and a loaded machine must not flap them
const service = (ports: number[]) => `ports: [${ports.join(', ')}]\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  timeout: 1\n  http: {uri: /health, rise: 1, fall: 3}\n`;

/** traffic until both clusters are served by exactly their backends, none failing */
async function converged(what: string): Promise<void> {
  let last = '';
  await waitFor(async () => {
    const [w, a] = [await traffic(ports.web, 20), await traffic(ports.api, 10)];
    last = `web [${[...w.hits.keys()].sort()}] ${w.failed} failed, api [${[...a.hits.keys()].sort()}] ${a.failed} failed`;
    return w.failed === 0 && a.failed === 0 && [...w.hits.keys()].sort().join() === 'w1,w2' && [...a.hits.keys()].join() === 'a1';
  }, what, 60_000, () => `; last: ${last}\nwriter: ${s.writer?.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\nreporter: ${s.reporter?.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`);
}

/** Requests on both cluster ports, without a pause, until `until` settles and `after` more
 * rounds (what follows the event: the writer's first apply, a liveness round) have been sent. */
async function trafficUntil(until: Promise<unknown>, after = 40): Promise<Traffic> {
  const sum: Traffic = { hits: new Map(), ok: 0, failed: 0, errors: [] };
  let done = false;
  void until.finally(() => (done = true));
  let rounds = 0;
  while (!done || rounds++ < after) {
    for (const port of [ports.web, ports.api]) {
      const t = await traffic(port, 6, 2);
      sum.ok += t.ok;
      sum.failed += t.failed;
      sum.errors.push(...t.errors);
      for (const [k, n] of t.hits) sum.hits.set(k, (sum.hits.get(k) ?? 0) + n);
    }
  }
  await until;
  return sum;
}

/** the start-up wait ended without ZooKeeper (the writer applies the state it has) */
const waitOver = (w: Daemon) => w.waitForLog((l) => /no member list yet from 2 clusters/.test(String(l.msg)), 'the start-up wait to end without ZooKeeper', 60_000);

before(async () => {
  s = await startStack(['w1', 'w2', 'a1']);
  ports = { web: await freePort(), api: await freePort() };
  await s.file('clusters/web.yaml', `discovery: zookeeper\nhaproxy:\n  port: ${ports.web}\n  backend: ["mode http"]\n`);
  await s.file('clusters/api.yaml', `discovery: zookeeper\nhaproxy:\n  port: ${ports.api}\n`);
  await s.file('services/web.yaml', service([s.backends[0].port, s.backends[1].port]));
  await s.file('services/api.yaml', service([s.backends[2].port]));
  s.startReporter();
  s.startWriter();
  await converged('both clusters served');
});

after(() => s?.cleanup());

test('a reboot during a ZooKeeper outage: HAProxy starts from the config on disk and keeps every cluster until ZooKeeper is back', async () => {
  assert.equal(await s.writer!.stop(), 0);
  await killHaproxy(s.hap.pidFile, s.hap.masterSocket);
  await s.zk.stopServer();
  const onDisk = await readFile(s.hap.configFile, 'utf8');
  try {
    const w = s.startWriter();
    // HAProxy comes up from the file on disk before the start-up wait ends
    await waitFor(async () => (await traffic(ports.web, 2)).ok === 2, 'HAProxy serving again', 60_000);
    const t = await trafficUntil(waitOver(w));
    assert.equal(t.failed, 0, `requests failed while ZooKeeper was away: ${[...new Set(t.errors)].join(', ')}`);
    assert.deepEqual([...t.hits.keys()].sort(), ['a1', 'w1', 'w2'], 'every member of both clusters served');
    assert.equal(await readFile(s.hap.configFile, 'utf8'), onDisk, 'the file it started from is what it serves');
  } finally {
    await s.zk.startAgain();
  }
  await converged('ZooKeeper back: both clusters served');
});

test('a writer restarted during a ZooKeeper outage (HAProxy running) keeps every cluster', async () => {
  await converged('both clusters served');
  await s.zk.stopServer();
  try {
    const t = await trafficUntil((async () => {
      await s.writer!.stop('SIGKILL'); // a crash, or a restart for an upgrade
      await waitOver(s.startWriter());
    })());
    assert.equal(t.failed, 0, `requests failed while ZooKeeper was away: ${[...new Set(t.errors)].join(', ')}`);
    assert.deepEqual([...t.hits.keys()].sort(), ['a1', 'w1', 'w2'], 'every member of both clusters served');
    assert.match(await readFile(s.hap.configFile, 'utf8'), new RegExp(`server node1\\.lighthouse\\.test:${s.backends[0].port} 127\\.0\\.0\\.1:${s.backends[0].port}`), 'the servers stay in the file');
  } finally {
    await s.zk.startAgain();
  }
  await converged('ZooKeeper back: both clusters served');
});
