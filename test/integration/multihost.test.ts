/**
 * Several hosts on one machine (network namespaces, scripts/lib/netns.ts): two hosts serve the
 * same port, each with its reporter; a writer here (ZooKeeper on this machine's bridge address)
 * balances across both through its HAProxy. Then one host's network disappears: its session
 * expires, its znode goes, HAProxy stops sending to it and the other keeps serving; when the
 * network comes back, the host joins again. Root only: skipped with the reason otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetwork, netnsUnavailable, type Network } from '../../scripts/lib/netns.js';
import { servingServers, killHaproxy } from '../../scripts/lib/haproxy.js';
import { httpRequest } from '../../scripts/lib/http.js';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait.js';
import { zkProbe, type ZkProbe } from '../helpers/zk-probe.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP = join(ROOT, 'docker/examples/app/server.mjs');
const PORT = 18100; // the same port on both hosts: each has its own address
const unavailable = await netnsUnavailable();
if (unavailable) process.stdout.write(`# multihost tests skipped: ${unavailable}\n`);

describe('several hosts through one writer', { skip: unavailable ?? false }, () => {
  let net: Network;
  let zk: ZkServer;
  let probe: ZkProbe;
  let writer: Daemon;
  let dir: string;
  let frontPort: number;
  const socket = () => join(dir, 'writer/haproxy.sock');
  const served = async () => (await servingServers(socket())).get('webapp') ?? [];
  const logs = () => ['a', 'b'].map((h) => `\n--- reporter on ${h}:\n${readFileSync(join(dir, `reporter-${h}.log`), 'utf8').split('\n').slice(-15).join('\n')}`).join('') + `\n--- writer:\n${writer.raw.slice(-10).join('\n')}`;

  /** `n` requests through the writer's HAProxy: who answered, and what failed */
  async function spread(n: number): Promise<{ by: Map<string, number>; failed: string[] }> {
    const by = new Map<string, number>();
    const failed: string[] = [];
    for (let k = 0; k < n; k++) {
      const r = await httpRequest('127.0.0.1', frontPort, '/').catch((err: Error) => ({ status: 0, body: err.message }));
      const who = /served by (\S+)</.exec(r.body)?.[1];
      if (r.status === 200 && who) by.set(who, (by.get(who) ?? 0) + 1);
      else failed.push(`${r.status} ${r.body.trim()}`);
    }
    return { by, failed };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lh-multihost-'));
    net = await createNetwork({ hosts: [{ name: 'a' }, { name: 'b' }], preferX: 100 + (process.pid % 100) });
    zk = await startZooKeeper({ address: net.gateway });
    probe = await zkProbe(zk.connectString);
    frontPort = await freePort();
    const discovery = `hosts: ["${zk.connectString}"]\npath: /lighthouse/services\nsession_timeout: 2000\n`;
    for (const name of ['a', 'b']) {
      const host = net.host(name);
      const cfg = join(dir, `reporter-${name}`);
      mkdirSync(join(cfg, 'discovery'), { recursive: true });
      mkdirSync(join(cfg, 'services'));
      writeFileSync(join(cfg, 'discovery/zookeeper.yaml'), discovery);
      writeFileSync(join(cfg, 'services/webapp.yaml'), `port: ${PORT}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n    rise: 1\n    fall: 1\n`);
      const log = openSync(join(dir, `reporter-${name}.log`), 'w');
      const env = { ...process.env, APP: 'webapp', CACHE: 'memory', NAME: name, PORTS: String(PORT), LIGHTHOUSE_ADVERTISE_HOST: name, LIGHTHOUSE_ADVERTISE_IP: host.ip };
      host.spawn(process.execPath, [APP], { env, stdio: ['ignore', log, log] });
      host.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/lighthouse-reporter.ts'), cfg], { cwd: ROOT, env, stdio: ['ignore', log, log] });
      closeSync(log);
    }
    const w = join(dir, 'writer');
    mkdirSync(join(w, 'discovery'), { recursive: true });
    mkdirSync(join(w, 'balancers'));
    mkdirSync(join(w, 'clusters'));
    writeFileSync(join(w, 'discovery/zookeeper.yaml'), discovery);
    writeFileSync(join(w, 'balancers/haproxy.yaml'), 'config_file: haproxy.cfg\nsocket_file: haproxy.sock\nbind_address: 127.0.0.1\ndefaults:\n  - "mode http"\n  - "timeout connect 2s"\n  - "timeout client 10s"\n  - "timeout server 10s"\n');
    writeFileSync(join(w, 'clusters/webapp.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${frontPort}\n`);
    writer = startDaemon('lighthouse-writer', [w]);
  });

  after(async () => {
    await writer?.stop();
    if (dir) await killHaproxy(join(dir, 'writer/haproxy.pid'), join(dir, 'writer/haproxy-master.sock'));
    probe?.close();
    await net?.teardown();
    await zk?.stop();
    if (dir && !process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  });

  test('two hosts serve the same port: HAProxy holds both addresses and traffic reaches both', async () => {
    const both = [`${net.host('a').ip}:${PORT}`, `${net.host('b').ip}:${PORT}`];
    await waitFor(async () => (await served()).join() === both.join(), `HAProxy serving ${both.join(', ')}`, 60_000, logs);
    const { by, failed } = await spread(20);
    assert.deepEqual(failed, [], 'no request failed');
    assert.deepEqual([...by.keys()].sort(), [`a:${PORT}`, `b:${PORT}`], 'both hosts answered');
  });

  test('a host whose network disappears leaves (its znode expires); the other keeps serving; it rejoins', async () => {
    const a = net.host('a');
    const b = `${net.host('b').ip}:${PORT}`;
    await waitFor(async () => (await served()).length === 2, 'both hosts served before the cut', 60_000, logs);
    await a.linkDown();
    await waitFor(async () => (await probe.children('/lighthouse/services/webapp')).join() === `b:${PORT}`, `a's znode gone, b's kept`, 30_000, logs);
    await waitFor(async () => (await served()).join() === b, `HAProxy serving only ${b}`, 15_000, logs);
    const { by, failed } = await spread(20);
    assert.deepEqual(failed, [], 'no request failed once a left');
    assert.deepEqual([...by.keys()], [`b:${PORT}`], 'only b answered');

    await a.linkUp();
    await waitFor(async () => (await served()).length === 2, 'a serving again after its network came back', 60_000, logs);
  });
});
