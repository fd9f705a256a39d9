import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../../../../../src/balancers/haproxy/config/model.js';
import { createRenderer } from '../../../../../src/balancers/haproxy/config/render.js';
import { haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';
import { Builder, fullModel, ModelCache } from '../../../../../src/balancers/haproxy/config/model-builder.js';
import type { ClusterModel } from '../../../../../src/core/plugin.js';
import type { ServiceNode } from '../../../../../src/core/node.js';
import { cluster, node } from '../../../../helpers/haproxy.js';

const config = haproxySchema.parse({
  config_file: '/tmp/lh-snap/haproxy.cfg',
  socket_file: '/tmp/lh-snap/admin.sock',
  pid_file: '/tmp/lh-snap/haproxy.pid',
  meta_clusters: { webapi: { port: 8888 } },
});

const clusters = (): ClusterModel[] => [
  cluster('web', { port: 8000, backend: ['balance roundrobin'] }, [node(9001), node(9002)]),
  cluster('api', { port: 8001 }, [node(9101)]),
  cluster('widgets', { acl: 'path_beg /w' }, [node(9201)], 'webapi'),
];

describe('incremental models', () => {
  it('equals buildModel, whatever the order of the clusters', () => {
    const cs = clusters();
    const cache = new ModelCache(config);
    assert.deepEqual(fullModel(cache.update({ clusters: cs })), buildModel(config, { clusters: cs }).model);
    const again = [cs[2], cs[0], cs[1]];
    const snap = cache.update({ clusters: again });
    assert.deepEqual(fullModel(snap), buildModel(config, { clusters: again }).model);
    assert.deepEqual(snap.backends.map((b) => b.name), ['api', 'web', 'widgets']);
  });

  it('an untouched cluster keeps its BackendModel; membership keeps the shape; a section change does not', () => {
    const cs = clusters();
    const cache = new ModelCache(config);
    const a = cache.update({ clusters: cs });
    // one cluster's members change (a new ClusterModel and nodes array, as the writer makes)
    const b = cache.update({ clusters: [cs[0], { ...cs[1], nodes: [node(9101), node(9102)] }, cs[2]] });
    assert.equal(b.shape, a.shape, 'structure unchanged: same shape object');
    assert.equal(b.backends[1], a.backends[1], 'web untouched');
    assert.equal(b.backends[2], a.backends[2], 'widgets untouched');
    assert.notEqual(b.backends[0], a.backends[0], 'api rebuilt');
    assert.deepEqual(b.backends[0].servers.map((s) => s.name), ['127.0.0.1:9101', '127.0.0.1:9102']);
    // the same ClusterModel passed again in new objects (a re-read config: equal section, new object)
    const c = cache.update({ clusters: cs.map((x) => ({ ...x, balancer: structuredClone(x.balancer) })) });
    assert.equal(c.shape, b.shape, 'an equal section is no structural change');
    // a directive, a new cluster, a removed one: new shape
    const d = cache.update({ clusters: [cs[0], cluster('api', { port: 8001, backend: ['timeout server 5s'] }, cs[1].nodes), cs[2]] });
    assert.notEqual(d.shape, c.shape);
    const e = cache.update({ clusters: [...cs, cluster('zeta', { port: 8002 }, [])] });
    assert.notEqual(e.shape, d.shape);
    assert.equal(e.backends.length, 4);
    const f = cache.update({ clusters: cs.slice(0, 2) });
    assert.notEqual(f.shape, e.shape);
    assert.deepEqual(fullModel(f), buildModel(config, { clusters: cs.slice(0, 2) }).model);
  });

  it("a member's change rebuilds its server only; any sequence of changes equals buildModel (names that collide included)", () => {
    const cache = new ModelCache(config);
    const n = (name: string, ip: string, weight?: number, peer: ServiceNode['peer'] = null): ServiceNode => ({ name, host: name.split(':')[0], ip, port: 80, peer, metadata: {}, weight });
    // 'a b:80' and 'a_b:80' both sanitize to a_b:80: one of them serves as a_b:80_2
    const pool = ['a b:80', 'a_b:80', 'c:80', 'd:80', 'e:80'];
    let nodes = [n('c:80', '10.0.0.3'), n('d:80', '10.0.0.4')];
    const web = () => cluster('web', { port: 8000, backend: ['mode http'] }, [...nodes].sort((x, y) => (x.name < y.name ? -1 : 1)));
    let prev = cache.update({ clusters: [web()] });
    nodes = [nodes[0], { ...nodes[1], weight: 7 }];
    let snap = cache.update({ clusters: [web()] });
    assert.equal(snap.backends[0].servers[0], prev.backends[0].servers[0], 'an unchanged node keeps its ServerModel');
    assert.equal(snap.backends[0].servers[1].weight, 7);
    let seed = 3;
    const rand = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), (seed >>> 16) % k);
    for (let step = 0; step < 300; step++) {
      const name = pool[rand(pool.length)];
      const at = nodes.findIndex((x) => x.name === name);
      const r = rand(4);
      if (at < 0) nodes = [...nodes, n(name, `10.0.1.${rand(9)}`, undefined, rand(2) ? { name: 'p', ip: '10.9.9.9', port: 1024 } : null)];
      else if (r === 0) nodes = nodes.filter((_, i) => i !== at);
      else if (r === 1) nodes = nodes.map((x, i) => (i === at ? { ...x, weight: rand(5) } : x));
      else if (r === 2) nodes = nodes.map((x, i) => (i === at ? { ...x, ip: rand(2) ? `10.0.2.${rand(9)}` : `host${rand(3)}.example` } : x));
      else nodes = nodes.map((x, i) => (i === at ? { ...x, peer: rand(2) ? { name: `p${rand(3)}`, ip: '10.9.9.8', port: 1024 } : null } : x));
      const cs = [web()];
      prev = snap;
      snap = cache.update({ clusters: cs });
      assert.deepEqual(fullModel(snap), buildModel(config, { clusters: cs }).model, `step ${step}: ${cs[0].nodes.map((x) => x.name).join(',')}`);
    }
  });

  it('a node that comes or goes leaves the other servers their ServerModels (no name suffix in play)', () => {
    const cache = new ModelCache(config);
    const ns = [node(9001), node(9002), node(9004)];
    const web = (nodes: ServiceNode[]) => cluster('web', { port: 8000, backend: ['mode http'] }, nodes);
    const a = cache.update({ clusters: [web(ns)] }).backends[0].servers;
    const added = [ns[0], ns[1], node(9003), ns[2]];
    const b = cache.update({ clusters: [web(added)] }).backends[0].servers;
    assert.deepEqual(b.map((s) => s.name), added.map((x) => x.name));
    assert.ok([0, 1].every((i) => b[i] === a[i]) && b[3] === a[2], 'the others keep their ServerModels');
    const c = cache.update({ clusters: [web([ns[0], added[2], ns[2]])] }).backends[0].servers;
    assert.ok(c[0] === b[0] && c[1] === b[2] && c[2] === b[3], 'after a removal too');
    assert.deepEqual(fullModel(cache.update({ clusters: [web([ns[0], added[2], ns[2]])] })), buildModel(config, { clusters: [web([ns[0], added[2], ns[2]])] }).model);
  });

  it("the writer's hint: only the changed positions are looked at; a hint that does not hold is ignored", () => {
    const cs = clusters();
    const cache = new ModelCache(config);
    const a = cache.update({ clusters: cs, version: 1 });
    assert.equal(a.delta, undefined, 'a first snapshot has nothing to be a delta of');
    const api = { ...cs[1], nodes: [node(9101), node(9102)] };
    const b = cache.update({ clusters: [cs[0], api, cs[2]], version: 2, changedSince: { version: 1, at: [1] } });
    assert.deepEqual(fullModel(b), buildModel(config, { clusters: [cs[0], api, cs[2]] }).model);
    assert.deepEqual(b.delta, { from: a.backends, at: [0] }, 'api (sorted first) changed');
    // positions outside the hint are taken as they were: proof that they were not looked at
    const web = { ...cs[0], nodes: [node(9003)] };
    const c = cache.update({ clusters: [web, api, cs[2]], version: 3, changedSince: { version: 2, at: [] } });
    assert.equal(c.backends[1], b.backends[1], 'web not looked at');
    assert.deepEqual(c.delta, { from: b.backends, at: [] });
    // the same change without a hint, or with a hint about another state: every position
    for (const d of [{ clusters: [web, api, cs[2]], version: 4 }, { clusters: [web, api, cs[2]], version: 4, changedSince: { version: 1, at: [] } }]) {
      const fresh = new ModelCache(config);
      fresh.update({ clusters: [cs[0], api, cs[2]], version: 3 });
      assert.deepEqual(fullModel(fresh.update(d)), buildModel(config, d).model);
    }
    // a hint whose positions hold other clusters: the full way
    const swapped = [cs[2], api, cs[0]];
    const e = cache.update({ clusters: swapped, version: 5, changedSince: { version: 3, at: [0] } });
    assert.deepEqual(fullModel(e), buildModel(config, { clusters: swapped }).model);
  });

  it('Builder: structure rendered once per shape; thin keeps text and structure only', () => {
    const warnings: (readonly string[])[] = [];
    const builder = new Builder(config, createRenderer(), (w) => warnings.push(w));
    const cs = clusters();
    cs[2] = cluster('widgets', {}, [node(9201)], 'webapi'); // no acl: a warning
    const a = builder.build({ clusters: cs });
    const b = builder.build({ clusters: [cs[0], { ...cs[1], nodes: [] }, cs[2]] });
    assert.equal(a.structure, b.structure);
    assert.notEqual(a.text, b.text);
    assert.deepEqual(warnings, [['cluster widgets: member of meta cluster webapi without haproxy.acl: not routed']], 'once per new set of warnings');
    const thin = builder.thin(b);
    assert.deepEqual([thin.text, thin.structure, thin.models.backends], [b.text, b.structure, []]);
  });

  it('a change of server_options or backend lines is structural, even with the same members', () => {
    const builder = new Builder(config, createRenderer(), () => {});
    const web = (section: Record<string, unknown>) => [cluster('web', { port: 8000, ...section }, [node(9001), node(9002)])];
    const base = builder.build({ clusters: web({}) }).structure;
    const opts = builder.build({ clusters: web({ server_options: 'check inter 2s' }) });
    assert.notEqual(opts.structure, base, 'server_options added');
    assert.match(opts.structure, /check inter 2s/);
    assert.notEqual(builder.build({ clusters: web({ server_options: 'check inter 3s' }) }).structure, opts.structure, 'server_options changed');
    assert.notEqual(builder.build({ clusters: web({ backend: ['balance leastconn'] }) }).structure, base, 'backend lines');
    assert.equal(builder.build({ clusters: [cluster('web', { port: 8000 }, [node(9003)])] }).structure, base, 'members only');
  });
});
