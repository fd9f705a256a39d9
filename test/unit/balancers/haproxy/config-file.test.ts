import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFile, HaproxyConfigError } from '../../../../src/balancers/haproxy/config-file.js';

const VALID = 'global\n  stats socket /tmp/lh-cfgfile-test.sock level admin\ndefaults\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nbackend b\n  server s 127.0.0.1:1\n';
const INVALID = 'defaults\n  timeout client 1s\nbackend b\n  bogus_directive 1\n';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lh-cfgfile-'));
}

describe('config file', () => {
  it('writes changed text after haproxy -c, skips unchanged text', async () => {
    const dir = tmp();
    try {
      const path = join(dir, 'haproxy.cfg');
      const f = new ConfigFile(path, 'haproxy');
      assert.equal(await f.write(VALID), true);
      assert.equal(readFileSync(path, 'utf8'), VALID);
      // unchanged: not even validated (a binary that does not exist is never run)
      assert.equal(await new ConfigFile(path, '/nonexistent/haproxy').write(VALID), false);
      assert.deepEqual(readdirSync(dir), ['haproxy.cfg'], 'no candidate left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never puts a rejected config in place, and says what HAProxy said about the target', async () => {
    const dir = tmp();
    try {
      const path = join(dir, 'haproxy.cfg');
      writeFileSync(path, VALID);
      const f = new ConfigFile(path, 'haproxy');
      await assert.rejects(f.write(INVALID), (err: HaproxyConfigError) => {
        assert.equal(err.code, 'LH_ERR_HAPROXY_CONFIG');
        assert.ok(err.lines.some((l) => l.includes(`parsing [${path}:4] : unknown keyword 'bogus_directive'`)), err.lines.join('\n'));
        assert.doesNotMatch(err.message, /candidate/);
        return true;
      });
      assert.equal(readFileSync(path, 'utf8'), VALID);
      assert.deepEqual(readdirSync(dir), ['haproxy.cfg']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('background writes coalesce to the latest', async () => {
    const dir = tmp();
    try {
      const path = join(dir, 'haproxy.cfg');
      const f = new ConfigFile(path, 'haproxy', () => {}, 60_000);
      const done: number[] = [];
      const rendered: number[] = [];
      const text = (i: number) => () => (rendered.push(i), VALID + `# ${i}\n`);
      for (let i = 1; i <= 5; i++) f.writeLater(text(i), () => done.push(i));
      assert.deepEqual(rendered, [], 'nothing rendered in the caller\'s tick');
      await f.flush(); // does the delayed write now
      assert.deepEqual(done, [5], 'a burst renders and writes once, the latest');
      assert.deepEqual(rendered, [5]);
      assert.ok(readFileSync(path, 'utf8').endsWith('# 5\n'));
      const errors: unknown[] = [];
      const g = new ConfigFile(path, 'haproxy', (e) => errors.push(e));
      g.writeLater(() => INVALID);
      await g.flush();
      assert.equal(errors.length, 1);
      assert.ok(existsSync(path) && readFileSync(path, 'utf8').endsWith('# 5\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
