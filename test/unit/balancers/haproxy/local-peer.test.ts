import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { configuredPeerName, localPeerName } from '../../../../src/balancers/haproxy/local-peer.js';
import { haproxyBalancer } from '../../../../src/balancers/haproxy/index.js';
import { haproxySchema } from '../../../../src/balancers/haproxy/config/schema.js';
import { advertisedHost, fqdn, resolveIdentity } from '../../../../src/config/node-identity.js';
import { FakeClock } from '../../../../src/core/clock.js';

describe('local peer name (haproxy -L)', () => {
  it('is the name the reporter publishes: peer_name, then env, then node.yaml host, then the FQDN', async () => {
    const env = { LIGHTHOUSE_ADVERTISE_HOST: 'env.example' };
    const node = { host: 'node.example', peer_port: 2000 };
    assert.equal(configuredPeerName(undefined, advertisedHost({}, {})), undefined);
    assert.equal(configuredPeerName(undefined, advertisedHost(node, {})), 'node.example');
    assert.equal(configuredPeerName(undefined, advertisedHost(node, env)), 'env.example');
    assert.equal(configuredPeerName('mine', advertisedHost(node, env)), 'mine');
    // the reporter, given the same inputs, publishes the same peer name
    assert.equal((await resolveIdentity(node, {})).peer.name, 'node.example');
    assert.equal((await resolveIdentity(node, env)).peer.name, 'env.example');
    // nothing configured: the FQDN, as the reporter's default
    assert.equal(await localPeerName(undefined), (await resolveIdentity({ peer_port: 1024 }, {})).peer.name);
    assert.equal(await localPeerName(undefined), await fqdn());
    assert.equal(await localPeerName('a b'), 'a_b', 'as a peer line renders it');
  });

  it('the plugin takes the advertised host from its deps and reads no node.yaml of its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-peer-'));
    try {
      writeFileSync(join(dir, 'node.yaml'), 'host: file.example\n');
      const config = haproxySchema.parse({ config_file: 'haproxy.cfg', socket_file: 'admin.sock' });
      const deps = { logger: pino({ level: 'silent' }), clock: new FakeClock(), configDir: dir };
      const given = haproxyBalancer.create(config, { ...deps, advertisedHost: 'deps.example' });
      assert.equal(given.config.peer_name, 'deps.example');
      assert.equal(haproxyBalancer.create(config, deps).config.peer_name, undefined, 'node.yaml is the store\'s to read');
      assert.equal(haproxyBalancer.create({ ...config, peer_name: 'own' }, { ...deps, advertisedHost: 'deps.example' }).config.peer_name, 'own');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
