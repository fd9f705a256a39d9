/**
 * One bad cluster never takes down all, on a real HAProxy: a directive argument HAProxy
 * refuses, a port another process holds. The bad cluster is left out and named in the log
 * with HAProxy's reason, the others are applied, and traffic through a good cluster's port
 * never fails meanwhile.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { pino } from 'pino';
import { haproxyBalancer, type HaproxyBalancer } from '../../src/balancers/haproxy/index.js';
import { systemClock } from '../../src/core/clock.js';
import type { ServiceNode } from '../../src/core/node.js';
import { cluster, desired, freePort, haproxyEnv, httpBackend, node, traffic, until, type HaproxyEnv, type HttpBackend, type Traffic } from '../helpers/haproxy.js';

interface Line {
  level: number;
  msg: string;
  cluster?: string;
  reason?: string;
}

function create(env: HaproxyEnv, lines: Line[]): HaproxyBalancer {
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return haproxyBalancer.create(haproxyBalancer.schema.parse(env.raw), { logger, clock: systemClock, configDir: env.dir }) as HaproxyBalancer;
}

/** A port held by another process (a plain listener: no SO_REUSEPORT). */
async function holdPort(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
const portOf = (s: Server) => (s.address() as AddressInfo).port;

/** Requests through `port` without a pause until `until` settles. */
async function during(port: number, until: Promise<unknown>): Promise<Traffic> {
  const sum: Traffic = { hits: new Map(), ok: 0, failed: 0, errors: [] };
  let done = false;
  void until.then(() => (done = true), () => (done = true));
  while (!done) {
    const t = await traffic(port, 8, 4);
    sum.ok += t.ok;
    sum.failed += t.failed;
    sum.errors.push(...t.errors);
  }
  await until;
  return sum;
}

describe('one bad cluster never takes down all', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  let be: HttpBackend[];
  let blocker: Server;
  const lines: Line[] = [];
  const ports: Record<string, number> = {};
  const web = (nodes: ServiceNode[], backend: string[] = []) => cluster('web', { port: ports.web, backend }, nodes);

  before(async () => {
    env = await haproxyEnv();
    be = await Promise.all(['a', 'b', 'c'].map(httpBackend));
    for (const k of ['web', 'good2', 'htp', 'nonsense']) ports[k] = await freePort();
    blocker = await holdPort();
    lb = create(env, lines);
    await lb.apply(desired(web([node(be[0].port), node(be[1].port)])));
  });
  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(be.map((b) => b.close()));
    blocker?.close();
  });

  it('mode htp, balance nonsense and a busy port: each left out and named; a new cluster and a changed one applied; no request fails', async () => {
    const reloads = lb.reloads;
    const state = desired(
      web([node(be[0].port), node(be[1].port)], ['timeout server 9s']),
      cluster('good2', { port: ports.good2 }, [node(be[2].port)]),
      cluster('htp', { port: ports.htp, backend: ['mode htp'] }, [node(be[2].port)]),
      cluster('nonsense', { port: ports.nonsense, backend: ['balance nonsense'] }, [node(be[2].port)]),
      cluster('busy', { port: portOf(blocker) }, [node(be[2].port)]),
    );
    const t = await during(ports.web, lb.apply(state));
    assert.equal(t.failed, 0, `requests failed through web: ${[...new Set(t.errors)].join(', ')}`);
    assert.ok(t.ok > 0, 'requests went through web during the apply');
    const named = (c: string) => lines.find((l) => l.level === 50 && l.cluster === c);
    assert.match(named('htp')?.reason ?? '', /unknown proxy mode 'htp'/);
    assert.match(named('nonsense')?.reason ?? '', /balance only supports/);
    assert.match(named('busy')?.reason ?? '', new RegExp(`port ${portOf(blocker)} is in use by another process`));
    for (const c of ['htp', 'nonsense', 'busy']) assert.match(named(c)!.msg, new RegExp(`clusters/${c}\\.yaml`));
    assert.equal(lb.reloads, reloads + 1, 'one reload, for the good changes');
    const file = readFileSync(env.configFile, 'utf8');
    assert.match(file, /timeout server 9s/, 'the changed cluster is applied');
    assert.doesNotMatch(file, /mode htp|balance nonsense/);
    assert.equal((await traffic(ports.good2, 4)).ok, 4, 'the new cluster serves');
    // membership keeps flowing, without asking HAProxy about the bad ones again
    const checked = lines.length;
    const r = await lb.apply(desired(...state.clusters.map((c) => (c.name === 'web' ? web([node(be[0].port)], ['timeout server 9s']) : c))));
    assert.deepEqual(r, { runtimeCommands: 1, reloaded: false });
    assert.equal(lines.slice(checked).filter((l) => l.level === 50).length, 0, 'nothing said again');
  });

  it('the port freed: the cluster joins once its file changes', async () => {
    const port = await freePort();
    const r = await lb.apply(desired(web([node(be[0].port)], ['timeout server 9s']), cluster('good2', { port: ports.good2 }, [node(be[2].port)]), cluster('busy', { port }, [node(be[2].port)])));
    assert.equal(r.reloaded, true);
    assert.equal((await traffic(port, 4)).ok, 4);
  });
});

describe('one bad cluster at a cold start', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let a: HttpBackend;
  let blocker: Server;
  const lines: Line[] = [];
  const balancers: HaproxyBalancer[] = [];

  before(async () => {
    env = await haproxyEnv();
    a = await httpBackend('a');
    blocker = await holdPort();
  });
  after(async () => {
    for (const b of balancers) await b.stop();
    await balancers[0]?.stopHaproxy();
    await env?.cleanup();
    await a?.close();
    blocker?.close();
  });

  it('no config on disk: the good clusters serve, not only the stats page', async () => {
    const lb = create(env, lines);
    balancers.push(lb);
    const [web, bad] = [await freePort(), await freePort()];
    await lb.apply(desired(cluster('web', { port: web }, [node(a.port)]), cluster('bad', { port: bad, backend: ['mode htp'] }, [node(a.port)])));
    assert.equal((await traffic(web, 4)).ok, 4);
    assert.ok(lines.some((l) => l.level === 50 && l.cluster === 'bad'), 'the bad cluster named in an error line');
  });

  it('started again from the file on disk after another process took one of its ports: HAProxy starts without that frontend', async () => {
    const [web, api] = [await freePort(), await freePort()];
    await balancers[0].apply(desired(cluster('web', { port: web }, [node(a.port)]), cluster('api', { port: api }, [node(a.port)])));
    await balancers[0].stopHaproxy(); // a reboot: HAProxy down
    const taker = createServer();
    await new Promise<void>((r) => taker.listen(api, '127.0.0.1', r)); // another service got there first
    try {
      const lb = create(env, lines);
      balancers.push(lb);
      await lb.start();
      await until(async () => (await traffic(web, 4)).ok === 4, 'web served by the HAProxy started from disk');
      assert.ok(lines.some((l) => l.level === 50 && /frontend api .* left out at start: port \d+ is in use/.test(l.msg)), 'the frontend left out is named');
    } finally {
      taker.close();
    }
  });
});
