/** discovery/zookeeper.yaml: what users write (Python Lighthouse files included) and what we use. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reporterAcls, zookeeperSchema } from '../../../src/discovery/zookeeper/index.js';
import { formatAcl } from '../../../src/discovery/zookeeper/zk-client.js';

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

  it('acl: open without auth; only the auth identity writes with it; configured entries win', () => {
    const acls = (v: Record<string, unknown>) => {
      const a = reporterAcls(zookeeperSchema.parse({ hosts: ['h:1'], path: '/p', ...v }));
      return { znodes: a.znodes.map(formatAcl), parents: a.parents.map(formatAcl) };
    };
    assert.deepEqual(acls({}), { znodes: ['world:anyone:rwcda'], parents: ['world:anyone:rwcda'] });
    assert.deepEqual(acls({ auth: 'u:p' }), { znodes: ['auth::rwcda', 'world:anyone:r'], parents: ['auth::rwcda', 'world:anyone:r'] });
    assert.deepEqual(acls({ auth: 'u:p', acl: { znodes: ['digest:u:abc=:cdrwa', 'ip:10.0.0.0/8:r'] } }), { znodes: ['digest:u:abc=:rwcda', 'ip:10.0.0.0/8:r'], parents: ['digest:u:abc=:rwcda', 'ip:10.0.0.0/8:r'] });
    assert.deepEqual(acls({ auth: 'u:p', acl: { parents: ['auth::cd', 'world:anyone:r'] } }).parents, ['auth::cd', 'world:anyone:r']);
  });

  it('acl: refuses malformed entries, unknown keys, and an auth entry without auth', () => {
    for (const acl of [{ znodes: ['world:anyone'] }, { znodes: ['world:anyone:rx'] }, { znodes: [] }, { znodes: ['world:any one:r'] }, { nodes: ['world:anyone:r'] }, { znodes: ['auth::cdrwa'] }]) {
      assert.equal(parse({ hosts: ['h:1'], path: '/p', acl }).success, false, JSON.stringify(acl));
    }
  });
});
