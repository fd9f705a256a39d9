import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { redisCheck, redisSchema } from '../../../src/checks/redis.js';
import { silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort, listenOnFreePort } from '../../helpers/backends.js';

const deps = { logger: silentLogger(), clock: systemClock };

/** One raw PING, independent of the code under test, to know when the server is up. */
function rawPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(500, () => s.destroy());
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      s.destroy();
    });
  });
}

let redis: ChildProcess | null = null;
let redisPort = 0;
let redisLog = '';
let fake: net.Server | null = null;
let fakePort = 0;

before(async () => {
  redisPort = await freePort();
  redis = spawn('/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis.stdout!.on('data', (d) => (redisLog += d));
  redis.stderr!.on('data', (d) => (redisLog += d));
  await waitFor(() => rawPing(redisPort), 'redis-server to answer PING', 15_000, () => `\nredis-server output:\n${redisLog}`);
  // a server speaking RESP but demanding AUTH, as a protected Redis does
  fake = net.createServer((sock) => sock.on('data', () => sock.write('-NOAUTH Authentication required.\r\n')));
  fakePort = await listenOnFreePort(fake);
});

after(async () => {
  if (redis?.pid && redis.exitCode === null && redis.signalCode === null) {
    const exited = new Promise((r) => redis!.once('exit', r));
    redis.kill('SIGKILL');
    await exited;
  }
  if (fake) await new Promise((r) => fake!.close(r));
});

const make = (port: number) => redisCheck.create(redisSchema.parse({}), { host: '127.0.0.1', port }, deps);

test('schema: no keys of its own', () => {
  assert.deepEqual(redisSchema.parse({}), {});
  assert.equal(redisSchema.safeParse({ password: 'x' }).success, false);
});

test('a real redis-server passes', async () => {
  const check = make(redisPort);
  for (let i = 0; i < 3; i++) assert.deepEqual(await check.run(AbortSignal.timeout(5000)), { ok: true });
});

test('an error reply fails with the reply as detail', async () => {
  const r = await make(fakePort).run(AbortSignal.timeout(5000));
  assert.deepEqual(r, { ok: false, detail: `redis 127.0.0.1:${fakePort}: expected '+PONG', got '-NOAUTH Authentication required.'` });
});

test('a closed port fails', async () => {
  const port = await freePort();
  const r = await make(port).run(AbortSignal.timeout(5000));
  assert.equal(r.ok, false);
  assert.match(r.detail!, new RegExp(`^redis 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});

test('a stopped redis fails (the same check object)', async () => {
  const check = make(redisPort);
  assert.equal((await check.run(AbortSignal.timeout(5000))).ok, true);
  const exited = new Promise((r) => redis!.once('exit', r));
  redis!.kill('SIGKILL');
  await exited;
  const r = await check.run(AbortSignal.timeout(5000));
  assert.equal(r.ok, false);
  assert.match(r.detail!, /ECONNREFUSED/);
});
