/** discovery/zookeeper.yaml: what users write (Python Lighthouse files included) and what we use. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zookeeperSchema } from '../../../src/discovery/zookeeper/index.js';

const parse = (v: unknown) => zookeeperSchema.safeParse(v);

describe('zookeeper schema', () => {
  it('takes a Python Lighthouse file unchanged and fills defaults (ms)', () => {
    assert.deepEqual(zookeeperSchema.parse({ hosts: ['zk01:2181', 'zk02:2181'], path: '/lighthouse' }), {
      hosts: ['zk01:2181', 'zk02:2181'],
      path: '/lighthouse',
      session_timeout: 10_000,
      connect_timeout: 30_000,
      watch: 'auto',
      nodes_path: '/lighthouse/nodes',
    });
  });

  it('nodes_path: an absolute path, or false (no inventory record)', () => {
    assert.equal(zookeeperSchema.parse({ hosts: ['h:1'], path: '/p', nodes_path: '/inv/nodes' }).nodes_path, '/inv/nodes');
    assert.equal(zookeeperSchema.parse({ hosts: ['h:1'], path: '/p', nodes_path: false }).nodes_path, false);
    assert.equal(parse({ hosts: ['h:1'], path: '/p', nodes_path: 'nodes' }).success, false);
    assert.equal(parse({ hosts: ['h:1'], path: '/p', nodes_path: '/nodes/' }).success, false);
  });

  it('accepts a comma-separated hosts string and hosts without port', () => {
    assert.deepEqual(zookeeperSchema.parse({ hosts: 'zk1:2181, zk2', path: '/a/b' }).hosts, ['zk1:2181', 'zk2']);
  });

  it('reads session_timeout in ms, connect_timeout in seconds (as Python), both with explicit units', () => {
    const c = zookeeperSchema.parse({ hosts: ['h:1'], path: '/p', session_timeout: 2000, connect_timeout: 5 });
    assert.equal(c.session_timeout, 2000);
    assert.equal(c.connect_timeout, 5000);
    const u = zookeeperSchema.parse({ hosts: ['h:1'], path: '/p', session_timeout: '4s', connect_timeout: '1500ms' });
    assert.equal(u.session_timeout, 4000);
    assert.equal(u.connect_timeout, 1500);
  });

  for (const [what, value] of [
    ['no hosts', { path: '/p' }],
    ['empty hosts', { hosts: [], path: '/p' }],
    ['empty hosts string', { hosts: ' , ', path: '/p' }],
    ['a bad host', { hosts: ['zk 1:2181'], path: '/p' }],
    ['no path', { hosts: ['h:1'] }],
    ['a relative path', { hosts: ['h:1'], path: 'lighthouse' }],
    ['a trailing slash', { hosts: ['h:1'], path: '/lighthouse/' }],
    ['the root', { hosts: ['h:1'], path: '/' }],
    ['an unknown key', { hosts: ['h:1'], path: '/p', sesion_timeout: 1 }],
    ['a session timeout under 1 s', { hosts: ['h:1'], path: '/p', session_timeout: 500 }],
    ['a bad duration', { hosts: ['h:1'], path: '/p', session_timeout: '10 minutes' }],
    ['auth without password', { hosts: ['h:1'], path: '/p', auth: 'user' }],
  ] as const) {
    it(`rejects ${what}`, () => assert.equal(parse(value).success, false));
  }
});
