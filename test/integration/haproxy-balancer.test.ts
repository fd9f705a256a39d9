/**
 * The HAProxy balancer against a real HAProxy (no ZooKeeper: apply() is driven with
 * DesiredState objects). Traffic is real HTTP through HAProxy to small loopback backends.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { haproxyBalancer, type HaproxyBalancer } from '../../src/balancers/haproxy/index.js';
import { adminMode, parseServersState } from '../../src/balancers/haproxy/runtime/parse.js';
import { masterCommand } from '../../src/balancers/haproxy/process/process.js';
import { systemClock } from '../../src/core/clock.js';
import { LighthouseError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { pino, type Logger } from 'pino';
import type { ServiceNode } from '../../src/core/node.js';
import { cluster, desired, freePort, haproxyEnv, httpBackend, node, traffic, until, type HaproxyEnv, type HttpBackend } from '../helpers/haproxy.js';

function create(env: HaproxyEnv, extra: Record<string, unknown> = {}, logger: Logger = silentLogger()): HaproxyBalancer {
  const config = haproxyBalancer.schema.parse({ ...env.raw, ...extra });
  return haproxyBalancer.create(config, { logger, clock: systemClock, configDir: env.dir }) as HaproxyBalancer;
}

async function backends(ids: string[]): Promise<Record<string, HttpBackend>> {
  const list = await Promise.all(ids.map(httpBackend));
  return Object.fromEntries(list.map((b) => [b.id, b]));
}

/** Hits by backend id as a plain object, asserting no request failed. */
async function hits(port: number, n: number): Promise<Record<string, number>> {
  const t = await traffic(port, n);
  assert.equal(t.failed, 0, `failed requests: ${t.errors.slice(0, 5).join(', ')}`);
  return Object.fromEntries(t.hits);
}

