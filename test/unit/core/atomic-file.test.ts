import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageFile, writeFileAtomic, writeFileAtomicSync } from '../../../src/core/atomic-file.js';

for (const [kind, write] of [
  ['async', writeFileAtomic],
  ['sync', async (...a: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...a)],
] as const) {
  test(`${kind}: a new file gets the given mode; pieces are written in order; no temp file is left`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-atomic-'));
    try {
      const f = join(dir, 'state.json');
      await write(f, ['{"a":', Buffer.from('1}')], { mode: 0o600 });
      assert.equal(readFileSync(f, 'utf8'), '{"a":1}');
      assert.equal(statSync(f).mode & 0o777, 0o600, 'mode of a new file');
      assert.deepEqual(readdirSync(dir), ['state.json'], 'only the target is left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${kind}: an existing file keeps its mode and owner`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-atomic-'));
    try {
      const f = join(dir, 'haproxy.cfg');
      writeFileSync(f, 'old');
      chmodSync(f, 0o640);
      const root = process.getuid?.() === 0;
      if (root) chownSync(f, 4321, 4321);
      await write(f, 'new');
      assert.equal(readFileSync(f, 'utf8'), 'new');
      const st = statSync(f);
      assert.equal(st.mode & 0o777, 0o640, 'mode kept');
      if (root) assert.deepEqual([st.uid, st.gid], [4321, 4321], 'owner kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${kind}: a failed write leaves the old file and no temp file`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-atomic-'));
    try {
      const f = join(dir, 'x');
      writeFileSync(f, 'old');
      await assert.rejects(async () => write(f, [Symbol('not data') as unknown as string]), 'a piece that is not data fails the write');
      assert.equal(readFileSync(f, 'utf8'), 'old');
      assert.deepEqual(readdirSync(dir), ['x'], 'temp file removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const blocking of [false, true]) {
  test(`stageFile (blocking: ${blocking}): the target is untouched until commit; discard leaves nothing; commit keeps mode`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-atomic-'));
    try {
      const f = join(dir, 'haproxy.cfg');
      writeFileSync(f, 'old');
      chmodSync(f, 0o640);
      const dropped = await stageFile(f, 'dropped', { blocking });
      assert.equal(readFileSync(dropped.tmp, 'utf8'), 'dropped', 'the temp file can be checked where it is');
      assert.equal(readFileSync(f, 'utf8'), 'old', 'not in place before commit');
      await dropped.discard();
      assert.deepEqual(readdirSync(dir), ['haproxy.cfg'], 'discard removes the temp file');
      const kept = await stageFile(f, ['n', 'ew'], { blocking });
      assert.notEqual(kept.tmp, dropped.tmp, 'a unique temp file per stage');
      await kept.commit();
      await kept.discard(); // after commit: nothing to remove, the target stays
      assert.equal(readFileSync(f, 'utf8'), 'new');
      assert.equal(statSync(f).mode & 0o777, 0o640, 'mode kept');
      assert.deepEqual(readdirSync(dir), ['haproxy.cfg']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
