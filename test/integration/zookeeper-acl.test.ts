/**
 * ZooKeeper ACLs of what a reporter creates, on a real ZooKeeper: with `auth`, only that
 * identity may change or delete its znodes (and their parents), anyone may read; `acl:`
 * overrides; without `auth` the open ACL of the Python Lighthouse stays. Checked through
 * independent sessions (zk-probe), one without credentials, one with them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { zkProbe, type ZkProbe } from '../helpers/zk-probe.js';
import { waitFor } from '../helpers/wait.js';
import { createLogger } from '../../src/core/logger.js';
import { systemClock } from '../../src/core/clock.js';
import type { ServiceNode } from '../../src/core/node.js';
import { zookeeperDiscovery, type ZookeeperDiscovery } from '../../src/discovery/zookeeper/index.js';

const AUTH = 'reporter:s3cret-pw';
/** the digest id ZooKeeper records for AUTH: user:base64(sha1("user:password")), which
 * ZooKeeper 3.8's getACL shows as "user:x" to a session that is not that user */
const DIGEST_ID = `reporter:${createHash('sha1').update(AUTH).digest('base64')}`;
const acl = async (path: string) => (await anon.acl(path)).map((a) => a.replace(/^digest:reporter:x:/, `digest:${DIGEST_ID}:`));

let zk: ZkServer;
let anon: ZkProbe;
const cleanup: (() => Promise<unknown>)[] = [];

before(async () => {
  zk = await startZooKeeper({ tickTime: 200 });
  anon = await zkProbe(zk.connectString);
});
after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {});
  anon?.close();
  await zk?.stop();
});

function discovery(path: string, extra: Record<string, unknown> = {}): { d: ZookeeperDiscovery; logs: string[] } {
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } });
  const config = zookeeperDiscovery.schema.parse({ hosts: [zk.connectString], path, session_timeout: 2000, connect_timeout: 10, ...extra });
  const d = zookeeperDiscovery.create(config, { logger, clock: systemClock });
  cleanup.push(() => d.stop());
  return { d, logs };
}

const node: ServiceNode = { name: 'app01.example.com:8080', host: 'app01.example.com', ip: '127.0.0.1', port: 8080, peer: null, metadata: {} };
const ZNODE = (base: string) => `${base}/web/app01.example.com:8080`;

/** the ZooKeeper error name of a refused operation */
async function refusal(op: Promise<unknown>): Promise<string> {
  try {
    await op;
  } catch (err) {
    return (err as { name?: string }).name ?? String(err);
  }
  return 'allowed';
}

describe('with auth', () => {
  test('only the identity writes its znodes and their parents; anyone reads; a writer without auth sees the node', async () => {
    const { d, logs } = discovery('/acl1/base', { auth: AUTH });
    await d.start();
    await d.register('web', node);

    const want = [`digest:${DIGEST_ID}:rwcda`, 'world:anyone:r'];
    assert.deepEqual(await acl(ZNODE('/acl1/base')), want, 'instance znode');
    assert.deepEqual(await acl('/acl1/base/web'), want, 'service parent');
    assert.deepEqual(await acl('/acl1/base'), want, 'base path');
    assert.deepEqual(await acl('/acl1'), want, 'every parent created');

    assert.equal((await anon.get(ZNODE('/acl1/base')))?.data.toString().includes('"port": 8080'), true, 'anyone reads it');
    assert.equal(await refusal(anon.set(ZNODE('/acl1/base'), '{"ip": "6.6.6.6", "port": 1}')), 'NO_AUTH', 'setData without auth');
    assert.equal(await refusal(anon.remove(ZNODE('/acl1/base'))), 'NO_AUTH', 'delete without auth');
    assert.equal(await refusal(anon.create('/acl1/base/web/evil:1', '{"ip": "6.6.6.6", "port": 1}')), 'NO_AUTH', 'a rogue sibling');
    assert.equal(await refusal(anon.create('/acl1/base/evil/x:1', '{}')), 'NO_AUTH', 'a rogue service');

    // a writer needs no credentials
    const { d: w } = discovery('/acl1/base');
    await w.start();
    const snaps: ServiceNode[][] = [];
    cleanup.push(async () => stopWatch());
    const stopWatch = w.watch('web', (n) => snaps.push(n));
    await waitFor(() => snaps.at(-1)?.length === 1, 'the writer sees the node');

    // the same identity in another session may (another reporter of the service)
    const peer = await zkProbe(zk.connectString, AUTH);
    try {
      await peer.create('/acl1/base/web/app02.example.com:8080', '{"ip": "127.0.0.2", "port": 8080}', true);
      await peer.remove('/acl1/base/web/app02.example.com:8080');
    } finally {
      peer.close();
    }
    assert.equal(logs.join('\n').includes('s3cret-pw'), false, 'the secret is never logged');
  });

  test('acl: configured entries replace the defaults, parents apart from instances', async () => {
    const { d } = discovery('/acl2', { auth: AUTH, acl: { znodes: ['auth::cdrwa', 'world:anyone:r'], parents: ['auth::cdrwa', 'world:anyone:rc'] } });
    await d.start();
    await d.register('web', node);
    assert.deepEqual(await acl('/acl2/web'), [`digest:${DIGEST_ID}:rwcda`, 'world:anyone:rc']);
    await anon.create('/acl2/web/other:1', '{"ip": "127.0.0.3", "port": 1}', true); // create: granted
    assert.equal(await refusal(anon.remove(ZNODE('/acl2'))), 'NO_AUTH', 'delete is still ours');
  });

  test('a parent that lets anyone delete children is named in a warning', async () => {
    await anon.create('/acl3/web/placeholder', ''); // made by someone else, open ACL
    await anon.remove('/acl3/web/placeholder');
    const { d, logs } = discovery('/acl3', { auth: AUTH });
    await d.start();
    await d.register('web', node);
    await waitFor(() => logs.some((l) => l.includes('"level":40') && l.includes('znode /acl3/web lets anyone create or delete')), 'the open parent named');
    assert.deepEqual(await acl(ZNODE('/acl3')), [`digest:${DIGEST_ID}:rwcda`, 'world:anyone:r'], 'our znode is guarded all the same');
  });
});

describe('without auth', () => {
  test('the open ACL stays the default: anyone may change or delete', async () => {
    const { d, logs } = discovery('/open');
    await d.start();
    await d.register('web', node);
    assert.deepEqual(await acl(ZNODE('/open')), ['world:anyone:rwcda']);
    assert.deepEqual(await acl('/open/web'), ['world:anyone:rwcda']);
    await anon.set(ZNODE('/open'), '{"ip": "127.0.0.1", "port": 8080}');
    await anon.remove(ZNODE('/open'));
    assert.equal(logs.some((l) => l.includes('lets anyone create or delete')), false, 'no warning: open is what was asked for');
  });

  test('an "auth" entry without auth is a config error', () => {
    const r = zookeeperDiscovery.schema.safeParse({ hosts: ['127.0.0.1:1'], path: '/x', acl: { znodes: ['auth::cdrwa'] } });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /needs `auth`/);
  });
});