describe('haproxy balancer on a real HAProxy', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let be: Record<string, HttpBackend>;
  let webPort: number;
  let apiPort: number;
  const logs: { level: number; msg: string; cluster?: string; reason?: string }[] = [];
  const web = (nodes: ServiceNode[], backend: string[] = []) => cluster('web', { port: webPort, backend: ['balance roundrobin', ...backend] }, nodes);

  before(async () => {
    env = await haproxyEnv();
    be = await backends(['a', 'b', 'c', 'd', 'e']);
    [webPort, apiPort] = [await freePort(), await freePort()];
    lb = create(env, {}, pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) }));
    await lb.start();
    const r = await lb.apply(desired(web([node(be.a.port), node(be.b.port), node(be.c.port)])));
    assert.equal(r.reloaded, true, 'a new cluster is a structural change');
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(Object.values(be ?? {}).map((b) => b.close()));
  });

  it('renders option idle-close-on-response in mode http defaults (HAProxy >= 2.6)', () => {
    assert.match(readFileSync(env.configFile, 'utf8'), /^defaults\n(  .*\n)*  option idle-close-on-response\n/m);
  });

  it('sends traffic to every backend', async () => {
    assert.deepEqual(await hits(webPort, 30), { a: 10, b: 10, c: 10 });
    const stat = await lb.runtime.showStat();
    assert.deepEqual(stat.filter((r) => r.pxname === 'web' && r.svname.startsWith('127.')).map((r) => r.status), ['no check', 'no check', 'no check']);
    assert.match((await lb.runtime.showInfo()).Version, /^2\./);
  });

  it('removes a node through the runtime API: no reload, same worker, file updated', async () => {
    const worker = lb.workerPid;
    const reloads = lb.reloads;
    const r = await lb.apply(desired(web([node(be.a.port), node(be.c.port)])));
    assert.deepEqual(r, { runtimeCommands: 1, reloaded: false });
    assert.deepEqual([...lb.lastCommands], [`set server web/127.0.0.1:${be.b.port} state maint`]);
    assert.equal(lb.workerPid, worker);
    assert.equal(lb.reloads, reloads);
    assert.deepEqual(await hits(webPort, 20), { a: 10, c: 10 });
    await lb.flush();
    const file = readFileSync(env.configFile, 'utf8');
    assert.doesNotMatch(file, new RegExp(`:${be.b.port}`));
    assert.match(file, new RegExp(`server 127.0.0.1:${be.c.port} 127.0.0.1:${be.c.port}`));
  });

  it('adds a node the running config does not name into a free slot: no reload', async () => {
    const worker = lb.workerPid;
    const r = await lb.apply(desired(web([node(be.a.port), node(be.c.port), node(be.d.port)])));
    assert.equal(r.reloaded, false);
    assert.deepEqual([...lb.lastCommands], [`set server web/lh_slot1 addr 127.0.0.1 port ${be.d.port}`, 'set server web/lh_slot1 state ready']);
    assert.equal(lb.workerPid, worker);
    assert.deepEqual(await hits(webPort, 30), { a: 10, c: 10, d: 10 });
    await lb.flush();
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`server 127.0.0.1:${be.d.port} 127.0.0.1:${be.d.port}`), 'the file names it for the next reload');
  });

  it('changes weights through the runtime API', async () => {
    const worker = lb.workerPid;
    let r = await lb.apply(desired(web([node(be.a.port), node(be.c.port, { weight: 3 }), node(be.d.port, { weight: 0 })])));
    assert.equal(r.reloaded, false);
    assert.equal(r.runtimeCommands, 2);
    const h = await hits(webPort, 40);
    assert.equal(h.d, undefined, 'weight 0 takes no new traffic');
    assert.equal(h.a + h.c, 40);
    assert.equal(h.c, 3 * h.a);
    r = await lb.apply(desired(web([node(be.a.port), node(be.c.port), node(be.d.port)])));
    assert.equal(r.runtimeCommands, 2, 'back to the configured weight');
    assert.deepEqual(await hits(webPort, 30), { a: 10, c: 10, d: 10 });
    assert.equal(lb.workerPid, worker);
  });

  it('a new cluster is exactly one reload, and its port serves', async () => {
    const worker = lb.workerPid;
    const reloads = lb.reloads;
    const masterReloads = (await lb.processInfo())!.reloads;
    const r = await lb.apply(desired(web([node(be.a.port), node(be.c.port), node(be.d.port)]), cluster('api', { port: apiPort }, [node(be.e.port)])));
    assert.equal(r.reloaded, true);
    assert.equal(lb.reloads, reloads + 1);
    assert.equal((await lb.processInfo())!.reloads, masterReloads + 1);
    assert.notEqual(lb.workerPid, worker);
    assert.deepEqual(await hits(apiPort, 5), { e: 5 });
    assert.deepEqual(await hits(webPort, 30), { a: 10, c: 10, d: 10 });
  });

  it('a directive HAProxy rejects keeps that cluster at its last good version, named in the log; the others apply', async () => {
    const before = readFileSync(env.configFile, 'utf8');
    const reloads = lb.reloads;
    const extraPort = await freePort();
    // a known keyword with a bad argument: the schema checks keywords only, HAProxy the rest.
    // In the same state a new cluster arrives: it is applied.
    const bad = desired(web([node(be.a.port), node(be.c.port), node(be.d.port)]), cluster('api', { port: apiPort, backend: ['hash-type bogus_method'] }, [node(be.e.port), node(be.b.port)]), cluster('extra', { port: extraPort }, [node(be.b.port)]));
    const r = await lb.apply(bad);
    assert.equal(r.reloaded, true, 'the new cluster is a reload');
    assert.equal(lb.reloads, reloads + 1);
    const said = logs.filter((l) => l.level === 50 && l.cluster === 'api');
    assert.equal(said.length, 1, 'the cluster is named once');
    assert.match(said[0].msg, /clusters\/api\.yaml/, 'with its file');
    assert.match(said[0].reason!, /'hash-type' only supports 'consistent' and 'map-based'/, "with HAProxy's reason");
    assert.match(said[0].msg, /last version HAProxy accepted stays in force/);
    const file = readFileSync(env.configFile, 'utf8');
    assert.doesNotMatch(file, /bogus_method/);
    assert.notEqual(file, before);
    assert.deepEqual(await hits(extraPort, 4), { b: 4 }, 'the new cluster serves');
    assert.deepEqual(await hits(apiPort, 4), { b: 2, e: 2 }, 'the rejected one serves its last good version, with its current members');
    assert.deepEqual(await hits(webPort, 30), { a: 10, c: 10, d: 10 });
    // the next membership change applies at once, without asking HAProxy again
    assert.deepEqual(await lb.apply(desired(web([node(be.a.port), node(be.c.port), node(be.d.port)]), cluster('api', { port: apiPort, backend: ['hash-type bogus_method'] }, [node(be.e.port)]), cluster('extra', { port: extraPort }, [node(be.b.port)]))), { runtimeCommands: 1, reloaded: false });
    assert.deepEqual(await hits(apiPort, 4), { e: 4 });
    // fixed (here: back to what it was): tried again
    await lb.apply(desired(web([node(be.a.port), node(be.c.port), node(be.d.port)]), cluster('api', { port: apiPort }, [node(be.e.port)])));
    assert.deepEqual(await hits(apiPort, 4), { e: 4 });
  });

  it('keeps every server and its state across a structural reload', async () => {
    const api = cluster('api', { port: apiPort }, [node(be.e.port)]);
    // membership only: d leaves, b comes back (a slot), c drains, a goes to maintenance
    const members = [node(be.a.port, { state: 'maint' }), node(be.b.port), node(be.c.port, { state: 'drain' })];
    let r = await lb.apply(desired(web(members), api));
    assert.equal(r.reloaded, false);
    assert.deepEqual(await hits(webPort, 10), { b: 10 });
    // structural: a new backend directive
    const reloads = lb.reloads;
    r = await lb.apply(desired(web(members, ['timeout server 9s']), api));
    assert.equal(r.reloaded, true);
    assert.equal(lb.reloads, reloads + 1);
    const rows = (await lb.runtime.showServersState('web')).rows;
    const named = rows.filter((x) => !x.name.startsWith('lh_slot'));
    assert.deepEqual(Object.fromEntries(named.map((x) => [x.name, adminMode(x.adminState)])), {
      [`127.0.0.1:${be.a.port}`]: 'maint',
      [`127.0.0.1:${be.b.port}`]: 'up',
      [`127.0.0.1:${be.c.port}`]: 'drain',
    });
    assert.ok(rows.filter((x) => x.name.startsWith('lh_slot')).every((x) => adminMode(x.adminState) === 'maint'), 'slots start free');
    // the state file carried the servers the new config names at the same address, never a slot
    const saved = parseServersState(readFileSync(join(env.dir, 'haproxy-server-state'), 'utf8')).rows;
    assert.ok(saved.every((x) => !x.name.startsWith('lh_slot')), 'the state file holds no slot');
    assert.deepEqual(Object.fromEntries(saved.filter((x) => x.backend === 'web').map((x) => [x.name, adminMode(x.adminState)])), {
      [`127.0.0.1:${be.a.port}`]: 'maint',
      [`127.0.0.1:${be.c.port}`]: 'drain',
    });
    assert.deepEqual(await hits(webPort, 10), { b: 10 });
    const r2 = await lb.apply(desired(web([node(be.a.port), node(be.b.port), node(be.c.port)], ['timeout server 9s']), api));
    assert.equal(r2.reloaded, false);
    assert.deepEqual(await hits(webPort, 30), { a: 10, b: 10, c: 10 });
  });

  it('drops no request while members change and HAProxy reloads', async () => {
    const api = cluster('api', { port: apiPort }, [node(be.e.port)]);
    const load = traffic(webPort, 600, 4);
    const sets = [[be.a], [be.a, be.b], [be.b, be.c, be.d], [be.c], [be.a, be.b, be.c, be.d]];
    for (let i = 0; i < 10; i++) {
      const members = sets[i % sets.length].map((b) => node(b.port));
      await lb.apply(desired(web(members, i % 3 === 2 ? [`timeout server ${10 + i}s`] : ['timeout server 9s']), api));
    }
    const t = await load;
    assert.equal(t.failed, 0, `failed: ${t.errors.slice(0, 5).join(', ')}`);
    assert.equal(t.ok, 600);
  });
});

