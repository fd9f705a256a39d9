/**
 * The Python Lighthouse's HAProxy features on a real HAProxy, with real HTTP backends on
 * loopback: a meta cluster (two ACL-routed clusters behind one port), a fixed proxy, cookie
 * persistence, per-cluster peers with HAProxy started as this node's peer (`-L`), the stats page.
 * The balancer is driven with DesiredState objects, as in haproxy-balancer.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { haproxyBalancer, type HaproxyBalancer } from '../../src/balancers/haproxy/index.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Peer, ServiceNode } from '../../src/core/node.js';
import { cluster, desired, freePort, haproxyEnv, httpBackend, node, until, type HaproxyEnv, type HttpBackend } from '../helpers/haproxy.js';

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
}

/** one GET through HAProxy, a new connection each time */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET :${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** bodies (backend ids) of `n` GETs of `path` */
async function servedBy(port: number, path: string, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const ids = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await get(port, path, headers);
    assert.equal(r.status, 200, `GET ${path}: ${r.status} ${r.body}`);
    ids.add(r.body);
  }
  return [...ids].sort();
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

const LOCAL = 'lh-test-local.example';

describe('HAProxy features of the Python Lighthouse on a real HAProxy', { timeout: 120_000 }, () => {
  let env: HaproxyEnv;
  let lb: HaproxyBalancer;
  const be: Record<string, HttpBackend> = {};
  let metaPort: number;
  let proxyPort: number;
  let webPort: number;
  let peerPort: number;
  let local: Peer;
  let other: Peer;

  const web = (nodes: ServiceNode[]) =>
    cluster('web', { port: webPort, backend: ['mode http', 'balance roundrobin', 'stick-table type ip size 10k peers web'] }, nodes);
  const sprockets = (ids: string[]) =>
    cluster('sprockets', { acl: 'path_beg /sprockets', backend: ['mode http', 'cookie SERVERID insert indirect nocache'] }, ids.map((id) => node(be[id].port)), 'shop');
  const on = (n: ServiceNode, p: Peer): ServiceNode => ({ ...n, peer: p });
  let sprocketIds = ['s1', 's2'];
  const state = (webNodes: ServiceNode[]) =>
    desired(
      cluster('widgets', { acl: 'path_beg /widgets', backend: ['mode http'] }, [node(be.w1.port), node(be.w2.port)], 'shop'),
      sprockets(sprocketIds),
      web(webNodes),
    );

  before(async () => {
    for (const id of ['w1', 'w2', 's1', 's2', 's3', 'a', 'b', 'c', 'partner']) be[id] = await httpBackend(id);
    [metaPort, proxyPort, webPort, peerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    local = { name: LOCAL, ip: '127.0.0.1', port: peerPort };
    other = { name: 'other.example', ip: '127.0.0.2', port: peerPort };
    env = await haproxyEnv({
      peer_name: LOCAL,
      meta_clusters: { shop: { port: metaPort, frontend: ['mode http'] } },
      proxies: { partner: { port: proxyPort, upstreams: [{ host: '127.0.0.1', port: be.partner.port, max_conn: 10 }], options: ['mode http'] } },
    });
    const config = haproxyBalancer.schema.parse(env.raw);
    lb = haproxyBalancer.create(config, { logger: silentLogger(), clock: systemClock, configDir: env.dir }) as HaproxyBalancer;
    await lb.start();
    await lb.apply(state([on(node(be.a.port), local), on(node(be.b.port), local)]));
  });

  after(async () => {
    await lb?.stopHaproxy();
    await env?.cleanup();
    await Promise.all(Object.values(be).map((b) => b.close()));
  });

  it('meta cluster: two ACL-routed clusters behind one port, each path answered by its own backends', async () => {
    assert.deepEqual(await servedBy(metaPort, '/widgets/1', 10), ['w1', 'w2']);
    assert.deepEqual(await servedBy(metaPort, '/sprockets?x=1', 6), ['s1', 's2']);
    const none = await get(metaPort, '/gears');
    assert.equal(none.status, 503, 'no ACL matches and a meta frontend has no default backend');
  });

  it('proxy: traffic on the proxy port reaches its upstream', async () => {
    assert.deepEqual(await servedBy(proxyPort, '/anything', 5), ['partner']);
    // no bind_address: a proxy binds every interface, as the Python Lighthouse's did
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`\\nlisten partner\\n  bind :${proxyPort}\\n  mode http\\n  server 127\\.0\\.0\\.1:${be.partner.port} 127\\.0\\.0\\.1:${be.partner.port} maxconn 10\\n`));
  });

  /** the server a SERVERID cookie sends to, after checking HAProxy set it to the server name */
  async function stickTo(id: string): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const r = await get(metaPort, '/sprockets');
      const cookie = r.setCookie.find((c) => c.startsWith('SERVERID='))?.split(';')[0];
      assert.ok(cookie, `Set-Cookie: ${r.setCookie.join('; ')}`);
      assert.equal(cookie, `SERVERID=127.0.0.1:${be[r.body].port}`, 'the cookie is the server name');
      if (r.body === id) return cookie;
    }
    throw new Error(`no response from ${id} in 20 requests`);
  }

  it('cookie persistence: HAProxy sets the server name as cookie and keeps a client on it', async () => {
    assert.deepEqual(await servedBy(metaPort, '/sprockets', 6), ['s1', 's2'], 'both serve without a cookie');
    const cookie = await stickTo('s2');
    assert.deepEqual(await servedBy(metaPort, '/sprockets', 10, { cookie }), ['s2'], 'sticky');
  });

  it('cookie persistence: a node joining at runtime serves at once and gets its cookie from the reload it asks for', async () => {
    const reloads = lb.reloads;
    sprocketIds = ['s1', 's2', 's3'];
    const plan = lb.plan(state([on(node(be.a.port), local), on(node(be.b.port), local)]));
    const slot = plan.commands.find((c) => c.startsWith('set server sprockets/lh_slot') && c.includes(`port ${be.s3.port}`));
    assert.ok(slot && plan.reload, `placed in a slot through the runtime API first, then a reload: ${JSON.stringify(plan)}`);
    const r = await lb.apply(state([on(node(be.a.port), local), on(node(be.b.port), local)]));
    assert.equal(r.reloaded, true, 'then a reload names it (HAProxy takes no cookie at runtime)');
    assert.equal(lb.reloads, reloads + 1);
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`\\n  server 127\\.0\\.0\\.1:${be.s3.port} 127\\.0\\.0\\.1:${be.s3.port} cookie 127\\.0\\.0\\.1:${be.s3.port}\\n`));
    const cookie = await stickTo('s3');
    assert.deepEqual(await servedBy(metaPort, '/sprockets', 10, { cookie }), ['s3'], 'sticky to the new node');
    const again = await lb.apply(state([on(node(be.a.port), local), on(node(be.b.port), local)]));
    assert.deepEqual(again, { runtimeCommands: 0, reloaded: false }, 'settled: no further reload');
  });

  it('peers: a `peers web` section of the reporters, HAProxy started as the local peer (-L)', async () => {
    const text = readFileSync(env.configFile, 'utf8');
    assert.match(text, new RegExp(`\\npeers web\\n  peer ${LOCAL.replace(/\./g, '\\.')} 127\\.0\\.0\\.1:${peerPort}\\n`));
    const info = await lb.processInfo();
    assert.ok(info, 'show info answers');
    const args = readFileSync(`/proc/${info.masterPid}/cmdline`, 'utf8').split('\0');
    assert.equal(args[args.indexOf('-L') + 1], LOCAL);
    // HAProxy found itself in the section: it listens on the local peer's address
    await until(() => canConnect(peerPort), 'HAProxy listening on the local peer port');
    const [peers] = await lb.runtime.execute(['show peers']);
    assert.match(peers, new RegExp(`id=web [\\s\\S]*id=${LOCAL.replace(/\./g, '\\.')}\\(local`), peers);
  });

  it('peer set changes reload; membership changes with the same peers do not', async () => {
    const reloads = lb.reloads;
    let r = await lb.apply(state([on(node(be.a.port), local), on(node(be.b.port), local), on(node(be.c.port), local)]));
    assert.deepEqual(r, { runtimeCommands: r.runtimeCommands, reloaded: false }, 'a new node of a known peer');
    assert.ok(r.runtimeCommands > 0, 'the new node went through the runtime API');
    r = await lb.apply(state([on(node(be.a.port), local), on(node(be.c.port), local)]));
    assert.equal(r.reloaded, false, 'a node gone, same peer set');
    assert.equal(lb.reloads, reloads);

    r = await lb.apply(state([on(node(be.a.port), local), on(node(be.c.port), other)]));
    assert.equal(r.reloaded, true, 'a new peer is structure');
    assert.equal(lb.reloads, reloads + 1);
    assert.match(readFileSync(env.configFile, 'utf8'), new RegExp(`\\npeers web\\n  peer ${LOCAL.replace(/\./g, '\\.')} 127\\.0\\.0\\.1:${peerPort}\\n  peer other\\.example 127\\.0\\.0\\.2:${peerPort}\\n`));
    assert.deepEqual(await servedBy(webPort, '/', 8), ['a', 'c'], 'serving after the reload');
    const info = await lb.processInfo();
    const args = readFileSync(`/proc/${info!.masterPid}/cmdline`, 'utf8').split('\0');
    assert.equal(args[args.indexOf('-L') + 1], LOCAL, 'the master keeps -L across reloads');
  });

  it('stats page', async () => {
    const r = await get(env.statsPort, '/haproxy');
    assert.equal(r.status, 200);
    assert.match(r.body, /Statistics Report/);
  });
});
