/**
 * Action definitions through the config store: metadata.yaml validated with positions, scripts
 * listed with their execute bit, revoked.yaml, node.yaml ranks and metadata; live changes in an
 * action's directory (a script added, chmod-ed) reach the config; the variant for a node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../../src/core/registry.js';
import { silentLogger } from '../../../src/core/logger.js';
import { formatProblem } from '../../../src/core/errors.js';
import { ConfigStore, type LoadedConfig } from '../../../src/config/store.js';
import { roleOf } from '../../../src/config/files.js';
import { scriptFor } from '../../../src/actions/definition.js';
import { waitFor } from '../../helpers/wait.js';

async function dirWith(files: Record<string, string | [string, number]>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-actions-def-'));
  for (const [rel, v] of Object.entries(files)) {
    const [text, mode] = Array.isArray(v) ? v : [v, 0o644];
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
    await chmod(join(dir, rel), mode);
  }
  return dir;
}
const store = (dir: string) => new ConfigStore({ dir, registry: new Registry([]), logger: silentLogger(), debounceMs: 20 });
const SH: [string, number] = ['#!/bin/sh\necho hi\n', 0o755];

test('roles: actions/NAME/metadata.yaml and actions/revoked.yaml; nothing deeper, no temp files', () => {
  assert.deepEqual(roleOf('actions/uptime/metadata.yaml'), { kind: 'action', name: 'uptime' });
  assert.deepEqual(roleOf('actions/uptime/metadata.yml'), { kind: 'action', name: 'uptime' });
  assert.deepEqual(roleOf('actions/revoked.yaml'), { kind: 'revoked', name: 'revoked' });
  for (const f of ['actions/uptime/other.yaml', 'actions/a/b/metadata.yaml', 'actions/.x/metadata.yaml', 'actions/metadata.yaml', 'actions/uptime/default.sh']) assert.equal(roleOf(f), undefined, f);
});

test('an action loads with defaults, its scripts and their execute bit; the first rank with a variant wins', async () => {
  const dir = await dirWith({
    'actions/restart/metadata.yaml': 'summary: Restart the app\nconfirm: true\n',
    'actions/restart/default.sh': SH,
    'actions/restart/aws.sh': SH,
    'actions/restart/metal.sh': ['#!/bin/sh\n', 0o644],
    'actions/revoked.yaml': 'revoked:\n  - id: 0123456789abcdef\n    reason: lost\n  - fedcba9876543210\n',
    'node.yaml': 'ranks: [gpu, aws]\nmetadata: {ec2_id: i-1, port: 80}\n',
  });
  try {
    const s = store(dir);
    const { config, problems, warnings } = await s.load();
    assert.deepEqual(problems, []);
    assert.deepEqual(warnings.map(formatProblem), ['actions/restart/metal.sh warning: not executable (chmod +x metal.sh): it will not run']);
    const a = config.actions!.get('restart')!;
    assert.equal(a.summary, 'Restart the app');
    assert.equal(a.confirm, true);
    assert.equal(a.timeoutMs, 60_000);
    assert.equal(a.concurrency, 1);
    assert.deepEqual(Object.keys(a.scripts), ['aws', 'default', 'metal']);
    assert.equal(a.scripts.metal.executable, false);
    assert.deepEqual(config.revokedTokens, ['0123456789abcdef', 'fedcba9876543210']);
    assert.deepEqual(config.node.ranks, ['gpu', 'aws']);
    assert.deepEqual(config.node.metadata, { ec2_id: 'i-1', port: 80 });
    assert.equal(scriptFor(a, ['gpu', 'aws']).variant, 'aws');
    assert.equal(scriptFor(a, ['metal', 'aws']).variant, 'metal', 'a variant that will not run is still the one chosen (and refused), not skipped');
    assert.equal(scriptFor(a, []).variant, 'default');
    await s.close();
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('named errors: bad metadata.yaml at its line, no default.sh, a bad action name, a bad revoked id', async () => {
  const dir = await dirWith({
    'actions/a/metadata.yaml': 'summary: A\ntimeout: -1\n',
    'actions/a/default.sh': SH,
    'actions/b/metadata.yaml': 'summary: B\n',
    'actions/b/aws.sh': SH,
    'actions/list/metadata.yaml': 'summary: L\n',
    'actions/list/default.sh': SH,
    'actions/revoked.yaml': 'revoked: [short]\n',
    'node.yaml': 'metadata: {k: "a\\0b"}\n',
  });
  try {
    const { problems, config } = await store(dir).load();
    const text = problems.map(formatProblem).sort();
    assert.equal(text.length, 5, text.join('\n'));
    assert.match(text[0], /^actions\/a\/metadata\.yaml:2:10 timeout: /);
    assert.match(text[1], /^actions\/b\/metadata\.yaml no default\.sh beside metadata\.yaml/);
    assert.match(text[2], /^actions\/list\/metadata\.yaml 'list' cannot be an action name/);
    assert.match(text[3], /^actions\/revoked\.yaml:1:\d+ revoked\.0: expected a token id/);
    assert.match(text[4], /^node\.yaml:1:\d+ metadata\.k: a NUL character/);
    assert.equal(config.actions!.size, 0);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('live: a script added, one chmod-ed, metadata edited: the config follows; a broken edit keeps the last good one', async () => {
  const dir = await dirWith({ 'actions/up/metadata.yaml': 'summary: Up\n', 'actions/up/default.sh': ['#!/bin/sh\n', 0o644] });
  const s = store(dir);
  try {
    const { config } = await s.load();
    assert.equal(config.actions!.get('up')!.scripts.default.executable, false);
    let last: LoadedConfig = config;
    s.on('change', (snap) => (last = snap));
    await s.watch();
    await chmod(join(dir, 'actions/up/default.sh'), 0o755);
    await waitFor(() => last.actions!.get('up')?.scripts.default.executable === true, 'chmod +x seen');
    await writeFile(join(dir, 'actions/up/aws.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await waitFor(() => last.actions!.get('up')?.scripts.aws, 'aws.sh seen');
    await writeFile(join(dir, 'actions/up/metadata.yaml'), 'summary: [broken\n');
    await waitFor(() => s.problems().length === 1, 'broken edit reported');
    assert.equal(last.actions!.get('up')?.summary, 'Up', 'last good version in force');
    await mkdir(join(dir, 'actions/new'));
    await writeFile(join(dir, 'actions/new/default.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(dir, 'actions/new/metadata.yaml'), 'summary: New\n');
    await waitFor(() => last.actions!.get('new'), 'a new action directory seen');
  } finally {
    await s.close();
    await rm(dir, { recursive: true });
  }
});
