import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { getEventListeners } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listenOnFreePort } from '../../helpers/backends.js';
import { httpCheck, httpSchema } from '../../../src/checks/http.js';
import { silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import type { Check } from '../../../src/core/plugin.js';

const deps = { logger: silentLogger(), clock: systemClock };
const seen: { url?: string; method?: string; headers: http.IncomingHttpHeaders }[] = [];
let connections = 0;
let flakyHangs = true;
let slowOnce = 0;

const handler: http.RequestListener = (req, res) => {
  seen.push({ url: req.url, method: req.method, headers: req.headers });
  const path = req.url!.split('?')[0];
  if (path === '/health') return void res.end('ok');
  if (path === '/down') return void res.writeHead(503).end('down');
  if (path === '/moved') return void res.writeHead(301, { location: '/health' }).end();
  if (path === '/chunked') return void (res.write('chunk one, '), res.end('chunk two'));
  if (path === '/big') return void res.end(Buffer.alloc(512 * 1024, 'x'));
  if (path === '/hang') return; // never answers
  if (path === '/flaky') return void (flakyHangs ? undefined : res.end('ok'));
  if (path === '/slow-once') return void setTimeout(() => res.end('ok'), slowOnce++ === 0 ? 300 : 0);
  res.writeHead(404).end();
};

const server = http.createServer(handler);
server.on('connection', () => connections++);
let port = 0;
let closedPort = 0;
let tlsDir = '';
let tlsServer: https.Server | null = null;
let tlsPort = 0;

before(async () => {
  port = await listenOnFreePort(server);
  closedPort = await freePort(); // a port nobody listens on
  tlsDir = mkdtempSync(join(tmpdir(), 'lh-http-check-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')], { stdio: 'ignore' });
  tlsServer = https.createServer({ key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) }, handler);
  tlsPort = await listenOnFreePort(tlsServer);
});

