/** The README's main command works: the demo comes up and serves traffic through HAProxy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('npm run demo -- --check: ZooKeeper, HAProxy, writer, reporter and sample services come up', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--check'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /check ok: HAProxy pid \d+ serving web and api/);
  assert.match(out, /HAProxy stats page\s+http:\/\/127\.0\.0\.1:\d+\/haproxy/);
});