describe('haproxy balancer: process lifecycle', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let be: Record<string, HttpBackend>;
  let port: number;
  const balancers: HaproxyBalancer[] = [];
  const state = () => desired(cluster('web', { port }, [node(be.a.port), node(be.b.port)]));

  before(async () => {
    env = await haproxyEnv();
    be = await backends(['a', 'b']);
    port = await freePort();
  });
  after(async () => {
    for (const b of balancers) await b.stop();
    await balancers[0]?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(Object.values(be ?? {}).map((b) => b.close()));
  });

  it('restarts a killed HAProxy from the full current config (liveness check)', async () => {
    const lb = create(env);
    balancers.push(lb);
    await lb.apply(state());
    assert.deepEqual(await hits(port, 10), { a: 5, b: 5 });
    const master = Number(readFileSync(env.pidFile, 'utf8'));
    const worker = lb.workerPid;
    process.kill(master, 'SIGKILL');
    // no apply: the liveness timer (liveness_interval 0.2 s here) notices and starts it again
    await until(() => Number(readFileSync(env.pidFile, 'utf8')) !== master && lb.workerPid !== worker, 'a new HAProxy');
    await until(async () => (await traffic(port, 4)).ok === 4, 'traffic through the new HAProxy');
    assert.deepEqual(await hits(port, 10), { a: 5, b: 5 });
  });

  it('notices a reload done by someone else and converges the new worker', async () => {
    const lb = balancers[0];
    const two = state();
    await lb.apply(desired(cluster('web', { port }, [node(be.a.port)])));
    await lb.apply(two); // b now lives in a slot of this worker only
    const worker = lb.workerPid;
    const reloads = lb.reloads;
    await masterCommand(env.masterSocket, 'reload'); // an operator, behind our back
    await until(() => lb.workerPid !== worker, 'the balancer to notice the new worker');
    assert.equal(lb.reloads, reloads, 'no reload of our own');
    assert.deepEqual(await hits(port, 10), { a: 5, b: 5 });
    assert.deepEqual(await lb.apply(two), { runtimeCommands: 0, reloaded: false });
  });

  it('stop() leaves HAProxy serving; a new balancer adopts it and reloads once', async () => {
    await balancers[0].stop();
    assert.deepEqual(await hits(port, 10), { a: 5, b: 5 });
    const master = Number(readFileSync(env.pidFile, 'utf8'));
    const lb = create(env);
    balancers.push(lb);
    await lb.start();
    assert.equal(Number(readFileSync(env.pidFile, 'utf8')), master, 'adopted, not restarted');
    const r = await lb.apply(state());
    assert.equal(r.reloaded, true, 'the running structure is unknown after adoption');
    assert.equal((await lb.apply(desired(cluster('web', { port }, [node(be.a.port)])))).reloaded, false);
    assert.deepEqual(await hits(port, 10), { a: 10 });
  });

  it('out of free slots: a gone node\'s entry, then `add server`; a static algorithm reloads', async () => {
    const lb = balancers[1];
    await lb.stop();
    const tight = create(env, { slots: { min: 1, ratio: 0 } });
    balancers.push(tight);
    const [c, d] = [await httpBackend('c'), await httpBackend('d')];
    const web = (nodes: HttpBackend[], backend: string[] = []) => desired(cluster('web', { port, backend }, nodes.map((b) => node(b.port))));
    try {
      await tight.apply(web([be.a]));
      const [worker, reloads] = [tight.workerPid, tight.reloads];
      let r = await tight.apply(web([be.a, be.b, c]));
      assert.deepEqual(r, { runtimeCommands: 4, reloaded: false }, 'one of b, c takes the slot (addr, ready), the other is added (add, ready)');
      const rows = async () => (await tight.runtime.showServersState('web')).rows.map((x) => `${x.name}=${x.port}`);
      const added = (await rows()).filter((x) => !x.startsWith('lh_slot') && x !== `127.0.0.1:${be.a.port}=${be.a.port}`);
      assert.ok(added.length === 1 && [be.b.port, c.port].some((p) => added[0] === `127.0.0.1:${p}=${p}`), `one of b, c added under its own name: ${added}`);
      assert.deepEqual(await hits(port, 30), { a: 10, b: 10, c: 10 });
      r = await tight.apply(web([be.b, c, d])); // a replaced by d: d takes a's entry
      assert.equal(r.reloaded, false);
      assert.ok((await rows()).includes(`127.0.0.1:${be.a.port}=${d.port}`), 'on the entry named after a');
      assert.deepEqual(await hits(port, 30), { b: 10, c: 10, d: 10 });
      assert.deepEqual([tight.workerPid, tight.reloads], [worker, reloads]);
      await tight.flush();
      const file = readFileSync(env.configFile, 'utf8');
      for (const p of [be.b.port, c.port, d.port]) assert.match(file, new RegExp(`server 127.0.0.1:${p} 127.0.0.1:${p}`), 'the file names every server');

      await tight.apply(web([be.a], ['balance static-rr']));
      const before = tight.reloads;
      r = await tight.apply(web([be.a, be.b, c], ['balance static-rr']));
      assert.equal(r.reloaded, true, 'static-rr takes no dynamic servers');
      assert.equal(tight.reloads, before + 1);
      assert.deepEqual(await hits(port, 30), { a: 10, b: 10, c: 10 });

      // a keyword HAProxy refuses for dynamic servers: the refused `add server` becomes a reload
      const ck = (nodes: HttpBackend[]) => desired(cluster('web', { port, server_options: 'cookie same' }, nodes.map((b) => node(b.port))));
      await tight.apply(ck([be.a]));
      const n = tight.reloads;
      r = await tight.apply(ck([be.a, be.b, c]));
      assert.equal(r.reloaded, true, "'cookie' is refused for a dynamic server");
      assert.equal(tight.reloads, n + 1);
      assert.deepEqual(await hits(port, 30), { a: 10, b: 10, c: 10 });
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });
});

