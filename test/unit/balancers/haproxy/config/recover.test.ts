/**
 * Reading our own config back (config/sections.ts, recover.ts): what HAProxy served per backend,
 * as nodes that render as they were.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bindAddress, parseSections, sectionAt, sectionBinds, serverLines } from '../../../../../src/balancers/haproxy/config/sections.js';
import { buildModel, clusterSection } from '../../../../../src/balancers/haproxy/config/model.js';
import { addRuntimeRows, recoverFromConfig, recoveredNodes } from '../../../../../src/balancers/haproxy/config/recover.js';
import { createRenderer } from '../../../../../src/balancers/haproxy/config/render.js';
import { ADMIN, runningServer, type ServerStateRow } from '../../../../../src/balancers/haproxy/runtime/parse.js';
import { haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';
import { haproxyName } from '../../../../../src/balancers/haproxy/config/servers.js';
import type { NodeState, ServiceNode } from '../../../../../src/core/node.js';
import type { ClusterModel } from '../../../../../src/core/plugin.js';
import { cluster } from '../../../../helpers/haproxy.js';

const config = haproxySchema.parse({ config_file: '/tmp/lh-rec/haproxy.cfg', socket_file: '/tmp/lh-rec/admin.sock', pid_file: '/tmp/lh-rec/haproxy.pid', meta_clusters: { shop: { port: 8800 } } });
const renderer = createRenderer();
const render = (clusters: ClusterModel[]) => renderer.render(buildModel(config, { clusters }).model);

const n = (host: string, port: number, extra: Partial<ServiceNode> = {}): ServiceNode => ({ name: `${host}:${port}`, host, ip: '10.0.0.1', port, peer: null, metadata: {}, ...extra });

/** every cluster rendered again with the nodes recovered from `text` */
const again = (clusters: ClusterModel[], text: string) => {
  const rec = recoverFromConfig(text);
  return render(clusters.map((c) => ({ ...c, nodes: recoveredNodes(rec.get(haproxyName(c.name))!, clusterSection(c).server_options) })));
};

