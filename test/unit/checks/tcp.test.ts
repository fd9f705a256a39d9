import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePort, listenOnFreePort } from '../../helpers/backends.js';
import { tcpCheck, tcpSchema } from '../../../src/checks/tcp.js';
import { silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import { waitFor } from '../../helpers/wait.js';

const deps = { logger: silentLogger(), clock: systemClock };
const open = new Set<net.Socket>();
let received: string[] = [];

/** Answers like a ZooKeeper four-letter-word port: a reply without newline, then close. Other
 * queries get a line; "hang" gets nothing; the silent port never writes at all. */
const server = net.createServer((sock) => {
  open.add(sock);
  sock.on('close', () => open.delete(sock));
  sock.on('error', () => undefined);
  sock.setEncoding('latin1');
  sock.on('data', (q: string) => {
    received.push(q);
    if (q === 'ruok') sock.end('imok');
    else if (q === 'stat\n') sock.write('  Mode: standalone  \r\nmore lines\n');
    else if (q === 'eof') sock.end();
    else if (q === 'hang') return;
    else sock.write('xx\n');
  });
});
let port = 0;
let closedPort = 0;

before(async () => {
  port = await listenOnFreePort(server);
  closedPort = await freePort(); // a port nobody listens on
});

after(async () => {
  for (const s of open) s.destroy();
  await new Promise((r) => server.close(r));
});

const make = (raw: Record<string, unknown>, p = port) => tcpCheck.create(tcpSchema.parse(raw), { host: '127.0.0.1', port: p }, deps);
const within = () => AbortSignal.timeout(5000);

test('schema: both keys optional, unknown keys rejected', () => {
  assert.deepEqual(tcpSchema.parse({}), {});
  assert.equal(tcpSchema.safeParse({ query: 'ruok', expect: 'imok' }).success, false);
  assert.equal(tcpSchema.safeParse({ rise: 2 }).success, false, 'common keys are stripped by the reporter, not accepted here');
});

test('connect only: passes when the port accepts', async () => {
  assert.deepEqual(await make({}).run(within()), { ok: true });
});

test('query and response: a reply ended by the close (ZooKeeper ruok)', async () => {
  received = [];
  assert.deepEqual(await make({ query: 'ruok', response: 'imok' }).run(within()), { ok: true });
  assert.deepEqual(received, ['ruok']);
});

test('the first line is compared trimmed', async () => {
  assert.deepEqual(await make({ query: 'stat\n', response: 'Mode: standalone' }).run(within()), { ok: true });
});

test('query without response: passes once sent', async () => {
  received = [];
  assert.deepEqual(await make({ query: 'hello\n' }).run(within()), { ok: true });
  await waitFor(() => received.includes('hello\n'), 'the server to receive the query', 2000);
});

test('a wrong response fails naming both', async () => {
  const r = await make({ query: 'ruok', response: 'wrong' }).run(within());
  assert.deepEqual(r, { ok: false, detail: `tcp 127.0.0.1:${port}: expected 'wrong', got 'imok'` });
  const r2 = await make({ query: 'other', response: 'imok' }).run(within());
  assert.deepEqual(r2, { ok: false, detail: `tcp 127.0.0.1:${port}: expected 'imok', got 'xx'` });
});

test('a close without any reply fails', async () => {
  const r = await make({ query: 'eof', response: 'imok' }).run(within());
  assert.deepEqual(r, { ok: false, detail: `tcp 127.0.0.1:${port}: connection closed without a reply` });
});

test('a closed port fails with the connect error', async () => {
  const r = await make({}, closedPort).run(within());
  assert.equal(r.ok, false);
  assert.match(r.detail!, new RegExp(`^tcp 127\\.0\\.0\\.1:${closedPort}: connect ECONNREFUSED`));
});

test('a server that never answers fails at the abort and the socket is closed', async () => {
  const ac = new AbortController();
  const pending = make({ query: 'hang', response: 'imok' }).run(ac.signal);
  await waitFor(() => received.includes('hang'), 'the query to arrive', 2000);
  const before = open.size;
  ac.abort(new Error('timed out after 150 ms'));
  assert.deepEqual(await pending, { ok: false, detail: `tcp 127.0.0.1:${port}: timed out after 150 ms` });
  await waitFor(() => open.size === before - 1, 'the server to see the socket close', 2000);
  const r = await make({ query: 'hang', response: 'imok' }).run(AbortSignal.timeout(100));
  assert.deepEqual(r, { ok: false, detail: `tcp 127.0.0.1:${port}: timed out` });
});
