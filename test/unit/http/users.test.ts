/**
 * users.yaml: hashes only (a plain password is an error that says what to do), scrypt hashes
 * that verify, and the authenticator: Basic and user tokens, the same answer for a wrong
 * password and an unknown user, and failed logins limited per source address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cli.js';
import { FakeClock } from '../../../src/core/clock.js';
import { check } from '../../../src/config/yaml.js';
import { Authenticator } from '../../../src/http/auth.js';
import { FAILURE_WINDOW_MS, MAX_FAILURES } from '../../../src/http/login-limit.js';
import { allowed, hashSecret, Users, usersSchema, verifySecret } from '../../../src/http/users.js';

const req = (authorization: string | undefined, from = '192.0.2.1') => ({ headers: { authorization }, socket: { remoteAddress: from } }) as unknown as IncomingMessage;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

test('a plain password is a config error that says how to make a hash', () => {
  const r = check(usersSchema, { admin: { role: ['admin'], password: 'admin' } });
  assert.equal(r.data, undefined);
  assert.match(r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'), /admin\.password: a plain password is not accepted: make one with `lighthousectl hash-password`/);
  assert.ok(check(usersSchema, { u: { role: ['dev'], password_hash: 'md5$abc' } }).issues.length, 'not our hash format');
});

test('scrypt hashes: salted, and only the right secret verifies', async () => {
  const [a, b] = [await hashSecret('pw'), await hashSecret('pw')];
  assert.notEqual(a, b, 'a salt per hash');
  assert.equal(await verifySecret('pw', a), true);
  assert.equal(await verifySecret('pw2', a), false);
});

test('roles: admin sees all, others the entries their roles meet', () => {
  assert.equal(allowed(['admin'], []), true);
  assert.equal(allowed(['dev'], ['dev', 'app']), true);
  assert.equal(allowed(['ops'], ['dev']), false);
  assert.equal(allowed(['dev'], undefined), false);
  assert.equal(allowed(undefined, ['x']), true, 'the local socket sees everything');
});

test('Basic and user tokens identify a user with roles; failures are limited per address', async () => {
  const clock = new FakeClock();
  const auth = new Authenticator(pino({ level: 'silent' }), clock);
  const token = 'a-user-token-0123456789';
  auth.setUsers(new Users({ bob: { role: ['dev'], password_hash: await hashSecret('right'), tokens: [await hashSecret(token)] } }));
  const ok = await auth.identify(req(basic('bob', 'right')), 'tcp');
  assert.deepEqual(ok, { ok: true, caller: { via: 'tcp', subject: 'user:bob', roles: ['dev'] } });
  assert.deepEqual(await auth.identify(req(`Bearer ${token}`), 'tcp'), ok);
  const wrong = await auth.identify(req(basic('bob', 'wrong')), 'tcp');
  const unknown = await auth.identify(req(basic('eve', 'wrong')), 'tcp');
  assert.deepEqual(wrong, unknown, 'the same answer whether the user exists or not');
  assert.equal(wrong.ok ? 0 : wrong.status, 401);
  for (let i = 2; i < MAX_FAILURES; i++) await auth.identify(req(basic('bob', 'wrong')), 'tcp');
  const limited = await auth.identify(req(basic('bob', 'right')), 'tcp');
  assert.equal(limited.ok ? 200 : limited.status, 429, 'even the right password waits');
  assert.equal((await auth.identify(req(basic('bob', 'right'), '192.0.2.2'), 'tcp')).ok, true, 'another address is not limited');
  clock.advance(FAILURE_WINDOW_MS + 1);
  assert.equal((await auth.identify(req(basic('bob', 'right')), 'tcp')).ok, true, 'after the window');
});

test('lighthousectl hash-password reads the password from stdin and prints a hash that verifies on its last line', async () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/lighthousectl.ts'), 'hash-password'], { input: 'from-stdin\n', encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const last = r.stdout.trim().split('\n').at(-1)!;
  assert.equal(await verifySecret('from-stdin', last), true, `the last line is the hash: ${last}`);
  assert.ok(!r.stdout.includes('from-stdin') && !r.stderr.includes('from-stdin'), 'the password is never printed');
  const users = check(usersSchema, { u: { role: ['dev'], password_hash: last } });
  assert.equal(users.issues.length, 0, 'users.yaml takes it');
});
