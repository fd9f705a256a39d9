/** Host lists and ranges (pdsh / genders style), matched against the node inventory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandHostList, MAX_EXPANSION, resolveNames } from '../../../src/actions/client/targets.js';
import type { NodeRecord } from '../../../src/core/node-record.js';

test('ranges keep zero padding, lists and several groups multiply, duplicates go', () => {
  assert.deepEqual(expandHostList('node[01-03]'), ['node01', 'node02', 'node03']);
  assert.deepEqual(expandHostList('node[1-2,9],web1'), ['node1', 'node2', 'node9', 'web1']);
  assert.deepEqual(expandHostList('r[1-2]n[1-2].x'), ['r1n1.x', 'r1n2.x', 'r2n1.x', 'r2n2.x']);
  assert.deepEqual(expandHostList('a,a,b'), ['a', 'b']);
  assert.deepEqual(expandHostList('node[08-10]'), ['node08', 'node09', 'node10']);
});

test('bad ranges are usage errors; a huge expansion is refused before it is built', () => {
  for (const bad of ['node[1-', 'node]1[', 'node[a-b]', 'node[3-1]', 'n[[1-2]]']) assert.throws(() => expandHostList(bad), { code: 'LH_ERR_USAGE' }, bad);
  assert.throws(() => expandHostList(`n[1-${MAX_EXPANSION + 1}]`), /more than/);
  assert.throws(() => expandHostList('a[1-1000]b[1-1000]'), /more than/);
});

const rec = (name: string): NodeRecord => ({ name, host: name, ip: '127.0.0.1', ranks: [], metadata: {}, endpoint: null });

test('names match in full or by their first label when that is unique', () => {
  const inv = [rec('node01.a.test'), rec('node02.a.test'), rec('db1.a.test'), rec('db1.b.test')];
  const r = resolveNames(['node01', 'node02.a.test', 'node01.a.test', 'db1', 'nope'], inv);
  assert.deepEqual(r.nodes.map((n) => n.name), ['node01.a.test', 'node02.a.test']);
  assert.deepEqual(r.missing.map((m) => m.name), ['db1', 'nope']);
  assert.match(r.missing[0].why, /ambiguous/);
  assert.match(r.missing[1].why, /not in the node inventory/);
});
