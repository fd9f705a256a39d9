/**
 * The daemons' HTTP server on real sockets: routing, the one auth layer (local socket trusted,
 * bearer tokens over TCP, nothing without a token file), bodies, and listeners that retry when
 * they cannot bind instead of failing the daemon.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as netServer } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeClock, systemClock } from '../../../src/core/clock.js';
import { HttpServer } from '../../../src/http/server.js';
import { Router } from '../../../src/http/router.js';
import type { z } from 'zod';
import type { Clock } from '../../../src/core/clock.js';
import { httpSchema, httpSettings } from '../../../src/http/schema.js';
import { freePort } from '../../helpers/backends.js';
import { waitFor } from '../../helpers/wait.js';

const dirs: string[] = [];
const servers: HttpServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) };
}

function router(): Router {
  return new Router()
    .add('GET', '/', 'public', () => ({ status: 404, body: 'node is unavailable\n' }))
    .add('GET', '/things/:name', 'public', (req) => ({ status: 200, body: { name: req.params.name, who: req.caller.subject } }))
    .add('PUT', '/state', 'change', async (req) => ({ status: 200, body: { got: await req.json(), who: req.caller.subject, via: req.caller.via } }));
}

async function start(config: z.input<typeof httpSchema>, clock: Clock = new FakeClock()) {
  const dir = await mkdtemp(join(tmpdir(), 'lh-http-'));
  dirs.push(dir);
  const log = capture();
  const server = new HttpServer({ router: router(), logger: log.logger, clock });
  servers.push(server);
  const port = config.port === undefined ? await freePort() : config.port;
  const settings = httpSettings(httpSchema.parse({ bind_address: '127.0.0.1', socket: 'run/test.sock', ...config, port }), 'reporter', dir);
  server.configure(settings);
  return { dir, server, settings, log, port: port as number, socket: settings.socket! };
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(where: { port: number } | { socketPath: string }, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ ...('port' in where ? { host: '127.0.0.1', port: where.port } : where), method, path, headers: opts.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('routes: text and JSON answers, HEAD without a body, 404 and 405 with Allow', async () => {
  const { server, port } = await start({});
  await waitFor(() => server.listening().tcp, 'listening');
  const root = await send({ port }, 'GET', '/');
  assert.deepEqual([root.status, root.headers['content-type'], root.text], [404, 'text/plain; charset=utf-8', 'node is unavailable\n']);
  const head = await send({ port }, 'HEAD', '/');
  assert.deepEqual([head.status, head.text, head.headers['content-length']], [404, '', '20']);
  const param = await send({ port }, 'GET', '/things/a%20b');
  assert.deepEqual(JSON.parse(param.text), { name: 'a b', who: null });
  assert.equal((await send({ port }, 'GET', '/nothing')).status, 404);
  const wrong = await send({ port }, 'POST', '/state');
  assert.deepEqual([wrong.status, wrong.headers.allow], [405, 'PUT']);
});

test('changes: the local socket is trusted (its mode set); TCP needs a valid bearer token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lh-http-tok-'));
  dirs.push(dir);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, '# subject token\nops 0123456789abcdef-ops\nshort\n0123456789abcdef-anon\n');
  const { server, port, socket, log } = await start({ token_file: tokenFile, socket_mode: '0640' });
  await waitFor(() => server.listening().socket && server.listening().tcp, 'both listeners');
  assert.equal((await stat(socket)).mode & 0o777, 0o640);
  const body = '{"state": "disabled"}';

  const local = await send({ socketPath: socket }, 'PUT', '/state', { body, headers: { 'x-lighthouse-user': 'alice' } });
  assert.deepEqual(JSON.parse(local.text), { got: { state: 'disabled' }, who: 'local:alice', via: 'socket' });
  const odd = await send({ socketPath: socket }, 'PUT', '/state', { body, headers: { 'x-lighthouse-user': 'alice;rm -rf' } });
  assert.equal(JSON.parse(odd.text).who, 'local:unknown', 'a user name outside the safe alphabet is not recorded');

  const none = await send({ port }, 'PUT', '/state', { body });
  assert.deepEqual([none.status, none.headers['www-authenticate']], [401, 'Bearer']);
  const wrong = await send({ port }, 'PUT', '/state', { body, headers: { authorization: 'Bearer 0123456789abcdef-xxx' } });
  assert.equal(wrong.status, 401);
  assert.equal((await send({ port }, 'GET', '/things/x', { headers: { authorization: 'Bearer nope-nope-nope-nope' } })).status, 401, 'a wrong token is refused on any route');
  const ok = await send({ port }, 'PUT', '/state', { body, headers: { authorization: 'Bearer 0123456789abcdef-ops' } });
  assert.deepEqual([ok.status, JSON.parse(ok.text).who], [200, 'token:ops']);
  const anon = await send({ port }, 'PUT', '/state', { body, headers: { authorization: 'bearer 0123456789abcdef-anon' } });
  assert.equal(JSON.parse(anon.text).who, 'token:token');
  assert.equal((await send({ port }, 'PUT', '/state', { body, headers: { authorization: 'Bearer short' } })).status, 401, 'a too short token is never accepted');
  const logged = log.lines.map((l) => String(l.msg)).join('\n');
  assert.match(logged, /line\(s\) 3 ignored/);
  assert.doesNotMatch(logged, /0123456789abcdef/, 'no token in the log');
});

test('no token_file: no changes over TCP (403); bad bodies are 400 / 413', async () => {
  const { server, port, socket } = await start({});
  await waitFor(() => server.listening().socket && server.listening().tcp, 'both listeners');
  const r = await send({ port }, 'PUT', '/state', { body: '{}', headers: { authorization: 'Bearer 0123456789abcdef-ops' } });
  assert.equal(r.status, 403);
  assert.match(JSON.parse(r.text).error, /no usable token_file/);
  const notJson = await send({ socketPath: socket }, 'PUT', '/state', { body: '{state: ' });
  assert.deepEqual([notJson.status, /body is not JSON/.test(JSON.parse(notJson.text).error)], [400, true]);
  const big = await send({ socketPath: socket }, 'PUT', '/state', { body: `"${'x'.repeat(70_000)}"` }).catch((err: Error) => ({ status: 413, text: err.message }));
  assert.equal(big.status, 413);
});

test('a port that is taken is logged and retried until free; the server keeps no one waiting meanwhile', async () => {
  const port = await freePort();
  const holder = netServer();
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
  const clock = new FakeClock();
  const { server, log } = await start({ port, socket: false }, clock);
  await waitFor(() => log.lines.find((l) => /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); retrying/.test(String(l.msg))), 'the failure logged');
  clock.advance(1000); // a retry while still taken: not logged again
  await waitFor(() => log.lines.filter((l) => /cannot listen/.test(String(l.msg))).length === 1 && clock.now() === 1000, 'second attempt');
  await new Promise((r) => holder.close(r));
  clock.advance(2000);
  await waitFor(() => server.listening().tcp, 'listening once the port is free');
  assert.equal((await send({ port }, 'GET', '/')).status, 404);
});

test('a socket file left by a dead daemon is replaced; a file that is not a socket is left alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lh-http-stale-'));
  dirs.push(dir);
  const stale = join(dir, 'stale.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => child.on('exit', r));
  assert.ok((await stat(stale)).isSocket(), 'the dead daemon left its socket file');
  const a = await start({ socket: stale, port: false }, new FakeClock());
  await waitFor(() => a.server.listening().socket, 'listening on the stale path');
  assert.equal((await send({ socketPath: stale }, 'GET', '/')).status, 404);
  await a.server.stop();
  await assert.rejects(stat(stale), /ENOENT/, 'removed at stop');

  const plain = join(dir, 'not-a-socket');
  await writeFile(plain, 'keep me');
  const b = await start({ socket: plain, port: false }, systemClock);
  await waitFor(() => b.log.lines.find((l) => /exists and is not a socket|EEXIST/.test(JSON.stringify(l))), 'refusal logged');
  assert.equal(await readFile(plain, 'utf8'), 'keep me');
  await b.server.stop();
});

test('read access: Basic users of users.yaml read (roles passed on), never change; a route whose access is a function follows it live', async () => {
  const { hashSecret, Users } = await import('../../../src/http/users.js');
  const log = capture();
  let probesNeedAuth = false;
  const r = new Router()
    .add('GET', '/status', 'read', (req) => ({ status: 200, body: { who: req.caller.subject, roles: req.caller.roles } }))
    .add('GET', '/metrics', () => (probesNeedAuth ? 'read' : 'public'), () => ({ status: 200, body: 'm\n' }))
    .add('PUT', '/state', 'change', () => ({ status: 200, body: 'changed\n' }));
  const server = new HttpServer({ router: r, logger: log.logger, clock: new FakeClock() });
  servers.push(server);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'lh-http-read-'));
  dirs.push(dir);
  server.configure(httpSettings(httpSchema.parse({ bind_address: '127.0.0.1', socket: false, port }), 'reporter', dir), new Users({ bob: { role: ['dev'], password_hash: await hashSecret('pw') } }));
  await waitFor(() => server.listening().tcp, 'listening');
  const bob = { authorization: `Basic ${Buffer.from('bob:pw').toString('base64')}` };
  const none = await send({ port }, 'GET', '/status');
  assert.deepEqual([none.status, none.headers['www-authenticate']], [401, 'Basic realm="lighthouse", charset="UTF-8"'], 'no credentials: 401 asking for Basic');
  assert.deepEqual(JSON.parse((await send({ port }, 'GET', '/status', { headers: bob })).text), { who: 'user:bob', roles: ['dev'] }, 'the user and roles');
  assert.equal((await send({ port }, 'PUT', '/state', { headers: bob, body: '{}' })).status, 403, 'users read, never change');
  assert.equal((await send({ port }, 'GET', '/metrics')).status, 200, 'public while so');
  probesNeedAuth = true;
  assert.equal((await send({ port }, 'GET', '/metrics')).status, 401, 'credentials needed once http.yaml says so');
  assert.equal((await send({ port }, 'GET', '/metrics', { headers: bob })).status, 200, 'and given');
});

test('without users.yaml the status is read on the local socket only: a token_file token over TCP gets 403', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lh-http-nousers-'));
  dirs.push(dir);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'ops 0123456789abcdef-ops\n');
  const r = new Router()
    .add('GET', '/status', 'read', (req) => ({ status: 200, body: { who: req.caller.subject } }))
    .add('PUT', '/state', 'change', () => ({ status: 200, body: 'changed\n' }));
  const server = new HttpServer({ router: r, logger: capture().logger, clock: new FakeClock() });
  servers.push(server);
  const port = await freePort();
  const socket = join(dir, 'http.sock');
  server.configure(httpSettings(httpSchema.parse({ bind_address: '127.0.0.1', socket, port, token_file: tokenFile }), 'reporter', dir));
  await waitFor(() => server.listening().tcp && server.listening().socket, 'listening');
  const ops = { authorization: 'Bearer 0123456789abcdef-ops' };
  const tcp = await send({ port }, 'GET', '/status', { headers: ops });
  assert.equal(tcp.status, 403, tcp.text);
  assert.match(JSON.parse(tcp.text).error, /local socket only/);
  assert.equal((await send({ port }, 'PUT', '/state', { headers: ops, body: '{}' })).status, 200, 'the token still changes the state');
  assert.equal(JSON.parse((await send({ socketPath: socket }, 'GET', '/status')).text).who, 'local:unknown', 'the socket reads');
});

