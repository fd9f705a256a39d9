/**
 * scripts/lib/netns.ts leaves nothing behind: a network's owner that exits without tearing
 * down is cleaned up by its exit hook, and one killed outright leaves a stale claim that the
 * next network on that subnet takes over after ending its processes and removing its names.
 * Root only (namespaces): skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createNetwork, leftovers, netnsUnavailable } from '../../scripts/lib/netns.js';
import { pidAlive } from '../../src/balancers/haproxy/process/process.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const unavailable = await netnsUnavailable();
if (unavailable) process.stdout.write(`# netns tests skipped: ${unavailable}\n`);
const skip = unavailable ?? false;

interface Owned {
  child: ChildProcess;
  tag: string;
  x: number;
  pids: number[];
}

async function owner(preferX: number): Promise<Owned> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/netns-owner.ts', String(preferX)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), 'the owner to print its network', 30_000);
  return { child, ...(JSON.parse(line) as { tag: string; x: number; pids: number[] }) };
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));

test('netns: without root, namespaces are declined with the reason', async () => {
  assert.match((await netnsUnavailable(1000)) ?? '', /need root/);
});

test('netns: an owner that exits without teardown leaves no namespace, link, process or claim', { skip }, async () => {
  const o = await owner(180 + (process.pid % 30));
  assert.equal(leftovers(o.tag).namespaces.length, 2, 'two namespaces while the owner runs');
  assert.ok(o.pids.every(pidAlive), 'the hosts run their processes');
  o.child.stdin!.write('exit\n');
  await exited(o.child);
  assert.deepEqual(leftovers(o.tag), { namespaces: [], links: [] }, 'names removed by the exit hook');
  assert.deepEqual(o.pids.filter(pidAlive), [], 'processes ended by the exit hook');
  assert.equal(existsSync(`/run/lighthouse-netns/${o.x}`), false, 'claim released');
});

test('netns: a killed owner\'s network is taken over and cleared by the next one on its subnet', { skip }, async () => {
  const o = await owner(210 + (process.pid % 30));
  o.child.kill('SIGKILL');
  await exited(o.child);
  assert.equal(leftovers(o.tag).namespaces.length, 2, 'a killed owner leaves its namespaces');
  assert.ok(o.pids.every(pidAlive), "and its hosts' processes");
  const net = await createNetwork({ hosts: [{ name: 'c' }], preferX: o.x });
  try {
    assert.equal(net.tag, o.tag, 'the stale claim is taken over');
    assert.deepEqual(leftovers(o.tag).namespaces, [`${o.tag}-c`], "only the new network's namespace");
    await waitFor(() => o.pids.every((p) => !pidAlive(p)), "the old hosts' processes ended", 5000);
  } finally {
    await net.teardown();
  }
  assert.deepEqual(leftovers(o.tag), { namespaces: [], links: [] }, 'teardown removes every name');
});
