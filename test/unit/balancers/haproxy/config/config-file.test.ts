import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigChecker, HaproxyConfigError, haproxyVersion } from '../../../../../src/balancers/haproxy/config/check.js';
import { ConfigFile, sameText } from '../../../../../src/balancers/haproxy/config/config-file.js';
import { withIdleClose } from '../../../../../src/balancers/haproxy/config/idle-close.js';
import { haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';

const VALID = 'global\n  stats socket /tmp/lh-cfgfile-test.sock level admin\ndefaults\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nbackend b\n  server s 127.0.0.1:1\n';
const INVALID = 'defaults\n  timeout client 1s\nbackend b\n  bogus_directive 1\n';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'lh-cfgfile-'));
}

describe('config file', () => {
  it('sameText: the characters decide, not how the pieces are cut', () => {
    const kept = 'backend b\n  server s 127.0.0.1:1\n';
    assert.ok(sameText(['global\n', kept], ['global\n', kept]), 'same pieces');
    assert.ok(sameText(['global\n', kept], `global\n${kept}`), 'pieces equal to one string');
    assert.ok(sameText(['glo', 'bal\n', '', kept], ['global', `\n${kept}`]), 'pieces cut differently');
    assert.ok(!sameText(['global\n', kept], ['global\n', kept.replace('1\n', '2\n')]), 'one byte differs');
    assert.ok(!sameText(['global\n', kept], ['global\n', kept, '\n']), 'longer on the right');
    assert.ok(!sameText(['global\n', kept, '\n'], ['global\n', kept]), 'longer on the left');
    assert.ok(sameText([], ''), 'no pieces equal the empty string');
  });

  it('writes a text given in pieces, UTF-8, and knows it unchanged in other pieces; the buffer is reused', async () => {
    const dir = tmp();
    try {
      const path = join(dir, 'haproxy.cfg');
      const f = new ConfigFile(path, 'haproxy');
      const cut = [VALID.slice(0, 20), VALID.slice(20, 70), VALID.slice(70)];
      assert.equal(await f.write(cut), true);
      assert.equal(readFileSync(path, 'utf8'), VALID);
      assert.equal(await f.write([VALID.slice(0, 50), VALID.slice(50)]), false, 'same text, other pieces');
      const accented = VALID.replace('backend b\n', '# café ☕\nbackend b\n');
      assert.equal(await f.write([accented.slice(0, 90), accented.slice(90)]), true);
      assert.equal(readFileSync(path, 'utf8'), accented);
      assert.equal(await f.write([VALID]), true, 'shorter again: the old bytes past its end are not written');
      assert.equal(readFileSync(path, 'utf8'), VALID);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
      assert.ok(readFileSync(path, 'utf8').endsWith('# 5\n'), 'the last write is in place');
      const errors: unknown[] = [];
      const g = new ConfigFile(path, 'haproxy', (e) => errors.push(e));
      g.writeLater(() => INVALID);
      await g.flush();
      assert.equal(errors.length, 1);
      assert.ok(existsSync(path) && readFileSync(path, 'utf8').endsWith('# 5\n'), 'the file is whole and holds the last write');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('haproxy -c through one shell', () => {
  it('answers checks in order, with HAProxy\'s own lines; a binary that cannot run rejects', async () => {
    const dir = tmp();
    try {
      const [good, bad] = [join(dir, 'good.cfg'), join(dir, 'bad.cfg')];
      writeFileSync(good, VALID);
      writeFileSync(bad, INVALID);
      const c = new ConfigChecker('haproxy');
      const rs = await Promise.all([good, bad, good, bad].map((f) => c.check(f)));
      assert.deepEqual(rs.map((r) => r.ok), [true, false, true, false]);
      assert.ok(rs[1].output.some((l) => l.includes('[ALERT]') && l.includes('bogus_directive')), rs[1].output.join('\n'));
      assert.ok(!rs[1].output.some((l) => l.includes('[NOTICE]')), 'no NOTICE lines in the output of a clean check');
      c.close();
      assert.equal((await c.check(good)).ok, true, 'a new shell after close');
      c.close();
      await assert.rejects(new ConfigChecker('/nonexistent/haproxy').check(good), /LH_ERR_HAPROXY_PROCESS|cannot run/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('version-dependent defaults', () => {
  it('reads the HAProxy version', () => {
    const v = haproxyVersion('haproxy');
    assert.ok(v && v[0] >= 2, `version ${v}`);
    assert.equal(haproxyVersion('/nonexistent/haproxy'), null);
  });

  it('option idle-close-on-response for mode http defaults on HAProxy >= 2.6 only, unless the user set it', () => {
    const cfg = (defaults: string[]) => haproxySchema.parse({ config_file: '/tmp/x.cfg', socket_file: '/tmp/x.sock', pid_file: '/tmp/x.pid', defaults });
    const idle = (defaults: string[], v: [number, number] | null) => withIdleClose(cfg(defaults), v).defaults.filter((l) => l.includes('idle-close')).join('|');
    assert.equal(idle(['mode http'], [2, 6]), 'option idle-close-on-response');
    assert.equal(idle(['mode http'], [3, 0]), 'option idle-close-on-response');
    assert.equal(idle(['mode http'], [2, 4]), '', 'unknown before 2.6');
    assert.equal(idle(['mode http'], null), '', 'version unknown');
    assert.equal(idle(['mode tcp'], [2, 6]), '', 'ignored (with a warning) in tcp mode');
    assert.equal(idle(['mode http', 'no option idle-close-on-response'], [2, 6]), 'no option idle-close-on-response', "the user's choice stays");
  });
});
