/** How a node is advertised: what writers would refuse is refused here, before it is published. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveIdentity } from '../../../src/config/node-identity.js';
import { nodeSchema } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('advertised identity', () => {
  it('node.yaml: host an RFC 1123 name or an IP, ip an IP that is not 0.0.0.0 / ::', () => {
    assert.deepEqual(nodeSchema.parse({ host: 'app01.example.com', ip: '10.0.0.5' }), { host: 'app01.example.com', ip: '10.0.0.5', peer_port: 1024 });
    for (const bad of [{ host: 'app 01' }, { host: 'a\nb' }, { host: 'a_b.example' }, { ip: 'app01.example.com' }, { ip: '0.0.0.0' }, { ip: '::' }, { ip: '127.0.0.1 backup' }]) {
      assert.equal(nodeSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('env overrides: a bad one is a config error naming the variable', async () => {
    const id = await resolveIdentity({ peer_port: 1024 }, { LIGHTHOUSE_ADVERTISE_HOST: 'app01.example.com', LIGHTHOUSE_ADVERTISE_IP: '10.0.0.5' });
    assert.deepEqual(id, { host: 'app01.example.com', ip: '10.0.0.5', peer: { name: 'app01.example.com', ip: '10.0.0.5', port: 1024 } });
    await assert.rejects(resolveIdentity({ peer_port: 1024 }, { LIGHTHOUSE_ADVERTISE_HOST: 'ok.example', LIGHTHOUSE_ADVERTISE_IP: '0.0.0.0' }), (e: unknown) => e instanceof ConfigError && /LIGHTHOUSE_ADVERTISE_IP/.test(e.message) && !/HOST/.test(e.message));
    await assert.rejects(resolveIdentity({ peer_port: 1024 }, { LIGHTHOUSE_ADVERTISE_HOST: 'h\n  server x', LIGHTHOUSE_ADVERTISE_IP: '10.0.0.5' }), (e: unknown) => e instanceof ConfigError && /env LIGHTHOUSE_ADVERTISE_HOST/.test(e.message));
  });
});
