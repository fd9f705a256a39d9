/** Action tokens: the key pair, signing, and every way verification refuses. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initKeys, inScope, keyPaths, PublicKeyFile, signToken, verifyToken } from '../../../src/actions/tokens.js';

const root = mkdtempSync(join(tmpdir(), 'lh-tokens-'));
after(() => rmSync(root, { recursive: true, force: true }));
const NOW = Date.UTC(2030, 0, 1);

async function pair(name: string): Promise<{ dir: string; pub: PublicKeyFile }> {
  const dir = join(root, name);
  await initKeys(dir);
  return { dir, pub: new PublicKeyFile(keyPaths(dir).pub) };
}

test('init: token.key mode 0600 and token.pub; a second init keeps the pair unless forced', async () => {
  const { dir } = await pair('init');
  const { key, pub } = keyPaths(dir);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.match(readFileSync(pub, 'utf8'), /BEGIN PUBLIC KEY/);
  const before = readFileSync(key, 'utf8');
  await assert.rejects(initKeys(dir), /exists/);
  assert.equal(readFileSync(key, 'utf8'), before);
  await initKeys(dir, true);
  assert.notEqual(readFileSync(key, 'utf8'), before);
  assert.equal(statSync(key).mode & 0o777, 0o600);
});

test('a signed token verifies with its own public key, with its claims; scope is by name or *', async () => {
  const { dir, pub } = await pair('ok');
  const { token, claims } = await signToken(dir, { subject: 'alice', ttlSeconds: 3600, actions: ['uptime'], now: NOW });
  const v = await verifyToken(token, pub, new Set(), NOW + 1000);
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.claims, claims);
  assert.equal(claims.exp - claims.iat, 3600);
  assert.equal(inScope(claims, 'uptime'), true);
  assert.equal(inScope(claims, 'restart'), false);
  assert.equal(inScope({ ...claims, actions: ['*'] }, 'restart'), true);
});

test('refused with 401: expired, another key, revoked, tampered, not a JWT', async () => {
  const a = await pair('a');
  const b = await pair('b');
  const { token, claims } = await signToken(a.dir, { subject: 'alice', ttlSeconds: 60, actions: ['*'], now: NOW });
  const refused = async (t: string, pub: PublicKeyFile, revoked: string[], now: number, why: RegExp) => {
    const v = await verifyToken(t, pub, new Set(revoked), now);
    assert.equal(v.ok, false, `${why}`);
    if (!v.ok) {
      assert.equal(v.status, 401);
      assert.match(v.message, why);
    }
  };
  await refused(token, a.pub, [], NOW + 61_000, /expired/);
  await refused(token, b.pub, [], NOW, /signature/);
  await refused(token, a.pub, [claims.jti], NOW, /revoked/);
  const [h, p, s] = token.split('.');
  const more = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), actions: ['*', 'x'] })).toString('base64url');
  await refused(`${h}.${more}.${s}`, a.pub, [], NOW, /signature/);
  await refused('not-a-jwt', a.pub, [], NOW, /not a valid JWT/);
  await refused(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`, a.pub, [], NOW, /./);
});

test('no token.pub on the node, or a bad one: 503, actions off; a replaced file is read again', async () => {
  const dir = join(root, 'nokey');
  const pub = new PublicKeyFile(join(dir, 'actions/token.pub'));
  const signer = await pair('signer');
  const { token } = await signToken(signer.dir, { subject: 's', ttlSeconds: 60, actions: ['*'], now: NOW });
  const v = await verifyToken(token, pub, new Set(), NOW);
  assert.equal(v.ok, false);
  if (!v.ok) assert.equal(v.status, 503);
  await initKeys(dir);
  writeFileSync(keyPaths(dir).pub, 'garbage');
  const g = await verifyToken(token, pub, new Set(), NOW);
  assert.equal(!g.ok && g.status, 503);
  writeFileSync(keyPaths(dir).pub, readFileSync(keyPaths(signer.dir).pub));
  assert.equal((await verifyToken(token, pub, new Set(), NOW)).ok, true);
});
