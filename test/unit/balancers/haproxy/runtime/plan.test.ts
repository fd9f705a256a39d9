import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowsAddServer, planBackend, planChangedServers, planRuntime } from '../../../../../src/balancers/haproxy/runtime/plan.js';
import { serverModels, type BackendModel } from '../../../../../src/balancers/haproxy/config/model.js';
import type { NodeState } from '../../../../../src/core/node.js';
import type { ServerStateRow } from '../../../../../src/balancers/haproxy/runtime/parse.js';
import type { ServiceNode } from '../../../../../src/core/node.js';
import { node } from '../../../../helpers/haproxy.js';

let id = 0;
function row(name: string, addr: string, port: number, adminState = 0, uweight = 1, iweight = 1): ServerStateRow {
  return { backend: 'web', backendId: 3, name, id: ++id, addr, port, opState: adminState & 1 ? 0 : 2, adminState, uweight, iweight, raw: '' };
}
const named = (port: number, admin = 0, w = 1) => row(`127.0.0.1:${port}`, '127.0.0.1', port, admin, w);
const freeSlot = (n: number) => row(`lh_slot${n}`, '0.0.0.0', 0, 5);
const backend = (nodes: ServiceNode[], cookiePersistence = false): BackendModel[] => [{ name: 'web', cluster: 'web', lines: [], serverOptions: '', servers: serverModels(nodes, '', cookiePersistence), slots: null, peers: [], peersInUse: false, cookiePersistence, hostnames: false }];

