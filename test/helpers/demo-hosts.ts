/**
 * The multi-host demo (scripts/demo.ts --hosts) as a child process, and the check that a run
 * left nothing behind: shared by demo-hosts.test.ts and demo-hosts-interrupt.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { leftovers } from '../../scripts/lib/netns.js';
import { pidAlive } from '../../src/balancers/haproxy/process/process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function demo(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  // within npm test's 180 s a file: past 160 s, Ctrl-C (the demo cleans up), then SIGKILL
  const timers = [setTimeout(() => child.kill('SIGINT'), 160_000), setTimeout(() => child.kill('SIGKILL'), 175_000)];
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => (timers.forEach(clearTimeout), r(code))));
  return { child, output: () => out, exit };
}

/** Every network namespace and link on this machine, by name. */
export function netNames(): string[] {
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]);
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]);
  return [...ns.map((n) => `netns ${n}`), ...links.map((l) => `link ${l}`)].filter((n) => !/ (undefined)?$/.test(n)).sort();
}

/** Everything the run printed that it made is gone: its namespaces and links (by its tag), its
 * subnet's claim, every process it listed at teardown. */
export function assertNothingLeft(out: string, before: string[]): void {
  // what networks of other live runs (another checkout's tests) hold is theirs, not a leftover
  const owner = (x: string) => {
    try {
      return Number(readFileSync(`/run/lighthouse-netns/${x}/pid`, 'utf8').trim());
    } catch {
      return 0;
    }
  };
  const others = (existsSync('/run/lighthouse-netns') ? readdirSync('/run/lighthouse-netns') : []).filter((x) => pidAlive(owner(x)));
  const ours = (n: string) => !others.some((x) => n.split(' ')[1].startsWith(`lh${x}-`));
  assert.deepEqual(netNames().filter((n) => !before.includes(n) && ours(n)), [], 'no namespace or link more than before the run');
  const tag = /^network (lh(\d+)):/m.exec(out);
  assert.ok(tag, `the demo names its network:\n${out}`);
  assert.deepEqual(leftovers(tag[1]), { namespaces: [], links: [] }, `no namespace or link of ${tag[1]} left`);
  assert.equal(existsSync(`/run/lighthouse-netns/${tag[2]}`), false, 'subnet claim released');
  const ended = /^teardown: ended pids ([\d ]*);/m.exec(out);
  assert.ok(ended, `the demo lists the processes it ended:\n${out}`);
  const pids = ended[1].split(' ').filter(Boolean).map(Number);
  assert.deepEqual(pids.filter(pidAlive), [], 'every process the demo ran has ended');
}