describe('config sections', () => {
  it('sections, the one holding a line, binds and server lines', () => {
    const text = render([cluster('web', { port: 8000, backend: ['mode http'] }, [n('a.example', 9001, { weight: 3 }), n('b.example', 9002, { state: 'maint' })])]);
    const sections = parseSections(text);
    assert.deepEqual(sections.map((s) => `${s.kind} ${s.name}`), ['global ', 'defaults ', 'frontend web', 'backend web']);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.includes('mode http')) + 1;
    assert.equal(sectionAt(sections, at)?.kind, 'backend');
    assert.deepEqual(sectionBinds(sections[2]), ['127.0.0.1:8000']);
    assert.deepEqual(serverLines(sections[3]).map((s) => [s.name, s.addr, s.port, s.tail]), [
      ['a.example:9001', '10.0.0.1', 9001, 'cookie a.example:9001 weight 3'],
      ['b.example:9002', '10.0.0.1', 9002, 'cookie b.example:9002 disabled'],
    ]);
  });

  it('binds the probe can try, and those it leaves to HAProxy', () => {
    assert.deepEqual(bindAddress(':80'), { host: '', port: 80 });
    assert.deepEqual(bindAddress('*:80'), { host: '', port: 80 });
    assert.deepEqual(bindAddress('ipv4@127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(bindAddress('[::1]:443'), { host: '::1', port: 443 });
    for (const b of ['127.0.0.1:8000-8010', 'unix@/run/x.sock', 'fd@3', 'localhost:80', '127.0.0.1:0', '127.0.0.1:70000']) assert.equal(bindAddress(b), null, b);
    assert.deepEqual(sectionBinds({ kind: 'frontend', name: 'f', from: 1, to: 2, body: ['bind 127.0.0.1:1,127.0.0.1:2 ssl crt x', 'mode http'] }), ['127.0.0.1:1', '127.0.0.1:2']);
  });

  it('a server line no model could have written is not read back', () => {
    const s = { kind: 'backend', name: 'b', from: 1, to: 5, body: ['server a;b 10.0.0.1:80', 'server ok 10.0.0.1:80', 'server z 0.0.0.0:80', 'server p 10.0.0.1:0', 'server h bad_host!:80'] };
    assert.deepEqual(serverLines(s).map((x) => x.name), ['ok']);
  });
});

describe('recovered nodes', () => {
  it('render as they were: weights, maintenance, cookies, options with a weight of their own, peers, a meta cluster', () => {
    const peer = { name: 'node1', ip: '10.0.0.1', port: 1024 };
    const clusters = [
      cluster('web', { port: 8000, backend: ['mode http', 'stick-table type ip size 1k peers web'], server_options: 'check weight 7' }, [n('a.example', 9001, { weight: 3, peer }), n('b.example', 9002, { state: 'maint', peer }), n('c.example', 9003, { peer })]),
      cluster('api', { port: 8001 }, [n('x', 9101), n('y', 9102, { weight: 0 })]),
      cluster('cart', { acl: 'path_beg /cart' }, [n('c1', 9201)], 'shop'),
      cluster('empty', { port: 8002 }, []),
    ];
    const text = render(clusters);
    assert.equal(again(clusters, text), text);
  });

  it('render as they were, for any members (property)', () => {
    const member = fc.record({
      host: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}(\.[a-z]{2,4})?$/),
      port: fc.integer({ min: 1, max: 65535 }),
      weight: fc.option(fc.integer({ min: 0, max: 256 }), { nil: undefined }),
      state: fc.constantFrom<NodeState>('up', 'drain', 'maint'),
      ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '::1'),
    });
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), fc.constantFrom('', 'check', 'check weight 9', 'maxconn 10'), fc.boolean(), (ms, options, http) => {
        const nodes = ms.map((m) => n(m.host, m.port, { ip: m.ip, weight: m.weight, state: m.state }));
        const clusters = [cluster('c', { port: 8000, server_options: options, backend: http ? ['mode http'] : [] }, nodes)];
        const text = render(clusters);
        assert.equal(again(clusters, text), text);
      }),
      { numRuns: 200 },
    );
  });

  it('from the running HAProxy: slots in use, drained and reweighted servers, the file for what it does not force; the entry of a gone node is not a node', () => {
    const clusters = [cluster('web', { port: 8000 }, [n('a', 9001), n('b', 9002, { state: 'maint' }), n('c', 9003, { state: 'maint', weight: 4 }), n('d', 9004)])];
    const rec = recoverFromConfig(render(clusters));
    const row = (name: string, port: number, admin: number, uweight = 1, addr = '10.0.0.1'): ServerStateRow => ({ backend: 'web', backendId: 3, name, id: 1, addr, port, opState: 2, adminState: admin, uweight, iweight: name.startsWith('c:') ? 4 : 1, raw: '' });
    addRuntimeRows(rec, [
      row('a:9001', 9001, ADMIN.FDRAIN, 5),
      row('b:9002', 9002, ADMIN.FMAINT),
      row('c:9003', 9003, ADMIN.CMAINT, 4), // declared disabled, as the file says
      row('gone:9009', 9009, ADMIN.FMAINT),
      row('lh_slot1', 9010, 0, 1, '10.0.0.7'),
      row('lh_slot2', 0, ADMIN.FMAINT | ADMIN.CMAINT, 1, '0.0.0.0'),
    ].map(runningServer));
    const nodes = recoveredNodes(rec.get('web')!, '');
    assert.deepEqual(nodes.map((x) => [x.name, x.ip, x.port, x.weight, x.state]), [
      ['10.0.0.7:9010', '10.0.0.7', 9010, undefined, 'up'],
      ['a:9001', '10.0.0.1', 9001, 5, 'drain'],
      ['b:9002', '10.0.0.1', 9002, undefined, 'maint'],
      ['c:9003', '10.0.0.1', 9003, 4, 'maint'],
      ['d:9004', '10.0.0.1', 9004, undefined, 'up'],
    ]);
  });
});
