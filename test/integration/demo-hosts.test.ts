/**
 * `npm run demo -- --hosts --check`: the documented examples on their own hosts (network
 * namespaces) come up and answer through the client's HAProxy, and the demo then leaves no
 * namespace, link or process behind; Ctrl-C while it starts leaves nothing either. Runs the
 * built bins (dist/, as `npm test` builds it). Root only: skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { leftovers, netnsUnavailable } from '../../scripts/lib/netns.js';
import { pidAlive } from '../../src/balancers/haproxy/process.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const unavailable = await netnsUnavailable();
if (unavailable) process.stdout.write(`# multi-host demo tests skipped: ${unavailable}\n`);
const skip = unavailable ?? false;

function demo(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => (clearTimeout(timer), r(code))));
  return { child, output: () => out, exit };
}

/** Everything the run printed that it made is gone: its namespaces and links (by its tag), its
 * subnet's claim, every process it listed at teardown. */
function assertNothingLeft(out: string): void {
  const tag = /^network (lh(\d+)):/m.exec(out);
  assert.ok(tag, `the demo names its network:\n${out}`);
  assert.deepEqual(leftovers(tag[1]), { namespaces: [], links: [] }, `no namespace or link of ${tag[1]} left`);
  assert.equal(existsSync(`/run/lighthouse-netns/${tag[2]}`), false, 'subnet claim released');
  const ended = /^teardown: ended pids ([\d ]*);/m.exec(out);
  assert.ok(ended, `the demo lists the processes it ended:\n${out}`);
  const pids = ended[1].split(' ').filter(Boolean).map(Number);
  assert.deepEqual(pids.filter(pidAlive), [], 'every process the demo ran has ended');
}

test('npm run demo -- --hosts --check: every example answers through the client; nothing is left behind', { skip, timeout: 300_000 }, async () => {
  const d = demo(['--hosts', '--check']);
  const code = await d.exit;
  const out = d.output();
  assert.equal(code, 0, out);
  assert.match(out, /check ok: every example reached through the client's HAProxy/);
  for (const what of ['webapp through', 'each node at its own address', 'widgets through', 'sprockets through', 'the partner']) {
    assert.match(out, new RegExp(`^ {2}ok {4}${what}`, 'm'), `check '${what}' passed`);
  }
  const pids = /^teardown: ended pids ([\d ]*);/m.exec(out)?.[1].split(' ').filter(Boolean) ?? [];
  assert.ok(pids.length >= 30, `the processes of 14 hosts were listed (${pids.length})`);
  assertNothingLeft(out);
});

test('npm run demo -- --hosts: Ctrl-C while the nodes start ends everything', { skip, timeout: 300_000 }, async () => {
  const d = demo(['--hosts']);
  await waitFor(() => /starting the nodes/.test(d.output()), 'the demo to start its nodes', 200_000, () => d.output());
  d.child.kill('SIGINT');
  const code = await d.exit;
  assert.equal(code, 0, d.output());
  assertNothingLeft(d.output());
});