describe('haproxy balancer: a config that passes haproxy -c but cannot start', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let a: HttpBackend;
  let blocker: Server;

  before(async () => {
    env = await haproxyEnv();
    a = await httpBackend('a');
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    lb = create(env);
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await a?.close();
    blocker?.close();
  });

  it('a failed reload rejects the apply and the old worker keeps serving; a restart falls back to the last config that ran', async () => {
    const port = await freePort();
    const busy = (blocker.address() as AddressInfo).port;
    await lb.apply(desired(cluster('web', { port }, [node(a.port)])));
    const worker = lb.workerPid;
    const good = readFileSync(env.configFile, 'utf8');
    // a port range: the probe before the reload cannot try it, only HAProxy's bind can
    const api = cluster('api', { port: await freePort(), frontend: [`bind 127.0.0.1:${busy}-${busy}`] }, [node(a.port)]);
    const bad = desired(cluster('web', { port }, [node(a.port)]), api);
    await assert.rejects(lb.apply(bad), (err: LighthouseError) => err.code === 'LH_ERR_HAPROXY_PROCESS' && /reload failed/.test(err.message));
    assert.equal(lb.workerPid, worker);
    assert.deepEqual(await hits(port, 4), { a: 4 });
    assert.deepEqual(await lb.apply(bad), { runtimeCommands: 0, reloaded: false }, 'tried again: the cluster that came with the failed reload is left out');

    process.kill(Number(readFileSync(env.pidFile, 'utf8')), 'SIGKILL');
    await until(async () => lb.workerPid !== worker && (await traffic(port, 2)).ok === 2, 'HAProxy started again with the last good config', 20_000);
    assert.equal(readFileSync(env.configFile, 'utf8'), good);
    assert.deepEqual(await hits(port, 4), { a: 4 });
  });
});

