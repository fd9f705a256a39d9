/**
 * The http check against real servers on loopback: body search (string, regex, JSON subset),
 * basic auth and tokens, a TLS server that requires a client certificate (a CA and
 * certificates made here with openssl), redirects, max_body.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnFreePort } from '../helpers/backends.js';
import { httpCheck, httpSchema } from '../../src/checks/http.js';
import { silentLogger } from '../../src/core/logger.js';
import { systemClock } from '../../src/core/clock.js';
import type { Check } from '../../src/core/plugin.js';

const deps = { logger: silentLogger(), clock: systemClock };
const state = { body: '{"status": "healthy", "db": {"state": "up", "lag": 0}, "nodes": [1, 2]}', seenAuth: [] as (string | undefined)[] };
let dir = '';
const servers: http.Server[] = [];
let plain = 0;
let other = 0;
let mtls = 0;

function listen(s: http.Server): Promise<number> {
  servers.push(s);
  return listenOnFreePort(s);
}

const handler: http.RequestListener = (req, res) => {
  const url = req.url!;
  if (url === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end(state.body);
  if (url === '/basic') {
    const ok = req.headers.authorization === `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    return void res.writeHead(ok ? 200 : 401, ok ? {} : { 'www-authenticate': 'Basic realm="x"' }).end(ok ? 'ok' : 'no');
  }
  if (url === '/bearer') return void res.writeHead(req.headers.authorization === 'Bearer t0ken-123' ? 200 : 401).end();
  if (url === '/private') return void res.writeHead(req.headers['private-token'] === 't0ken-123' ? 200 : 403).end();
  if (url === '/to-health') return void res.writeHead(302, { location: '/health' }).end();
  if (url === '/away') return void res.writeHead(302, { location: `http://127.0.0.1:${other}/seen` }).end();
  if (url === '/big') return void res.end(Buffer.alloc(64 * 1024, 'x'));
  res.writeHead(404).end();
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lh-http-it-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test CA', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem');
  for (const name of ['server', 'client', 'stranger']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name === 'server' ? 'localhost' : name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
    // the stranger's certificate is self-signed: not from the CA the server trusts
    if (name === 'stranger') ssl('x509', '-req', '-in', `${name}.csr`, '-signkey', `${name}.key`, '-days', '1', '-out', `${name}.pem`);
    else ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
  plain = await listen(http.createServer(handler));
  other = await listen(http.createServer((req, res) => (state.seenAuth.push((req.headers['private-token'] as string) ?? req.headers.authorization), res.end('elsewhere'))));
  const pem = (f: string) => readFileSync(join(dir, f));
  mtls = await listen(https.createServer({ key: pem('server.key'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: true }, handler));
});

const checks: Check[] = [];
after(async () => {
  for (const c of checks) c.close?.();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  rmSync(dir, { recursive: true, force: true });
});

function make(raw: Record<string, unknown>, port = plain): Check {
  const c = httpCheck.create(httpSchema.parse(raw), { host: '127.0.0.1', port }, deps);
  checks.push(c);
  return c;
}
const run = (c: Check) => c.run(AbortSignal.timeout(5000));

test('search: a word, a regex and a JSON subset pass on a matching body and fail with what is missing', async () => {
  const word = make({ uri: '/health', search: 'healthy' });
  const regex = make({ uri: '/health', search: '"lag":\\s*0\\b' });
  const subset = make({ uri: '/health', search: { status: 'healthy', db: { state: 'up' }, nodes: [1, 2] } });
  for (const c of [word, regex, subset]) assert.deepEqual(await run(c), { ok: true });

  state.body = '{"status": "degraded", "db": {"state": "down", "lag": 12}, "nodes": [1]}';
  const w = await run(word);
  assert.equal(w.ok, false);
  assert.match(w.detail!, /body does not match \/healthy\//);
  assert.match((await run(regex)).detail!, /body does not match/);
  const s = await run(subset);
  assert.equal(s.ok, false);
  assert.match(s.detail!, /at status: expected "healthy", got "degraded"/);

  state.body = 'not json';
  assert.match((await run(subset)).detail!, /body is not JSON/);
  state.body = '{"status": "healthy", "db": {"state": "up", "lag": 0}, "nodes": [1, 2]}';
  for (const c of [word, regex, subset]) assert.deepEqual(await run(c), { ok: true }, 'flips back');
});

test('basic auth and tokens pass where right and fail with a detail naming the mode, never the secret', async () => {
  assert.deepEqual(await run(make({ uri: '/basic', username: 'alice', password: 'wonderland' })), { ok: true });
  const wrong = await run(make({ uri: '/basic', username: 'alice', password: 'looking-glass' }));
  assert.equal(wrong.ok, false);
  assert.match(wrong.detail!, /status 401 Unauthorized: the server rejected the credentials \(basic auth as "alice"\)/);
  assert.doesNotMatch(wrong.detail!, /looking-glass/);
  assert.match((await run(make({ uri: '/basic' }))).detail!, /status 401 .*the server wants credentials/);

  assert.deepEqual(await run(make({ uri: '/bearer', token: 't0ken-123' })), { ok: true });
  const badToken = await run(make({ uri: '/bearer', token: 'wrong-token' }));
  assert.match(badToken.detail!, /rejected the credentials \(token in Authorization\)/);
  assert.doesNotMatch(badToken.detail!, /wrong-token/);
  assert.deepEqual(await run(make({ uri: '/private', token: 't0ken-123', token_header: 'PRIVATE-TOKEN' })), { ok: true });
  assert.match((await run(make({ uri: '/private', token: 'nope-nope', token_header: 'PRIVATE-TOKEN' }))).detail!, /status 403 .*token in PRIVATE-TOKEN/);

  // the *_file forms read the secret from a file
  writeFileSync(join(dir, 'token'), 't0ken-123\n');
  assert.deepEqual(await run(make({ uri: '/bearer', token_file: join(dir, 'token') })), { ok: true });
});

test('a TLS server requiring a client certificate: passes with the right one, fails without or with a stranger', async () => {
  const pem = (f: string) => readFileSync(join(dir, f), 'utf8');
  const right = make({ uri: '/health', https: true, tls_verify: true, host: 'localhost', ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') }, mtls);
  assert.deepEqual(await run(right), { ok: true });
  const files = make({ uri: '/health', https: true, tls_verify: true, host: 'localhost', ca_file: join(dir, 'ca.pem'), cert_file: join(dir, 'client.pem'), key_file: join(dir, 'client.key') }, mtls);
  assert.deepEqual(await run(files), { ok: true }, 'the same from files');
  const none = await run(make({ uri: '/health', https: true }, mtls));
  assert.equal(none.ok, false);
  assert.match(none.detail!, /client certificate/);
  const stranger = await run(make({ uri: '/health', https: true, cert: pem('stranger.pem'), key: pem('stranger.key') }, mtls));
  assert.equal(stranger.ok, false, `a certificate the server does not trust: ${stranger.detail}`);
  const unverified = await run(make({ uri: '/health', https: true, tls_verify: true, cert: pem('client.pem'), key: pem('client.key') }, mtls));
  assert.equal(unverified.ok, false, 'tls_verify without our CA rejects the server');
});

test('redirects: judged as they are by default, followed on request; a token never goes to another origin', async () => {
  assert.match((await run(make({ uri: '/to-health' }))).detail!, /status 302/);
  assert.deepEqual(await run(make({ uri: '/to-health', follow_redirects: true, search: 'healthy' })), { ok: true });
  state.seenAuth.length = 0;
  assert.deepEqual(await run(make({ uri: '/away', follow_redirects: true, token: 'secret-tok', token_header: 'PRIVATE-TOKEN' })), { ok: true });
  assert.deepEqual(await run(make({ uri: '/away', follow_redirects: true, token: 'secret-tok' })), { ok: true });
  assert.deepEqual(state.seenAuth, [undefined, undefined], 'no credentials at the other origin');
});

test('max_body: a longer body fails the check with that reason', async () => {
  assert.deepEqual(await run(make({ uri: '/big' })), { ok: true });
  const r = await run(make({ uri: '/big', max_body: 1000 }));
  assert.equal(r.ok, false);
  assert.match(r.detail!, /body larger than max_body \(1000 bytes\)/);
  assert.match((await run(make({ uri: '/big', max_body: 1000, search: 'x' }))).detail!, /max_body/);
});