const checks: Check[] = [];
after(async () => {
  for (const c of checks) c.close?.();
  server.closeAllConnections();
  tlsServer?.closeAllConnections();
  await new Promise((r) => server.close(r));
  if (tlsServer) await new Promise((r) => tlsServer!.close(r));
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

function make(raw: Record<string, unknown>, p = port): Check {
  const c = httpCheck.create(httpSchema.parse(raw), { host: '127.0.0.1', port: p }, deps);
  checks.push(c);
  return c;
}
const within = (ms = 5000) => AbortSignal.timeout(ms);

test('schema: defaults, expect forms, unknown keys rejected', () => {
  const c = httpSchema.parse({ uri: '/health' });
  assert.deepEqual(c, {
    uri: '/health', method: 'GET', https: false, tls_verify: false, expect: [[200, 299]],
    max_body: 1024 * 1024, token_header: 'Authorization', follow_redirects: false, max_redirects: 5,
  });
  assert.deepEqual(httpSchema.parse({ uri: '/', expect: '200-399' }).expect, [[200, 399]]);
  assert.deepEqual(httpSchema.parse({ uri: '/', expect: '200, 301-302' }).expect, [[200, 200], [301, 302]]);
  assert.deepEqual(httpSchema.parse({ uri: '/', expect: [200, 204] }).expect, [[200, 200], [204, 204]]);
  assert.deepEqual(httpSchema.parse({ uri: '/', expect: 204 }).expect, [[204, 204]]);
  for (const bad of [{ uri: '/', bogus: 1 }, { uri: 'health' }, {}, { uri: '/', expect: '399-200' }, { uri: '/', expect: 'ok' }, { uri: '/', expect: [99] }, { uri: '/', timeout: 1 }]) {
    assert.equal(httpSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('2xx passes, and probes reuse one keep-alive connection', async () => {
  const c = make({ uri: '/health?deep=1' });
  const before = connections;
  for (let i = 0; i < 5; i++) assert.deepEqual(await c.run(within()), { ok: true });
  assert.equal(connections - before, 1, 'one connection for five probes');
  assert.equal(seen.at(-1)!.url, '/health?deep=1');
});

test('an unexpected status fails with the status in the detail', async () => {
  const r = await make({ uri: '/down' }).run(within());
  assert.deepEqual(r, { ok: false, detail: `http GET http://127.0.0.1:${port}/down: status 503 Service Unavailable` });
  assert.equal((await make({ uri: '/moved' }).run(within())).ok, false, '3xx is not 2xx');
  assert.equal((await make({ uri: '/moved', expect: '200-399' }).run(within())).ok, true);
  assert.equal((await make({ uri: '/down', expect: [503] }).run(within())).ok, true);
});

test('method, Host override and extra headers are sent', async () => {
  const c = make({ uri: '/health', method: 'HEAD', host: 'svc.example:8080', headers: { 'x-probe': 'lighthouse' } });
  assert.deepEqual(await c.run(within()), { ok: true });
  const req = seen.at(-1)!;
  assert.equal(req.method, 'HEAD');
  assert.equal(req.headers.host, 'svc.example:8080');
  assert.equal(req.headers['x-probe'], 'lighthouse');
  await make({ uri: '/health' }).run(within());
  assert.equal(seen.at(-1)!.headers.host, `127.0.0.1:${port}`, 'default Host is the target');
});

test('a large body is read past and the check still passes', async () => {
  const c = make({ uri: '/big' });
  assert.deepEqual(await c.run(within()), { ok: true });
  assert.deepEqual(await c.run(within()), { ok: true });
});

test('a closed port fails with the connect error', async () => {
  const r = await make({ uri: '/health' }, closedPort).run(within());
  assert.equal(r.ok, false);
  assert.match(r.detail!, new RegExp(`^http GET http://127\\.0\\.0\\.1:${closedPort}/health: .*ECONNREFUSED`));
});

test('a server that never answers fails at the timeout, and the same check recovers', async () => {
  const c = make({ uri: '/flaky' });
  const ac = new AbortController();
  const t0 = Date.now();
  const pending = c.run(ac.signal);
  setTimeout(() => ac.abort(new Error('timed out after 150 ms')), 150);
  assert.deepEqual(await pending, { ok: false, detail: `http GET http://127.0.0.1:${port}/flaky: timed out after 150 ms` });
  assert.ok(Date.now() - t0 < 2000, 'settled promptly at the abort');
  const r2 = await c.run(AbortSignal.timeout(100));
  assert.deepEqual(r2, { ok: false, detail: `http GET http://127.0.0.1:${port}/flaky: timed out` });
  flakyHangs = false;
  // the aborted connection is gone; the next probe opens a fresh one
  assert.deepEqual(await c.run(within()), { ok: true });
});

test('an already-aborted signal fails without a request', async () => {
  const before = seen.length;
  const r = await make({ uri: '/health' }).run(AbortSignal.abort(new Error('check stopped')));
  assert.deepEqual(r, { ok: false, detail: `http GET http://127.0.0.1:${port}/health: check stopped` });
  assert.equal(seen.length, before);
});

test('one abort listener per signal, kept across probes and moved when the signal changes', async () => {
  const c = make({ uri: '/health' });
  const first = new AbortController();
  for (let i = 0; i < 5; i++) assert.deepEqual(await c.run(first.signal), { ok: true });
  assert.equal(getEventListeners(first.signal, 'abort').length, 1);
  const second = new AbortController();
  assert.deepEqual(await c.run(second.signal), { ok: true });
  assert.equal(getEventListeners(first.signal, 'abort').length, 0, 'moved off the old signal');
  assert.equal(getEventListeners(second.signal, 'abort').length, 1);
  // an abort between probes fails nothing and keeps the connection
  const before = connections;
  second.abort(new Error('stopped'));
  assert.deepEqual(await c.run(new AbortController().signal), { ok: true });
  assert.equal(connections, before, 'same connection');
  c.close!();
  assert.equal(getEventListeners(second.signal, 'abort').length, 0, 'close removes it');
});

test('https: self-signed passes by default, fails with tls_verify', async () => {
  assert.deepEqual(await make({ uri: '/health', https: true }, tlsPort).run(within()), { ok: true });
  const r = await make({ uri: '/health', https: true, tls_verify: true, host: 'localhost' }, tlsPort).run(within());
  assert.equal(r.ok, false);
  assert.match(r.detail!, /^http GET https:\/\/127\.0\.0\.1:\d+\/health: .*(self[- ]signed|certificate)/i);
});

test('https: probes reuse one TLS connection; a host name is sent as the TLS server name', async () => {
  const names: (string | false)[] = [];
  const onSecure = (sock: import('node:tls').TLSSocket) => names.push(sock.servername ?? false);
  tlsServer!.on('secureConnection', onSecure);
  try {
    const c = make({ uri: '/health', https: true, host: 'health.example' }, tlsPort);
    for (let i = 0; i < 3; i++) assert.deepEqual(await c.run(within()), { ok: true });
    assert.deepEqual(names, ['health.example'], 'one handshake, with SNI');
    assert.equal(seen.at(-1)!.headers.host, 'health.example');
    const byIp = make({ uri: '/health', https: true }, tlsPort);
    assert.deepEqual(await byIp.run(within()), { ok: true });
    assert.deepEqual(names, ['health.example', false], 'no SNI for an IP address');
  } finally {
    tlsServer!.off('secureConnection', onSecure);
  }
});

/** A raw TCP server answering each connection's requests with `reply(n)` (n = request number on
 * that connection); `null` means drop the connection without answering. */
test('a probe that timed out after its request went out leaves its connection to the next probe', async () => {
  const c = make({ uri: '/slow-once' });
  const before = connections;
  const ac = new AbortController();
  const pending = c.run(ac.signal);
  setTimeout(() => ac.abort(new Error('timed out after 100 ms')), 100);
  assert.deepEqual(await pending, { ok: false, detail: `http GET http://127.0.0.1:${port}/slow-once: timed out after 100 ms` });
  // the next probe waits behind the late answer on the same connection, then gets its own
  assert.deepEqual(await c.run(within()), { ok: true });
  assert.deepEqual(await c.run(within()), { ok: true });
  assert.equal(connections - before, 1, 'one connection: the timeout did not replace it');
});

async function rawServer(reply: (n: number) => string | null, endAfterReply = false) {
  let conns = 0;
  const open = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    conns++;
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let n = 0;
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      if (!d.includes('\r\n\r\n')) return;
      const r = reply(++n);
      if (r === null) sock.destroy();
      else if (endAfterReply) sock.end(r);
      else sock.write(r);
    });
  });
  const port = await listenOnFreePort(srv);
  const close = () => {
    for (const sock of open) sock.destroy();
    return new Promise((r) => srv.close(r));
  };
  return { port, conns: () => conns, close };
}

test('a chunked body is read to its end and the connection reused', async () => {
  const c = make({ uri: '/chunked' });
  const before = connections;
  assert.deepEqual(await c.run(within()), { ok: true });
  assert.deepEqual(await c.run(within()), { ok: true });
  assert.equal(connections - before, 1);
});

test('an idle connection closed by the server is replaced without a failure', async () => {
  const srv = await rawServer((n) => (n === 1 ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' : null));
  try {
    const c = make({ uri: '/health' }, srv.port);
    assert.deepEqual(await c.run(within()), { ok: true });
    // the next request on that connection is dropped unanswered, as when a server's idle
    // timeout races our send: the check retries once on a fresh connection
    assert.deepEqual(await c.run(within()), { ok: true });
    assert.equal(srv.conns(), 2);
  } finally {
    await srv.close();
  }
});

test('a fresh connection dropped without an answer fails (no retry)', async () => {
  const srv = await rawServer(() => null);
  try {
    const r = await make({ uri: '/health' }, srv.port).run(within());
    assert.deepEqual(r, { ok: false, detail: `http GET http://127.0.0.1:${srv.port}/health: other side closed (UND_ERR_SOCKET)` });
    assert.equal(srv.conns(), 1);
  } finally {
    await srv.close();
  }
});

test('HTTP/1.0 with a body up to the close; a non-HTTP server fails', async () => {
  const old = await rawServer(() => 'HTTP/1.0 200 OK\r\n\r\nbody until close', true);
  const ssh = await rawServer(() => 'SSH-2.0-OpenSSH_9.2\r\n\r\n');
  try {
    const c = make({ uri: '/health' }, old.port);
    assert.deepEqual(await c.run(within()), { ok: true });
    assert.deepEqual(await c.run(within()), { ok: true });
    assert.equal(old.conns(), 2, 'a close-delimited body means a new connection each time');
    const bad = await make({ uri: '/health' }, ssh.port).run(within());
    assert.equal(bad.ok, false);
    assert.match(bad.detail!, /Parse Error|Expected HTTP/);
  } finally {
    await old.close();
    await ssh.close();
  }
});
