/**
 * http.yaml tls_cert / tls_key: the TCP listener speaks HTTPS with certificates this test makes
 * with openssl; a renewed certificate is served after the next check (fake clock), a renewal
 * that does not load keeps the one in force; files that do not load fail the bind (retried);
 * the two keys go together. The action-token auth layer answers 401 on an `action` route
 * without a token, and a streamed reply arrives piece by piece.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeClock } from '../../../src/core/clock.js';
import { HttpServer } from '../../../src/http/server.js';
import { Router } from '../../../src/http/router.js';
import { httpSchema, httpSettings } from '../../../src/http/schema.js';
import { TLS_RECHECK_MS } from '../../../src/http/tls.js';
import { freePort } from '../../helpers/backends.js';
import { waitFor } from '../../helpers/wait.js';
import { testCa } from '../../helpers/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'lh-tls-'));
const servers: HttpServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const certs = testCa(dir);
certs.issue('first', 'node01.test');
certs.issue('second', 'node01.test');
const ca = readFileSync(join(dir, 'ca.crt'));

/** the CN of the certificate the server presents */
function served(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'node01.test' }, () => {
      resolve(String(s.getPeerCertificate().subject.CN));
      s.end();
    });
    s.once('error', reject);
  });
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

async function start(router = new Router()) {
  copyFileSync(join(dir, 'first.crt'), join(dir, 'node.crt'));
  copyFileSync(join(dir, 'first.key'), join(dir, 'node.key'));
  const clock = new FakeClock();
  const log = capture();
  const server = new HttpServer({ router, logger: log.logger, clock });
  servers.push(server);
  const port = await freePort();
  server.configure(httpSettings(httpSchema.parse({ bind_address: '127.0.0.1', port, socket: false, tls_cert: 'node.crt', tls_key: 'node.key' }), 'reporter', dir));
  await waitFor(() => server.listening().tcp, 'listening');
  return { server, port, clock, log };
}

test('HTTPS with the configured certificate; a renewal is served after the next check; a broken one keeps the last', async () => {
  const { port, clock, log } = await start();
  assert.equal(await served(port), 'first');
  copyFileSync(join(dir, 'second.crt'), join(dir, 'node.crt'));
  copyFileSync(join(dir, 'second.key'), join(dir, 'node.key'));
  assert.equal(await served(port), 'first', 'not before the check');
  clock.advance(TLS_RECHECK_MS);
  await waitFor(async () => (await served(port)) === 'second', 'the renewed certificate served');
  // a certificate that does not match its key: logged, the second stays in use
  copyFileSync(join(dir, 'first.crt'), join(dir, 'node.crt'));
  clock.advance(TLS_RECHECK_MS);
  await waitFor(() => log.lines.find((l) => /does not load/.test(String(l.msg))), 'the broken renewal logged');
  assert.equal(await served(port), 'second');
});

test('tls_cert and tls_key go together', () => {
  const r = httpSchema.safeParse({ tls_cert: 'a.crt' });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /tls_cert and tls_key go together/);
  assert.equal(httpSchema.safeParse({ reporter: { tls_key: 'a.key' } }).success, false);
  assert.deepEqual(httpSettings(httpSchema.parse({ tls_cert: 'a.crt', tls_key: '/k/a.key' }), 'reporter', '/etc/lh').tls, { cert: '/etc/lh/a.crt', key: '/k/a.key' });
});

test('an action route: no token 401 before the handler; a verified token reaches it; a streamed reply comes in pieces', async () => {
  let release: () => void = () => {};
  const router = new Router().add('POST', '/actions/:name', 'action', (req) => ({
    status: 200,
    stream: async (write) => {
      write(`${JSON.stringify({ who: req.caller.subject })}\n`);
      await new Promise<void>((r) => (release = r));
      write('{"event":"end"}\n');
    },
  }));
  const { server, port } = await start(router);
  server.setActionTokenVerifier(async (t) => (t === 'good' ? { ok: true, claims: { sub: 'alice', jti: 'id-01234567', iat: 0, exp: 9e9, actions: ['*'] } } : { ok: false, status: 401, message: 'token expired' }));
  const post = (token?: string) =>
    new Promise<{ status: number; chunks: string[]; first: Promise<string> }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, ca, servername: 'node01.test', method: 'POST', path: '/actions/x', headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        const chunks: string[] = [];
        const first = new Promise<string>((r) => res.once('data', (c: Buffer) => r(String(c))));
        res.on('data', (c: Buffer) => chunks.push(String(c)));
        resolve({ status: res.statusCode!, chunks, first });
      });
      req.once('error', reject);
      req.end('{}');
    });
  assert.equal((await post()).status, 401);
  assert.equal((await post('bad')).status, 401);
  const ok = await post('good');
  assert.equal(ok.status, 200);
  assert.equal(await ok.first, '{"who":"action-token:alice"}\n', 'the first piece before the producer ends');
  release();
  await waitFor(() => ok.chunks.join('').includes('"end"'), 'the rest');
});

test('a caller that stops reading is dropped once 16 MiB wait for it: the producer is told to stop', async () => {
  let aborted = false;
  let written = 0;
  const router = new Router().add('POST', '/actions/:name', 'action', () => ({
    status: 200,
    stream: async (write, signal) => {
      const chunk = `${'x'.repeat(1024 * 1024)}\n`;
      while (!signal.aborted && written < 512) {
        write(chunk);
        written++;
        await new Promise((r) => setImmediate(r));
      }
      aborted = signal.aborted;
    },
  }));
  const { server, port } = await start(router);
  server.setActionTokenVerifier(async () => ({ ok: true, claims: { sub: 'a', jti: 'id-01234567', iat: 0, exp: 9e9, actions: ['*'] } }));
  const req = request({ host: '127.0.0.1', port, ca, servername: 'node01.test', method: 'POST', path: '/actions/x', headers: { authorization: 'Bearer t' } }, (res) => res.pause());
  req.on('error', () => {});
  req.end('{}');
  await waitFor(() => aborted, 'the producer stopped', 30_000);
  assert.ok(written < 512, `stopped after ${written} MiB`);
  req.destroy();
});
