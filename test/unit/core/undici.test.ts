/**
 * src/core/undici.ts loads undici's dispatcher modules by path, not through the package index:
 * these tests fail if an upgrade moves or changes them (the version is pinned in package.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { agentClass, clientClass, redirectInterceptor } from '../../../src/core/undici.js';

const require = createRequire(import.meta.url);

test('the installed undici is the version package.json pins', () => {
  const pinned = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).dependencies.undici;
  assert.equal(require('undici/package.json').version, pinned);
});

test("the modules loaded by path are undici's own Client, Agent and redirect interceptor, and they work", async () => {
  const undici = require('undici');
  assert.equal(clientClass(), undici.Client);
  assert.equal(agentClass(), undici.Agent);
  const srv = createServer((req, res) => (req.url === '/old' ? res.writeHead(302, { location: '/new' }).end() : res.writeHead(200).end(`at ${req.url}`)));
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const Client = clientClass();
  const client = new Client(origin).compose(redirectInterceptor({ maxRedirections: 2 }));
  try {
    const r = await client.request({ origin, method: 'GET', path: '/old' });
    assert.deepEqual([r.statusCode, await r.body.text()], [200, 'at /new']);
  } finally {
    await client.close();
    await new Promise((ok) => srv.close(ok));
  }
});
