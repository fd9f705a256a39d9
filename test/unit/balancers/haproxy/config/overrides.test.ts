/**
 * Overrides (pending clusters with what HAProxy served, rejected ones at their last good
 * version) and Admission (which clusters HAProxy refuses), with a real renderer and model and
 * scripted `haproxy -c` answers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Admission } from '../../../../../src/balancers/haproxy/config/admission.js';
import { HaproxyConfigError } from '../../../../../src/balancers/haproxy/config/check.js';
import { buildModel } from '../../../../../src/balancers/haproxy/config/model.js';
import { Overrides } from '../../../../../src/balancers/haproxy/config/overrides.js';
import { recoverFromConfig } from '../../../../../src/balancers/haproxy/config/recover.js';
import { createRenderer } from '../../../../../src/balancers/haproxy/config/render.js';
import { haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';
import { Builder } from '../../../../../src/balancers/haproxy/config/model-builder.js';
import type { ClusterModel, DesiredState } from '../../../../../src/core/plugin.js';
import { silentLogger } from '../../../../../src/core/logger.js';
import { cluster, freePort, node } from '../../../../helpers/haproxy.js';

const config = haproxySchema.parse({ config_file: '/tmp/lh-ovr/haproxy.cfg', socket_file: '/tmp/lh-ovr/admin.sock', pid_file: '/tmp/lh-ovr/haproxy.pid', meta_clusters: { shop: {} } });
const renderer = createRenderer();
const render = (state: DesiredState) => renderer.render(buildModel(config, state).model);
const names = (s: DesiredState) => s.clusters.map((c) => `${c.name}${c.nodes.length ? `:${c.nodes.map((x) => x.port).join('+')}` : ''}`).join(',');

describe('overrides', () => {
  it('nothing to override: the state passes through, hint and all', () => {
    const o = new Overrides(silentLogger());
    const d: DesiredState = { clusters: [cluster('a', { port: 1 }, [node(10)])], version: 2, changedSince: { version: 1, at: [0] } };
    assert.equal(o.apply(d), d);
  });

  it('pending clusters get the members HAProxy served; one with nothing recovered stays out; heard, they leave the list', () => {
    const o = new Overrides(silentLogger());
    const served = render({ clusters: [cluster('a', { port: 1 }, [node(10), node(11)]), cluster('b', { port: 2 }, [node(20)])] });
    o.recover(recoverFromConfig(served));
    const pa = cluster('a', { port: 1 }, []);
    const pc = cluster('c', { port: 3 }, []);
    const s1 = o.apply({ clusters: [cluster('b', { port: 2 }, [node(21)])], pending: [pa, pc], version: 1 });
    assert.equal(names(s1), 'b:21,a:10+11');
    const s2 = o.apply({ clusters: [cluster('b', { port: 2 }, [node(22)])], pending: [pa, pc], version: 2, changedSince: { version: 1, at: [0] } });
    assert.equal(s2.clusters[1], s1.clusters[1], 'the same model while the pending one is unchanged');
    assert.deepEqual(s2.changedSince, { version: 1, at: [0] }, 'the hint holds: the layout did not change');
    assert.equal(render(s1).includes('server 127.0.0.1:10 127.0.0.1:10'), true);
    const all: DesiredState = { clusters: [cluster('a', { port: 1 }, [node(12)]), cluster('b', { port: 2 }, [node(22)])], version: 3 };
    assert.equal(o.apply(all), all, 'everything heard: passes through');
  });

  it('a rejected cluster: at its last good version with its current members, or left out; tried again when its file changes', () => {
    const lines: { msg: string }[] = [];
    const o = new Overrides(pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }));
    const good = cluster('a', { port: 1, backend: ['balance roundrobin'] }, [node(10)]);
    o.accept({ clusters: [good, cluster('b', { port: 2 }, [])] });
    const bad = { ...cluster('a', { port: 1, backend: ['balance nonsense'] }, [node(10)]), file: 'clusters/a.yml' };
    const fresh = cluster('n', { port: 4, backend: ['mode htp'] }, [node(40)]);
    const b = cluster('b', { port: 2 }, [node(20)]);
    const d1: DesiredState = { clusters: [bad, b, fresh], version: 1 };
    o.reject(d1, new Map([['a', 'balance only supports ...'], ['n', 'unknown proxy mode']]));
    assert.match(lines.find((l) => l.msg.includes("'a'"))!.msg, /clusters\/a\.yml.*last version HAProxy accepted stays in force/);
    assert.match(lines.find((l) => l.msg.includes("'n'"))!.msg, /clusters\/n\.yaml.*not served until the file is fixed/);
    const s1 = o.apply(d1);
    assert.equal(names(s1), 'a:10,b:20');
    assert.deepEqual(s1.clusters[0].balancer, good.balancer, 'a at its good version');
    // a member change of b and of a: positions hold, the hint is remapped past the one left out
    const d2: DesiredState = { clusters: [{ ...bad, nodes: [node(11)] }, b, { ...fresh, nodes: [node(41)] }], version: 2, changedSince: { version: 1, at: [0, 2] } };
    const s2 = o.apply(d2);
    assert.equal(names(s2), 'a:11,b:20');
    assert.deepEqual(s2.changedSince, { version: 1, at: [0] });
    assert.equal(s2.clusters[1], b);
    // n's file fixed: tried again (the hint is dropped: the layout changed)
    const d3: DesiredState = { clusters: [{ ...bad, nodes: [node(11)] }, b, cluster('n', { port: 4 }, [node(41)])], version: 3, changedSince: { version: 2, at: [2] } };
    const s3 = o.apply(d3);
    assert.equal(names(s3), 'a:11,b:20,n:41');
    assert.equal(s3.changedSince, undefined);
    assert.ok(lines.some((l) => /'n' changed since HAProxy rejected it/.test(l.msg)), 'the retry is said');
  });
});

describe('admission', () => {
  const setup = (refuse: (text: string) => string[] | null, cfg = config) => {
    const overrides = new Overrides(silentLogger());
    const builder = new Builder(cfg, renderer, () => {});
    const written: string[] = [];
    let trials = 0;
    const admission = new Admission({
      log: silentLogger(),
      overrides,
      build: (s) => builder.build(s),
      write: async (b) => {
        const alerts = refuse(b.text);
        if (alerts) throw new HaproxyConfigError(config.config_file, alerts);
        written.push(b.text);
      },
      trial: async (s) => (trials++, refuse(renderer.render(buildModel(cfg, s).model)) === null),
      pids: async () => [],
    });
    const admit = async (d: DesiredState) => {
      const state = overrides.apply(d);
      return admission.admit(d, state, builder.build(state));
    };
    return { admit, written, trials: () => trials };
  };

  it('the line HAProxy names maps to its cluster: a backend line, a meta cluster route', async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const cfg = haproxySchema.parse({ ...config, meta_clusters: { shop: { port: p3 } } });
    const { admit, written } = setup((text) => {
      const lines = text.split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l)) + 1;
      const alerts = [];
      if (at(/mode htp/)) alerts.push(`[ALERT]    (1) : config : parsing [${config.config_file}:${at(/mode htp/)}] : unknown proxy mode 'htp'.`);
      if (at(/acl is_cart path_bog/)) alerts.push(`[ALERT]    (1) : config : parsing [${config.config_file}:${at(/acl is_cart/)}] : error detected while parsing ACL 'is_cart'`);
      return alerts.length ? [...alerts, '[ALERT]    (1) : config : Fatal errors found in configuration.'] : null;
    }, cfg);
    const d: DesiredState = {
      clusters: [
        cluster('web', { port: p1 }, [node(10)]),
        cluster('bad', { port: p2, backend: ['mode htp'] }, [node(20)]),
        cluster('cart', { acl: 'path_bog /cart' }, [node(30)], 'shop'),
        cluster('shoes', { acl: 'path_beg /shoes' }, [node(31)], 'shop'),
      ],
    };
    const a = await admit(d);
    assert.equal(names(a.state), 'web:10,shoes:31');
    assert.equal(written.length, 1);
    assert.doesNotMatch(written[0], /mode htp|path_bog/);
    assert.match(written[0], /use_backend shoes if is_shoes/, 'the meta cluster serves its other member');
  });

  it('a refusal that names nothing: the changed clusters are bisected with haproxy -c', async () => {
    const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
    const badOnes = new Set(['c3', 'c7']);
    const { admit, trials } = setup((text) => {
      const inText = [...badOnes].filter((n) => text.includes(`backend ${n}\n`));
      return inText.length ? ['[ALERT]    (1) : config : Fatal errors found in configuration.'] : null;
    });
    const d: DesiredState = { clusters: ports.map((p, i) => cluster(`c${i}`, { port: p }, [node(100 + i)])) };
    const a = await admit(d);
    assert.deepEqual(a.state.clusters.map((c) => c.name), ['c0', 'c1', 'c2', 'c4', 'c5', 'c6', 'c8']);
    assert.ok(trials() <= 12, `a bisection, not one trial per cluster (${trials()})`);
  });

  it('a problem of the balancer config itself (no cluster to leave out) fails as before', async () => {
    const { admit } = setup(() => ['[ALERT]    (1) : config : parsing [/tmp/lh-ovr/haproxy.cfg:3] : unknown keyword in global section']);
    await assert.rejects(admit({ clusters: [cluster('web', { port: await freePort() }, [node(10)])] }), (err: HaproxyConfigError) => err.code === 'LH_ERR_HAPROXY_CONFIG');
  });

  it('a port another process holds: its cluster is left out before anything is written', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const { admit, written } = setup(() => null);
      const clusters: ClusterModel[] = [cluster('web', { port: await freePort() }, [node(10)]), cluster('taken', { port: busy }, [node(20)])];
      const a = await admit({ clusters });
      assert.equal(names(a.state), 'web:10');
      assert.equal(written.length, 1);
      assert.doesNotMatch(written[0], new RegExp(`:${busy}\\b`));
    } finally {
      blocker.close();
    }
  });
});