describe('haproxy balancer: server_options reach slot servers', { timeout: 60_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let x: HttpBackend;

  before(async () => {
    env = await haproxyEnv();
    x = await httpBackend('x');
    lb = create(env);
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await x?.close();
  });

  it('a node that joins through a slot is health-checked at its own address', async () => {
    const port = await freePort();
    const dead = await freePort(); // nothing listens there
    const chk = (nodes: ServiceNode[]) => cluster('chk', { port, server_options: 'check inter 100ms fall 1 rise 1' }, nodes);
    await lb.apply(desired(chk([node(x.port)])));
    const r = await lb.apply(desired(chk([node(x.port), node(dead)])));
    assert.equal(r.reloaded, false);
    assert.deepEqual([...lb.lastCommands], [`set server chk/lh_slot1 addr 127.0.0.1 port ${dead}`, 'set server chk/lh_slot1 state ready']);
    await until(async () => (await lb.runtime.showStat()).find((s) => s.pxname === 'chk' && s.svname === 'lh_slot1')?.status === 'DOWN', 'the check to mark the dead node DOWN');
    assert.deepEqual(await hits(port, 6), { x: 6 });
  });

  it('a change of server_options alone is applied: one reload, the new options in force', async () => {
    const port = await freePort();
    const opts = (o: string) => desired(cluster('opt', { port, server_options: o }, [node(x.port)]));
    await lb.apply(opts('check inter 100ms'));
    const reloads = lb.reloads;
    const r = await lb.apply(opts('weight 7'));
    assert.equal(r.reloaded, true, 'server_options are structure');
    assert.equal(lb.reloads, reloads + 1);
    const row = (await lb.runtime.showStat()).find((s) => s.pxname === 'opt' && s.svname === `127.0.0.1:${x.port}`);
    assert.deepEqual([row?.status, row?.weight], ['no check', '7']);
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`server 127.0.0.1:${x.port} 127.0.0.1:${x.port} weight 7\\b`));
    assert.deepEqual(await hits(port, 4), { x: 4 });
  });
});