describe('runtime plan', () => {
  it('nothing to do when the worker already serves the model', () => {
    const p = planRuntime([named(1), named(2), freeSlot(1)], backend([node(1), node(2)]));
    assert.deepEqual(p.commands, []);
    assert.deepEqual(p.unplaced, []);
  });

  it('a gone node goes to maintenance; a new one takes a free slot, address first, and comes up before any goes down', () => {
    const p = planRuntime([named(1), named(2), freeSlot(1), freeSlot(2)], backend([node(1), node(3)]));
    assert.deepEqual(p.commands, ['set server web/lh_slot1 addr 127.0.0.1 port 3', 'set server web/lh_slot1 state ready', 'set server web/127.0.0.1:2 state maint']);
    assert.deepEqual(planRuntime(p.next, backend([node(1), node(3)])).commands, [], 'next is the view after the commands');
  });

  it('cookie persistence: a node serving under a slot name is served now and asks for the reload that gives it its cookie', () => {
    const rows = [named(1), named(2), freeSlot(1)];
    const p = planRuntime(rows, backend([node(1), node(3)], true));
    assert.deepEqual(p.commands, ['set server web/lh_slot1 addr 127.0.0.1 port 3', 'set server web/lh_slot1 state ready', 'set server web/127.0.0.1:2 state maint']);
    assert.deepEqual(p.cookieless, [{ backend: 'web', server: '127.0.0.1:3', entry: 'lh_slot1' }]);
    assert.deepEqual(planRuntime(rows, backend([node(1), node(3)])).cookieless, [], 'no persistence: nothing to ask');
    assert.deepEqual(planRuntime([named(1), named(3)], backend([node(1), node(3)], true)).cookieless, [], 'named after a reload');
  });

  it('a node that comes back finds the slot that still holds its address', () => {
    const rows = [named(1), freeSlot(1), row('lh_slot2', '127.0.0.1', 3, 5)];
    assert.deepEqual(planRuntime(rows, backend([node(1), node(3)])).commands, ['set server web/lh_slot2 state ready']);
  });

  it('weights and drain/maint states; an unset weight returns to the configured one', () => {
    const rows = [named(1, 0, 7), named(2), named(3)];
    const p = planRuntime(rows, backend([node(1), node(2, { weight: 0, state: 'drain' }), node(3, { state: 'maint' })]));
    assert.deepEqual(p.commands, ['set server web/127.0.0.1:1 weight 1', 'set server web/127.0.0.1:2 weight 0', 'set server web/127.0.0.1:2 state drain', 'set server web/127.0.0.1:3 state maint']);
    assert.deepEqual(planRuntime([named(2, 8)], backend([node(2)])).commands, ['set server web/127.0.0.1:2 state ready']);
  });

  it('a node without room, or with a hostname, is unplaced (the caller reloads)', () => {
    const p = planRuntime([named(1), freeSlot(1)], backend([node(1), node(2), node(3), node(4, { host: 'db.example' })]));
    assert.deepEqual(p.commands, ['set server web/lh_slot1 addr 127.0.0.1 port 2', 'set server web/lh_slot1 state ready']);
    assert.deepEqual(p.unplaced.map((u) => [u.server, u.reason]), [
      ['127.0.0.1:3', 'no free slot'],
      ['db.example:4', 'address db.example is not an IP'],
    ]);
  });

  it('out of slots: the entry of a gone node, then `add server` when the backend is dynamic', () => {
    const rows = [named(1), named(2), freeSlot(1)];
    const want = backend([node(1), node(3), node(4), node(5, { weight: 3 })]);
    const p = planRuntime(rows, want);
    assert.deepEqual(p.commands, [
      'set server web/lh_slot1 addr 127.0.0.1 port 3', 'set server web/lh_slot1 state ready',
      'set server web/127.0.0.1:2 addr 127.0.0.1 port 4',
    ]);
    assert.deepEqual(p.unplaced.map((u) => u.server), ['127.0.0.1:5'], 'static: left to a reload');
    const d = planRuntime(rows, want, () => true);
    assert.deepEqual(d.commands, [
      'add server web/127.0.0.1:5 127.0.0.1:5', ...p.commands, 'set server web/127.0.0.1:5 weight 3', 'set server web/127.0.0.1:5 state ready',
    ], 'added (in maintenance) first, then weight and state like any entry');
    assert.deepEqual(d.unplaced, []);
    assert.deepEqual(planRuntime(d.next, want, () => true).commands, [], 'next holds the added server');
    // node 2 comes back: its entry is taken back, node 4 moves to where there is room
    const back = planRuntime(d.next, backend([node(1), node(2), node(3), node(4), node(5, { weight: 3 })]), () => true);
    assert.deepEqual(back.commands, ['add server web/127.0.0.1:4 127.0.0.1:4', 'set server web/127.0.0.1:2 addr 127.0.0.1 port 2', 'set server web/127.0.0.1:4 state ready']);
  });

  it('planChangedServers: only the changed servers of a served backend, the same plan as in full', () => {
    // nodes 1-6 named, 7-8 on slots (joined after the last reload); host names for 5-6 with
    // their own IPs (the name stays while the IP moves)
    const nodes = [1, 2, 3, 4].map((p) => node(p)).concat([5, 6].map((p) => ({ ...node(p, { host: `h${p}.example` }), ip: `10.0.0.${p}` })), [node(7), node(8)]);
    const rows = [...[1, 2, 3, 4].map((p) => named(p)), row('h5.example:5', '10.0.0.5', 5), row('h6.example:6', '10.0.0.6', 6), freeSlot(1), freeSlot(2), freeSlot(3)];
    const [first] = backend(nodes);
    const served = planBackend(rows, first);
    assert.deepEqual(served.unplaced, []);
    let seed = 7;
    const rand = (k: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % k;
    const states: NodeState[] = ['up', 'drain', 'maint'];
    let prev = first;
    let at = served.next;
    let fast = 0;
    for (let step = 0; step < 200; step++) {
      // change one to three servers: weight, state or (host-named ones) the IP
      const servers = prev.servers.slice();
      for (let n = 1 + rand(3); n > 0; n--) {
        const j = rand(servers.length);
        const s = servers[j];
        const what = rand(3);
        if (what === 0) servers[j] = { ...s, weight: rand(4) === 0 ? null : rand(5) };
        else if (what === 1) servers[j] = { ...s, state: states[rand(3)] };
        else if (s.name.startsWith('h')) servers[j] = { ...s, addr: `10.0.${rand(3)}.${s.port}` };
        else servers[j] = { ...s };
      }
      const b = { ...prev, servers };
      const full = planBackend(at, b);
      const only = planChangedServers(at, prev, b);
      const onSlot = servers.some((s, j) => s !== prev.servers[j] && s.port >= 7);
      assert.equal(only === null, onSlot, `step ${step}: declined exactly when a changed server serves on a slot`);
      if (only) {
        fast++;
        assert.deepEqual(only.commands, full.commands, `step ${step}: the same commands`);
        assert.deepEqual(only.next, full.next, `step ${step}: the same rows after`);
      }
      prev = b;
      at = full.next;
    }
    assert.ok(fast > 50, `the fast plan was taken (${fast} of 200)`);
    assert.equal(planChangedServers(at, prev, { ...prev, servers: prev.servers.slice(1) }), null, 'another member list: planned in full');
  });

  it('`add server` carries the server options and turns their checks on', () => {
    const b = backend([]);
    b[0] = { ...b[0], servers: serverModels([node(1), node(2)], 'check inter 1s weight 5') };
    assert.deepEqual(planRuntime([named(1)], b, () => true).commands, [
      'add server web/127.0.0.1:2 127.0.0.1:2 check inter 1s weight 5', 'enable health web/127.0.0.1:2', 'set server web/127.0.0.1:2 state ready',
    ]);
    assert.deepEqual(planRuntime([], b, () => true).unplaced.length, 2, 'a backend the worker does not have: a reload');
  });

  it('allowsAddServer: dynamic algorithms without default-server', () => {
    assert.equal(allowsAddServer([], []), true, 'roundrobin by default');
    assert.equal(allowsAddServer(['balance leastconn'], ['balance static-rr']), true, 'the backend wins');
    assert.equal(allowsAddServer([], ['balance static-rr']), false);
    assert.equal(allowsAddServer(['balance source'], []), false, 'map-based hashing by default');
    assert.equal(allowsAddServer(['balance hdr(host)', 'hash-type consistent'], []), true);
    assert.equal(allowsAddServer(['balance uri'], ['hash-type consistent']), true);
    assert.equal(allowsAddServer([], ['default-server check']), false, 'default-server is not applied to dynamic servers');
  });

  it('touches only the backends of the model', () => {
    const other = { ...named(9), backend: 'other' };
    const p = planRuntime([named(1), other], backend([node(1)]));
    assert.deepEqual(p.commands, []);
    assert.equal(p.next.length, 2);
  });
});
