/**
 * Hostile znodes against the real thing: a real ZooKeeper, the writer as its own process, the
 * HAProxy it starts. Someone who can write under the discovery path writes the injection
 * payloads of issue 19 (a `program` section running a command, an extra server line, hostile
 * peers, addresses that resolve to nothing) next to a good sibling. What must hold: no injected
 * line in haproxy.cfg (nor in what the membership-only write puts there), no command run, the
 * good sibling keeps serving, one warning names each bad znode, and structural changes of
 * every cluster still go through.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { zkProbe, type ZkProbe } from '../helpers/zk-probe.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, traffic, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { programPayload } from '../helpers/hostile.js';
import { masterCommand, parseShowProc } from '../../src/balancers/haproxy/process/process.js';

const HOST = 'writer1.lighthouse.test';
let zk: ZkServer;
let probe: ZkProbe;
let hap: HaproxyEnv;
let dir: string;
let writer: Daemon;
let marker: string;
let webPort: number;
let good: Backend;
let good2: Backend;
let evil: Backend;

/** a znode as the Python Lighthouse writes it (peer and metadata as JSON strings) */
const znode = (ip: string, port: number, host = 'good.example', peer: Record<string, unknown> | null = { ip: '127.0.0.1', name: host, port: 1024 }) =>
  JSON.stringify({ host, ip, port, metadata: '{}', ...(peer && { peer: JSON.stringify(peer) }) });

async function proc() {
  return waitFor(async () => parseShowProc(await masterCommand(hap.masterSocket, 'show proc', 1000)), 'HAProxy master answers');
}

async function servedBy(port: number, ids: string[], what: string, ms = 15_000) {
  let last = '';
  return waitFor(async () => {
    const t = await traffic(port, 20);
    const seen = [...t.hits.keys()].sort();
    last = `served by [${seen}], ${t.failed} failed`;
    return t.failed === 0 && JSON.stringify(seen) === JSON.stringify([...ids].sort()) ? t : null;
  }, what, ms, () => `; last traffic: ${last}; writer warnings: ${writer.logs.filter((l) => Number(l.level) >= 40).slice(-8).map((l) => String(l.msg)).join(' | ')}`);
}

/** what no haproxy.cfg may ever contain once the payloads are in ZooKeeper */
function assertClean(cfg: string, what: string): void {
  for (const bad of ['program', 'master-worker', 'command', 'evil', '999.1.1.1', 'backup', '6.6.6.6']) {
    assert.equal(cfg.includes(bad), false, `${what}: ${JSON.stringify(bad)} in haproxy.cfg:\n${cfg}`);
  }
  // and HAProxy itself accepts it: a restarted HAProxy can start from it
  execFileSync('haproxy', ['-c', '-q', '-f', hap.configFile], { stdio: 'pipe' });
}

before(async () => {
  zk = await startZooKeeper({ tickTime: 200 });
  probe = await zkProbe(zk.connectString);
  hap = await haproxyEnv();
  good = await startBackend('good');
  good2 = await startBackend('good2');
  evil = await startBackend('evil');
  dir = await mkdtemp(join(tmpdir(), 'lh-hostile-'));
  marker = join(dir, 'PWNED');
  for (const d of ['balancers', 'discovery', 'clusters']) await mkdir(join(dir, d));
  webPort = await freePort();
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  await writeFile(join(dir, 'clusters/web.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${webPort}\n  backend: ["mode http"]\n`);
  await probe.create(`/lh/web/good.example:${good.port}`, znode('127.0.0.1', good.port));
  writer = startDaemon('lighthouse-writer', [dir], { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' });
});

after(async () => {
  await writer?.stop('SIGKILL');
  probe?.close();
  await hap?.cleanup();
  for (const b of [good, good2, evil]) await b?.close();
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('injection payloads are refused, named once each, and the good sibling keeps serving', async () => {
  // the writer's start (a process compiling its TypeScript) is slow on a busy machine
  await servedBy(webPort, ['good'], 'the good sibling serving', 60_000);
  const bad: Record<string, string> = {
    'evil-program:1': znode(programPayload(marker), 1),
    'evil-server:2': znode(`127.0.0.1\n  server evil 127.0.0.1:${evil.port}`, 2),
    'evil-peer-ip:3': znode('127.0.0.1', 3, 'good.example', { ip: `127.0.0.1:1024\n\nprogram pwn\n  command /bin/sh -c "touch ${marker}"\n`, name: 'evil', port: 1024 }),
    'evil-peer-name:4': znode('127.0.0.1', 4, 'good.example', { ip: '127.0.0.1', name: 'evil\n  peer x 6.6.6.6:1', port: 1024 }),
    'evil-unresolvable:5': znode('999.1.1.1', 5),
    'evil-backup:6': znode('127.0.0.1 backup', 6),
    'evil-any:7': znode('0.0.0.0', evil.port),
  };
  for (const [child, data] of Object.entries(bad)) await probe.create(`/lh/web/${child}`, data);
  for (const child of Object.keys(bad)) {
    await writer.waitForLog((l) => l.level === 40 && l.znode === `/lh/web/${child}` && String(l.msg).includes(`znode /lh/web/${child}: `), `a warning naming /lh/web/${child}`);
  }
  await servedBy(webPort, ['good'], 'still only the good sibling');

  // a membership-only change beside them: the file written without `haproxy -c`
  const before = await proc();
  await probe.create(`/lh/web/good2.example:${good2.port}`, znode('127.0.0.1', good2.port, 'good2.example'));
  await servedBy(webPort, ['good', 'good2'], 'a new good member joins');
  await waitFor(async () => (await readFile(hap.configFile, 'utf8')).includes(`127.0.0.1:${good2.port}`), 'the membership-only write on disk');
  assert.equal((await proc()).reloads, before.reloads, 'membership only: no reload');
  assertClean(await readFile(hap.configFile, 'utf8'), 'after the membership-only write');

  for (const child of Object.keys(bad)) {
    const n = writer.logs.filter((l) => l.level === 40 && l.znode === `/lh/web/${child}`).length;
    assert.equal(n, 1, `one warning for ${child}, not one per event`);
  }
  assert.equal(evil.served, 0, 'the injected server never took traffic');
});

test('structural changes still go through (a new cluster reloads), and nothing was ever run', async () => {
  const before = await proc();
  const apiPort = await freePort();
  await probe.create(`/lh/api/good.example:${good.port}`, znode('127.0.0.1', good.port));
  await writeFile(join(dir, 'clusters/api.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${apiPort}\n`);
  await servedBy(apiPort, ['good'], 'the new cluster serving');
  const now = await proc();
  assert.ok(now.reloads > before.reloads, 'reloaded for the new cluster');
  assert.equal(now.failed, 0, 'no failed reload');
  await servedBy(webPort, ['good', 'good2'], 'web unchanged');
  assertClean(await readFile(hap.configFile, 'utf8'), 'after the reload');
  const procText = await masterCommand(hap.masterSocket, 'show proc', 1000);
  assert.doesNotMatch(procText.split('# programs')[1] ?? '', /\d+\s+\S+/, `no program process:\n${procText}`);
  assert.equal(existsSync(marker), false, 'the marker file was never created');
});
