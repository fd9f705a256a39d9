import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseYaml } from '../../../src/config/yaml.js';
import { ConfigStore } from '../../../src/config/store.js';
import { ConfigError } from '../../../src/core/errors.js';
import { Secrets } from '../../../src/core/redact.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Registry } from '../../../src/core/registry.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins.js';
import type { CheckPlugin } from '../../../src/core/plugin.js';

test('${env:} and ${file:} resolve in place, $${ is a literal, HAProxy ${NAME} is left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lh-refs-'));
  try {
    writeFileSync(join(dir, 'pw'), 'from-a-file\n');
    const secrets = new Secrets();
    const text = `a: \${env:USER_X}\nb: "Bearer \${file:${join(dir, 'pw')}}"\nc: $\${env:USER_X}\nd: "\${HAPROXY_VAR}"\nlist: ["\${env:USER_X}"]\n`;
    const { value } = parseYaml(text, 'f.yaml', { env: { USER_X: 'alice-x' }, secrets });
    assert.deepEqual(value, { a: 'alice-x', b: 'Bearer from-a-file', c: '${env:USER_X}', d: '${HAPROXY_VAR}', list: ['alice-x'] });
    assert.equal(secrets.redact('user alice-x with from-a-file'), 'user *** with ***');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unresolvable reference is a problem at its line and column naming the reference', () => {
  try {
    parseYaml('x:\n  token: ${env:NOT_SET_EVER}\n  key: ${file:/nonexistent/key}\n', 'services/web.yaml', { env: {} });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError: ${String(err)}`);
    assert.deepEqual(
      err.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.path.join('.')}: ${p.message}`),
      [
        'services/web.yaml:2:10 x.token: ${env:NOT_SET_EVER}: environment variable NOT_SET_EVER is not set',
        'services/web.yaml:3:8 x.key: ${file:/nonexistent/key}: cannot read /nonexistent/key: no such file (ENOENT)',
      ],
    );
  }
});

test('the store masks secrets in the problems it reports, whatever message quotes them', async () => {
  // a check plugin whose schema quotes the value it rejects, as a careless plugin might
  const quoting: CheckPlugin = { kind: 'check', name: 'quoting', schema: z.strictObject({ word: z.string().refine((w) => w === 'ok', { error: (i) => `bad word ${String(i.input)}` }) }), create: () => ({ run: async () => ({ ok: true }) }) };
  const dir = mkdtempSync(join(tmpdir(), 'lh-redact-'));
  try {
    mkdirSync(join(dir, 'services'));
    writeFileSync(join(dir, 'services/web.yaml'), 'port: 80\ndiscovery: zk\nchecks:\n  interval: 1\n  quoting:\n    word: ${env:WORD}\n');
    const secrets = new Secrets();
    const store = new ConfigStore({ dir, registry: new Registry([...BUILTIN_PLUGINS, quoting]), logger: silentLogger(), secrets, env: { WORD: 'hunter2-secret' } });
    const { problems } = await store.load();
    assert.equal(problems.length, 1);
    assert.equal(problems[0].message, 'bad word ***');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
