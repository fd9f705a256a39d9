import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRuntime } from '../../../../src/balancers/haproxy/plan.js';
import { serverModels, type BackendModel } from '../../../../src/balancers/haproxy/model.js';
import type { ServerStateRow } from '../../../../src/balancers/haproxy/runtime-parse.js';
import type { ServiceNode } from '../../../../src/core/node.js';
import { node } from '../../../helpers/haproxy.js';

let id = 0;
function row(name: string, addr: string, port: number, adminState = 0, uweight = 1, iweight = 1): ServerStateRow {
  return { backend: 'web', backendId: 3, name, id: ++id, addr, port, opState: adminState & 1 ? 0 : 2, adminState, uweight, iweight, raw: '' };
}
const named = (port: number, admin = 0, w = 1) => row(`127.0.0.1:${port}`, '127.0.0.1', port, admin, w);
const freeSlot = (n: number) => row(`lh_slot${n}`, '0.0.0.0', 0, 5);
const backend = (nodes: ServiceNode[]): BackendModel[] => [{ name: 'web', cluster: 'web', lines: [], serverOptions: '', servers: serverModels(nodes, ''), slots: null }];

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

  it('touches only the backends of the model', () => {
    const other = { ...named(9), backend: 'other' };
    const p = planRuntime([named(1), other], backend([node(1)]));
    assert.deepEqual(p.commands, []);
    assert.equal(p.next.length, 2);
  });
});
