import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownSorted, markSorted, sameNodes, sortNodes, type ServiceNode } from '../../../src/core/node.js';
import { sorted } from '../../../src/balancers/haproxy/config/model.js';

const n = (host: string, weight?: number): ServiceNode => ({ name: `${host}:80`, host, ip: '10.0.0.1', port: 80, peer: null, metadata: {}, ...(weight !== undefined && { weight }) });

test('sortNodes: a sorted copy, marked as sorted; the input is left as it was', () => {
  const input = [n('c'), n('a'), n('b')];
  const out = sortNodes(input);
  assert.deepEqual(out.map((x) => x.host), ['a', 'b', 'c']);
  assert.deepEqual(input.map((x) => x.host), ['c', 'a', 'b'], 'input untouched');
  assert.ok(knownSorted(out), 'the result is marked');
  assert.ok(!knownSorted(input), 'the input is not');
  assert.notEqual(sortNodes(out), out, 'a marked list is still copied');
});

test('a list marked sorted is taken as it is, unmarked lists are checked', () => {
  const list = [n('a'), n('b')];
  assert.equal(sorted(list), list, 'in order: the list itself');
  const backwards = [n('b'), n('a')];
  assert.deepEqual(sorted(backwards).map((x) => x.host), ['a', 'b'], 'out of order and unmarked: sorted');
  assert.equal(sorted(markSorted(backwards)), backwards, 'marked: trusted without a look');
});

test('sameNodes: identity first, contents for the objects that differ', () => {
  const a = [n('a'), n('b', 2)];
  assert.ok(sameNodes(a, a.slice()), 'the same objects');
  assert.ok(sameNodes(a, [a[0], n('b', 2)]), 'an equal copy of one node');
  assert.ok(!sameNodes(a, [a[0], n('b', 3)]), 'a changed weight');
  assert.ok(!sameNodes(a, [a[0]]), 'a member fewer');
  assert.ok(!sameNodes(undefined, a), 'nothing before');
});
