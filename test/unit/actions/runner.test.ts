/**
 * The runner on real processes (sh scripts in a temp dir): lines as they come, arguments and
 * environment as data, exit codes, and the timeout taking the whole process group. Time is a
 * FakeClock: the timeout fires when the test says so.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, systemClock } from '../../../src/core/clock.js';
import { MAX_LINE, runScript, type StreamName } from '../../../src/actions/runner.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'lh-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const base = { env: { PATH: '/usr/bin:/bin' }, cwd: dir, timeoutMs: 60_000, clock: systemClock };

test('lines from stdout and stderr as they come, the last one without a newline, the exit code', async () => {
  const flag = join(dir, 'go');
  const path = script('two.sh', `echo first\necho oops >&2\nwhile [ ! -e "${flag}" ]; do sleep 0.02; done\nprintf 'last'\nexit 3`);
  const seen: [StreamName, string][] = [];
  const run = runScript({ ...base, path, args: [] }, (s, l) => seen.push([s, l]));
  // the script is blocked until the flag exists: what arrived was streamed, not buffered
  await waitFor(() => seen.length === 2, 'the first two lines before the script ends');
  assert.deepEqual(seen.sort(), [['stderr', 'oops'], ['stdout', 'first']]);
  writeFileSync(flag, '');
  const r = await run;
  assert.deepEqual(seen.at(-1), ['stdout', 'last']);
  assert.equal(r.exitCode, 3);
  assert.equal(r.timedOut, false);
});

test('arguments and environment values are data: quotes, $(...), ; and newlines are not run', async () => {
  const out = join(dir, 'args.out');
  const pwned = join(dir, 'pwned');
  const path = script('args.sh', `for a in "$@"; do printf '%s\\n--\\n' "$a"; done > "${out}"\nprintf '%s' "$weird" >> "${out}"`);
  const hostile = [`$(touch ${pwned})`, `\`touch ${pwned}\``, `'; touch ${pwned}; '`, 'two\nlines', '"quoted"'];
  const r = await runScript({ ...base, path, args: hostile, env: { ...base.env, weird: `$(touch ${pwned}); "x" 'y'\nz` } }, () => {});
  assert.equal(r.exitCode, 0);
  assert.equal(readFileSync(out, 'utf8'), `${hostile.map((a) => `${a}\n--\n`).join('')}$(touch ${pwned}); "x" 'y'\nz`);
  assert.equal(existsSync(pwned), false, 'nothing was executed');
});

test('a line longer than MAX_LINE arrives in pieces; UTF-8 split across chunks arrives whole', async () => {
  const path = script('long.sh', `head -c ${MAX_LINE + 10} /dev/zero | tr '\\0' 'a'; echo; printf 'h\\303\\251llo\\n'`);
  const lines: string[] = [];
  await runScript({ ...base, path, args: [] }, (_, l) => lines.push(l));
  assert.deepEqual(lines.map((l) => l.length), [MAX_LINE, 10, 5]);
  assert.equal(lines[2], 'héllo');
});

test('the timeout kills the whole process group: background children too', async () => {
  const pids = join(dir, 'pids');
  // the child does not hold the output pipes: the run ends with the script, whatever the child does
  const path = script('hang.sh', `sleep 300 >/dev/null 2>&1 &\necho $! > "${pids}"\necho $$ >> "${pids}"\necho started\nwait`);
  const clock = new FakeClock();
  const seen: string[] = [];
  const run = runScript({ ...base, path, args: [], timeoutMs: 5000, clock, graceMs: 1000 }, (_, l) => seen.push(l));
  await waitFor(() => seen.includes('started') && readFileSync(pids, 'utf8').split('\n').filter(Boolean).length === 2, 'the script and its child running');
  const [child, shell] = readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number);
  clock.advance(4999);
  assert.equal(alive(child), true, 'nothing killed before the timeout');
  clock.advance(1);
  const r = await run;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGTERM');
  await waitFor(() => !alive(child) && !alive(shell), 'the background child is gone with the script', 5000);
});

test('a group that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const path = script('stubborn.sh', `trap '' TERM\necho ready\nwhile :; do sleep 0.05; done`);
  const clock = new FakeClock();
  const seen: string[] = [];
  const run = runScript({ ...base, path, args: [], timeoutMs: 100, clock, graceMs: 1000 }, (_, l) => seen.push(l));
  await waitFor(() => seen.includes('ready'), 'ready');
  clock.advance(100);
  clock.advance(1000);
  const r = await run;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
});

test('an aborted signal (the caller went away) ends the run as the timeout does', async () => {
  const path = script('wait.sh', 'echo ready\nsleep 300');
  const ac = new AbortController();
  const seen: string[] = [];
  const run = runScript({ ...base, path, args: [], signal: ac.signal }, (_, l) => seen.push(l));
  await waitFor(() => seen.includes('ready'), 'ready');
  ac.abort();
  const r = await run;
  assert.equal(r.cancelled, true);
  assert.equal(r.timedOut, false);
});

test('a script that cannot start says why', async () => {
  const r = await runScript({ ...base, path: join(dir, 'missing.sh'), args: [] }, () => {});
  assert.match(r.error ?? '', /ENOENT/);
  assert.equal(r.exitCode, null);
});

