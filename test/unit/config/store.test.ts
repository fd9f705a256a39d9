import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.js';
import { mkdtemp, mkdir, writeFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { Registry } from '../../../src/core/registry.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ConfigStore, type LoadedConfig } from '../../../src/config/store.js';
import { roleOf } from '../../../src/config/files.js';
import { formatProblem } from '../../../src/core/errors.js';
import type { CheckPlugin, DiscoveryPlugin } from '../../../src/core/plugin.js';

const fakeCheck = {
  kind: 'check',
  name: 'http',
  schema: z.strictObject({ uri: z.string() }),
  create: () => ({ run: async () => ({ ok: true }) }),
} satisfies CheckPlugin;
const fakeDiscovery = {
  kind: 'discovery',
  name: 'zookeeper',
  schema: z.strictObject({ hosts: z.array(z.string()), path: z.string() }),
  create: () => {
    throw new Error('not used');
  },
} satisfies DiscoveryPlugin;

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-config-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

const store = (dir: string) => new ConfigStore({ dir, registry: new Registry([fakeCheck, fakeDiscovery]), logger: silentLogger(), debounceMs: 20 });

const svc = (port: number | string) => `port: ${port}\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  http:\n    uri: /health\n    rise: 2\n    fall: 1\n`;

test('file roles follow the Lighthouse layout; temp files never match', () => {
  assert.deepEqual(roleOf('services/web.yaml'), { kind: 'service', name: 'web' });
  assert.deepEqual(roleOf('clusters/db.yml'), { kind: 'cluster', name: 'db' });
  assert.deepEqual(roleOf('haproxy.yaml'), { kind: 'balancer', name: 'haproxy' });
  assert.deepEqual(roleOf('logging.yaml'), { kind: 'logging', name: 'logging' });
  for (const f of ['services/.web.yaml.swp', 'services/web.yaml~', 'services/.#web.yaml', 'services/4913', 'services/web.json', 'other/x.yaml', 'services/a/b.yaml'])
    assert.equal(roleOf(f), undefined, f);
});

test('loads a valid dir with defaults filled', async () => {
  const dir = await dirWith({ 'services/web.yaml': svc(8080), 'discovery/zookeeper.yaml': 'hosts: ["127.0.0.1:2181"]\npath: /lighthouse\n' });
  try {
    const { config, problems } = await store(dir).load();
    assert.deepEqual(problems, []);
    const web = config.services.get('web')!;
    assert.deepEqual(web.ports, [8080]);
    assert.equal(web.host, '127.0.0.1');
    assert.equal(web.intervalMs, 2000);
    assert.deepEqual(web.checks, [{ name: 'http', rise: 2, fall: 1, timeoutMs: 1600, options: { uri: '/health' } }]);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('problems name file, line, column and path', async () => {
  const dir = await dirWith({
    'services/a.yaml': 'port: 70000\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http: {uri: /}\n',
    'services/b.yaml': 'port: 80\ndiscovery: zookeeper\nbogus: 1\nchecks:\n  interval: 1\n  http: {uri: /}\n',
    'services/c.yaml': 'port: 80\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  htp: {uri: /}\n',
    'services/d.yaml': 'port: [80\ndiscovery: zookeeper\n',
    'discovery/etcd.yaml': 'hosts: []\n',
  });
  try {
    const { problems, config } = await store(dir).load();
    const lines = problems.map(formatProblem);
    assert.equal(config.services.size, 0);
    assert.ok(lines.some((l) => /^services\/a\.yaml:1:7 port: .*65535/.test(l)), lines.join('\n'));
    assert.ok(lines.includes("services/b.yaml:3:1 bogus: unknown key 'bogus'"), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith("services/c.yaml:5:3 checks.htp: unknown check 'htp'")), lines.join('\n'));
    assert.ok(lines.some((l) => /^services\/d\.yaml:\d+:\d+ /.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith("discovery/etcd.yaml:1:1 no discovery plugin named 'etcd'")), lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a Python Lighthouse dictConfig logging.yaml is accepted', async () => {
  const dir = await dirWith({ 'logging.yaml': 'version: 1\ndisable_existing_loggers: False\nhandlers:\n  cli:\n    class: lighthouse.log.cli.CLIHandler\nroot:\n  handlers: [cli]\n  level: "DEBUG"\n' });
  try {
    const { config, problems } = await store(dir).load();
    assert.deepEqual(problems, []);
    assert.equal(config.logging?.level, 'debug');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('watch: add, change, remove apply live; a broken edit keeps the last good version', async () => {
  const dir = await dirWith({ 'services/web.yaml': svc(8080) });
  const s = store(dir);
  const snaps: LoadedConfig[] = [];
  const problems: string[] = [];
  s.on('change', (snap) => snaps.push(snap));
  s.on('problems', (ps) => problems.push(...ps.map(formatProblem)));
  await s.load();
  await s.watch();
  try {
    await writeFile(join(dir, 'services/api.yml'), svc(9090));
    await waitFor(() => snaps.at(-1)?.services.has('api'), 'api added');

    await writeFile(join(dir, 'services/web.yaml'), svc('"not a port"'));
    await waitFor(() => problems.find((p) => p.startsWith('services/web.yaml:1:7 port:')), 'problem reported');
    assert.deepEqual(s.current().services.get('web')?.ports, [8080], 'last good version stays');

    await writeFile(join(dir, 'services/web.yaml'), svc(8081));
    await waitFor(() => snaps.at(-1)?.services.get('web')?.ports[0] === 8081, 'fixed file applied');

    await writeFile(join(dir, 'services/.web.yaml.swp'), 'garbage: [');
    await unlink(join(dir, 'services/api.yml'));
    await waitFor(() => snaps.at(-1) && !snaps.at(-1)!.services.has('api'), 'api removed');
    assert.deepEqual(s.problems(), [], 'temp file ignored');
  } finally {
    await s.close();
    await rm(dir, { recursive: true });
  }
});

test('haproxy directive lines: refused ones reject the file at the line, ignored ones load as warnings, logged once', async () => {
  const { builtinRegistry } = await import('../../../src/plugins.js');
  const { createLogger } = await import('../../../src/core/logger.js');
  const logged: { level: number; msg: string }[] = [];
  const destination = { write: (line: string) => void logged.push(JSON.parse(line)) };
  const dir = await dirWith({
    // the Lighthouse docs' sprockets cluster: HAProxy ignores `maxconn` in a backend
    'clusters/sprockets.yaml': 'discovery: zookeeper\nmeta_cluster: webapi\nhaproxy:\n  acl: "path_beg /api/sprockets"\n  backend:\n    - "mode http"\n    - "maxconn 500"\n',
    'clusters/bad.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8001\n  backend:\n    - "mode http"\n    - "daemon"\n',
  });
  const s = new ConfigStore({ dir, registry: builtinRegistry(), logger: createLogger({ destination, level: 'info' }), debounceMs: 20 });
  try {
    const { config, problems, warnings } = await s.load();
    assert.deepEqual(problems.map(formatProblem), ["clusters/bad.yaml:6:7 haproxy.backend.1: 'daemon' is not valid in a backend section (valid in: global)"]);
    assert.deepEqual([...config.clusters.keys()], ['sprockets']);
    assert.deepEqual(warnings.map(formatProblem), [
      "clusters/sprockets.yaml:7:7 haproxy.backend.1: warning: 'maxconn' has no effect in a backend section, HAProxy ignores it there (valid in: defaults, frontend, listen); use 'fullconn', or 'maxconn' on the server lines",
    ]);
    const warned = () => logged.filter((l) => l.level === 40 && l.msg.startsWith('config warning: clusters/sprockets.yaml:7:7')).length;
    assert.equal(warned(), 1);
    await s.reload();
    assert.equal(warned(), 1, 'the same file again: not logged again');
    await writeFile(join(dir, 'clusters/sprockets.yaml'), 'discovery: zookeeper\nmeta_cluster: webapi\nhaproxy:\n  acl: "path_beg /api/sprockets"\n  backend: ["mode http", "fullconn 500"]\n');
    await s.reload();
    assert.deepEqual(s.warnings(), [], 'fixed: no warning left');
  } finally {
    await s.close();
    await rm(dir, { recursive: true });
  }
});
