import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCheck, execSchema } from '../../../src/checks/exec.js';
import { silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/processes.js';

const deps = { logger: silentLogger(), clock: systemClock };
const dir = mkdtempSync(join(tmpdir(), 'lh-exec-check-'));
const target = { host: '127.0.0.1', port: 8080 };
const make = (raw: Record<string, unknown>) => execCheck.create(execSchema.parse(raw), target, deps);
const within = () => AbortSignal.timeout(10_000);

const pidsIn = (file: string) => readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);

// belt and braces: if an assertion failed before the check killed them, do not leave sleepers
const spawned: number[] = [];
after(() => {
  for (const pid of spawned) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('schema: exactly one of command / argv, env strings, unknown keys rejected', () => {
  assert.deepEqual(execSchema.parse({ command: 'true' }), { command: 'true' });
  assert.deepEqual(execSchema.parse({ argv: ['true'], env: { A: 'b' } }), { argv: ['true'], env: { A: 'b' } });
  for (const bad of [{}, { command: 'true', argv: ['true'] }, { argv: [] }, { command: 'true', shell: 'bash' }, { command: 'true', env: { A: 1 } }]) {
    assert.equal(execSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('exit 0 passes, with the target in the environment', async () => {
  const c = make({ command: 'test "$LIGHTHOUSE_CHECK_HOST:$LIGHTHOUSE_CHECK_PORT" = 127.0.0.1:8080 && test "$EXTRA" = yes', env: { EXTRA: 'yes' } });
  assert.deepEqual(await c.run(within()), { ok: true });
});

test('argv runs without a shell', async () => {
  assert.deepEqual(await make({ argv: ['/bin/sh', '-c', 'exit 0'] }).run(within()), { ok: true });
  const r = await make({ argv: ['false'] }).run(within());
  assert.deepEqual(r, { ok: false, detail: 'exec "false": exit 1' });
});

test('a non-zero exit fails with the code and the output tail', async () => {
  const r = await make({ command: 'echo checking; echo "db unreachable" >&2; exit 3' }).run(within());
  assert.equal(r.ok, false);
  assert.match(r.detail!, /^exec "echo checking; .*": exit 3: checking\ndb unreachable$/);
});

test('the captured output is bounded to its last 4 KiB', async () => {
  const r = await make({ command: 'head -c 100000 /dev/zero | tr "\\0" x; echo; echo THE-END; exit 1' }).run(within());
  assert.equal(r.ok, false);
  assert.ok(r.detail!.endsWith('THE-END'), r.detail!.slice(-40));
  assert.ok(r.detail!.length < 4096 + 200, `detail length ${r.detail!.length}`);
});

test('a missing program fails with the spawn error', async () => {
  const r = await make({ argv: ['/nonexistent/lighthouse-probe'] }).run(within());
  assert.equal(r.ok, false);
  assert.match(r.detail!, /ENOENT/);
});

test('timeout kills the whole process group', async () => {
  const pidFile = join(dir, 'timeout.pids');
  // the shell and a background child both record their pids, then wait forever
  const c = make({ command: `sleep 60 & echo $$ $! > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; wait` });
  const ac = new AbortController();
  const pending = c.run(ac.signal);
  await waitFor(() => existsSync(pidFile), 'the command to start', 5000);
  const pids = pidsIn(pidFile);
  spawned.push(...pids);
  assert.equal(pids.length, 2);
  assert.ok(pids.every(alive), 'running before the abort');
  ac.abort(new Error('timed out after 200 ms'));
  const r = await pending;
  assert.equal(r.ok, false);
  assert.match(r.detail!, /: timed out after 200 ms, killed$/);
  await waitFor(() => !pids.some(alive), `pids ${pids} to be gone`, 5000);
});

test('a background child left behind by a passing command is killed too', async () => {
  const pidFile = join(dir, 'leftover.pids');
  const c = make({ command: `sleep 60 > /dev/null 2>&1 & echo $! > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; exit 0` });
  assert.deepEqual(await c.run(within()), { ok: true });
  const [pid] = pidsIn(pidFile);
  spawned.push(pid);
  await waitFor(() => !alive(pid), `leftover sleep ${pid} to be gone`, 5000);
});
