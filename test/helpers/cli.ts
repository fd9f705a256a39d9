/** Running the command-line programs from the sources, and config dirs for them. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Run a bin to its end: exit code and everything it printed. */
export function run(program: string, ...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli', `${program}.ts`), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** A temp config dir holding `files` (relative path -> text). */
export function dir(files: Record<string, string>, prefix = 'lh-cli-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(d, rel, '..'), { recursive: true });
    writeFileSync(join(d, rel), text);
  }
  return d;
}

/** `dir(files)`, removed when test `t` ends. */
export function testDir(t: TestContext, files: Record<string, string>): string {
  const d = dir(files);
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