describe('haproxy balancer: the runtime update is logged after apply answers', { timeout: 60_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let x: HttpBackend;
  const lines: { msg: string; commands?: number }[] = [];

  before(async () => {
    env = await haproxyEnv();
    x = await httpBackend('x');
    lb = create(env, {}, pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }));
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await x?.close();
  });

  it('a membership change resolves before its log line, which follows on the next turn', async () => {
    const port = await freePort();
    const dead = await freePort();
    const c = (nodes: ServiceNode[]) => desired(cluster('logged', { port }, nodes));
    await lb.apply(c([node(x.port)]));
    const updated = () => lines.filter((l) => l.msg === 'servers updated via runtime API');
    const before = updated().length;
    const r = await lb.apply(c([node(x.port), node(dead)]));
    assert.equal(r.reloaded, false, 'membership only');
    assert.equal(updated().length, before, 'no log line on the path of the change');
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(updated().length, before + 1, 'the line is written right after');
    assert.equal(updated().at(-1)?.commands, r.runtimeCommands);
  });
});

describe('haproxy balancer: which config writes run haproxy -c', { timeout: 60_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let be: Record<string, HttpBackend>;
  let port: number;
  let log: string;
  /** `haproxy -c` runs so far, by the wrapper's log */
  const checks = () => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('-c ')).length;
  const web = (nodes: ServiceNode[]) => cluster('web', { port }, nodes);

  before(async () => {
    env = await haproxyEnv();
    be = await backends(['a', 'b', 'c']);
    port = await freePort();
    // the real HAProxy behind a wrapper that notes every invocation's arguments
    log = join(env.dir, 'invocations.log');
    const bin = join(env.dir, 'haproxy-wrapper');
    writeFileSync(log, '');
    writeFileSync(bin, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${process.env.HAPROXY_BIN ?? 'haproxy'} "$@"\n`, { mode: 0o755 });
    lb = create(env, { haproxy_bin: bin });
    await lb.apply(desired(web([node(be.a.port)])));
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(Object.values(be ?? {}).map((b) => b.close()));
  });

  it('a membership-only write of IP servers skips it (the structure passed it); a structural one runs it', async () => {
    const n = checks();
    assert.ok(n >= 1, 'the first config was checked');
    const r = await lb.apply(desired(web([node(be.a.port), node(be.b.port)])));
    assert.equal(r.reloaded, false);
    await lb.flush();
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`server 127\\.0\\.0\\.1:${be.b.port} `), 'the file names the new server');
    assert.equal(checks(), n, 'no haproxy -c for it');
    assert.deepEqual(await hits(port, 4), { a: 2, b: 2 });

    const s = await lb.apply(desired(cluster('web', { port, backend: ['balance leastconn'] }, [node(be.a.port), node(be.b.port)])));
    assert.equal(s.reloaded, true);
    assert.equal(checks(), n + 1, 'a new structure is checked before it is put in place');
  });

  it('a membership write naming a host name runs it (the name may not resolve)', async () => {
    const lines = ['balance leastconn'];
    const r = await lb.apply(desired(cluster('web', { port, backend: lines }, [node(be.a.port), node(be.b.port), node(be.c.port, { host: 'localhost' })])));
    assert.equal(r.reloaded, true, 'a host name has no runtime entry: a reload');
    const n = checks();
    const m = await lb.apply(desired(cluster('web', { port, backend: lines }, [node(be.a.port), node(be.c.port, { host: 'localhost' })])));
    assert.equal(m.reloaded, false);
    await lb.flush();
    assert.equal(checks(), n + 1, 'checked');
  });
});

describe('haproxy balancer: the admin socket file deleted', { timeout: 60_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let be: Record<string, HttpBackend>;
  let port: number;
  let other: number;
  const state = (nodes: HttpBackend[]) => desired(cluster('web', { port }, nodes.map((b) => node(b.port))), cluster('other', { port: other }, [node(be.a.port)]));

  before(async () => {
    env = await haproxyEnv({ liveness_interval: 0 }); // no timer: the apply must notice
    be = await backends(['a', 'b']);
    [port, other] = [await freePort(), await freePort()];
    lb = create(env);
    await lb.apply(state([be.a]));
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(Object.values(be ?? {}).map((b) => b.close()));
  });

  it('a membership change after the socket file is deleted is applied: the socket is re-created, no request fails', async () => {
    assert.deepEqual(await hits(port, 4), { a: 4 });
    lb.runtime.close(); // the next command connects anew, as after HAProxy's idle timeout
    rmSync(env.socketFile);
    const load = traffic(other, 300, 2);
    const r = await lb.apply(state([be.a, be.b]));
    assert.equal(r.runtimeCommands, 2);
    assert.ok(existsSync(env.socketFile), 'the socket file is back');
    assert.deepEqual(await hits(port, 10), { a: 5, b: 5 });
    const t = await load;
    assert.equal(t.failed, 0, `requests failed on another cluster: ${t.errors.slice(0, 3).join(', ')}`);
    assert.equal((await lb.apply(state([be.b]))).runtimeCommands, 1, 'and the runtime API works on');
    assert.deepEqual(await hits(port, 4), { b: 4 });
  });
});
