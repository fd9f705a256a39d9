/**
 * The package as users install it: `npm pack` of the sources (which builds dist/ through
 * `prepare`), then the tarball installed into an empty prefix, whose three programs must answer
 * --version and --help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('a packed tarball installs into an empty prefix and its bins run --version and --help', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lh-pack-'));
  try {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    // packed from a copy, so its build (`prepare`) never rewrites the dist/ other tests run
    const src = join(dir, 'src');
    await mkdir(src);
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'templates', 'config-examples']) {
      await cp(join(ROOT, f), join(src, f), { recursive: true });
    }
    await symlink(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir, '--loglevel=error'], { cwd: src, maxBuffer: 1 << 24 });
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = new Set(files.map((f) => f.path));
    for (const p of ['dist/cli/lighthouse-writer.js', 'dist/cli/lighthouse-reporter.js', 'dist/cli/lighthousectl.js', 'templates/haproxy.cfg.hbs']) {
      assert.ok(paths.has(p), `the tarball holds ${p}`);
    }
    assert.ok(![...paths].some((p) => p.startsWith('test/') || p.startsWith('src/')), 'no tests or sources in the tarball');
    const prefix = join(dir, 'prefix');
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, filename)], { maxBuffer: 1 << 24 });
    for (const bin of ['lighthouse-reporter', 'lighthouse-writer', 'lighthousectl']) {
      const v = await run(join(prefix, 'bin', bin), ['--version']);
      assert.equal(v.stdout.trim(), version, `${bin} --version`);
      const h = await run(join(prefix, 'bin', bin), ['--help']);
      assert.match(h.stdout, /Usage:/, `${bin} --help says how to use it`);
      assert.match(h.stdout, /exit codes?/i, `${bin} --help names the exit codes`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
