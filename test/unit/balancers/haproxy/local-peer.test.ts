import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredPeerName, localPeerName } from '../../../../src/balancers/haproxy/local-peer.js';
import { resolveIdentity } from '../../../../src/reporter/identity.js';

describe('local peer name (haproxy -L)', () => {
  it('is the name the reporter publishes: peer_name, then env, then node.yaml host, then the FQDN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-peer-'));
    try {
      const env = { LIGHTHOUSE_ADVERTISE_HOST: 'env.example' };
      assert.equal(configuredPeerName(undefined, dir, {}), undefined);
      writeFileSync(join(dir, 'node.yaml'), 'host: node.example\npeer_port: 2000\n');
      assert.equal(configuredPeerName(undefined, dir, {}), 'node.example');
      assert.equal(configuredPeerName(undefined, dir, env), 'env.example');
      assert.equal(configuredPeerName('mine', dir, env), 'mine');
      // the reporter, given the same inputs, publishes the same peer name
      assert.equal((await resolveIdentity({ host: 'node.example', peer_port: 2000 }, {})).peer.name, 'node.example');
      assert.equal((await resolveIdentity({ host: 'node.example', peer_port: 2000 }, env)).peer.name, 'env.example');
      // nothing configured: the FQDN, as the reporter's default
      assert.equal(await localPeerName(undefined), (await resolveIdentity({ peer_port: 1024 }, {})).peer.name);
      assert.equal(await localPeerName('a b'), 'a_b', 'as a peer line renders it');
      writeFileSync(join(dir, 'node.yaml'), 'host: [broken\n');
      assert.equal(configuredPeerName(undefined, dir, {}), undefined, 'a broken node.yaml is the store\'s to report');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
