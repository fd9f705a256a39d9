/**
 * lighthouse-reporter end to end: a real ZooKeeper, real HTTP backends, the reporter as its own
 * process, and an independent ZooKeeper session looking at what it publishes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tempDir } from '../helpers/cli.js';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { startBackend, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { waitFor as baseWaitFor } from '../helpers/wait.js';

/** bounds for a loaded machine (they only matter when a test fails) */
const waitFor: typeof baseWaitFor = (fn, what, ms = 30_000, context) => baseWaitFor(fn, what, ms, context);

const HOST = 'app01.lighthouse.test';
const ENV = { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };

const suite = useZooKeeper();
const { cleanup } = suite;

function configDir(root: string, services: Record<string, string>): string {
  const d = tempDir({
    'discovery/zookeeper.yaml': `hosts: ["${suite.zk.connectString}"]\npath: ${root}\nsession_timeout: 2000\n`,
    // no HTTP server (every interface, /run) and a state file of its own: not what these tests are about
    'http.yaml': 'port: false\nsocket: false\n',
    'availability.yaml': 'state_file: availability.json\n',
    ...Object.fromEntries(Object.entries(services).map(([name, text]) => [`services/${name}.yaml`, text])),
  }, 'lh-reporter-');
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const service = (ports: number[], rise = 1, fall = 1, interval = 0.1, extra = '') =>
  `ports: [${ports.join(', ')}]\ndiscovery: zookeeper\nmetadata: {role: primary, zone: b}\nchecks:\n  interval: ${interval}\n  http:\n    uri: /health\n    rise: ${rise}\n    fall: ${fall}\n${extra}`;

async function reporter(dir: string): Promise<Daemon> {
  const d = startDaemon('lighthouse-reporter', [dir], ENV);
  cleanup.push(() => d.stop('SIGKILL'));
  return d;
}

async function backend(id: string): Promise<Backend> {
  const b = await startBackend(id);
  cleanup.push(() => b.close());
  return b;
}

test('registers a healthy instance in the Python Lighthouse wire format, byte for byte', async () => {
  const b = await backend('web-1');
  const dir = await configDir('/lh/wire', { web: service([b.port]) });
  await reporter(dir);
  const z = await waitFor(() => suite.probe.get(`/lh/wire/web/${HOST}:${b.port}`), 'znode');
  const peer = `{\\"ip\\": \\"127.0.0.1\\", \\"name\\": \\"${HOST}\\", \\"port\\": 1024}`;
  assert.equal(
    z.data.toString(),
    `{"host": "${HOST}", "ip": "127.0.0.1", "metadata": "{\\"role\\": \\"primary\\", \\"zone\\": \\"b\\"}", "peer": "${peer}", "port": ${b.port}}`,
  );
  assert.notEqual(z.owner, '0000000000000000', 'ephemeral');
});

test('rise and fall counts are honoured', async () => {
  const b = await backend('web-2');
  b.healthy = false;
  const dir = await configDir('/lh/risefall', { web: service([b.port], 3, 2) });
  await reporter(dir);
  const path = `/lh/risefall/web/${HOST}:${b.port}`;
  await waitFor(() => b.probes.failed >= 2, 'failing probes');
  assert.equal(await suite.probe.get(path), null, 'never registered while failing');
  b.healthy = true;
  await waitFor(() => suite.probe.get(path), 'registered after rise');
  assert.ok(b.probes.ok >= 3, `registered after ${b.probes.ok} passing probes, rise is 3`);
  b.healthy = false;
  const failedBefore = b.probes.failed;
  await waitFor(async () => (await suite.probe.get(path)) === null, 'removed after fall');
  const fails = b.probes.failed - failedBefore;
  assert.ok(fails >= 2 && fails <= 3, `removed after ${fails} failing probes, fall is 2`);
});

test('a live edit adding a port registers it without disturbing the first; a broken edit keeps the last good config', async () => {
  const a = await backend('web-a');
  const c = await backend('web-c');
  // fall 3: one check slow under the suite's load must not unpublish (then re-create) the
  // first znode; what this test is about is the edit
  const dir = await configDir('/lh/edit', { web: service([a.port], 1, 3) });
  const d = await reporter(dir);
  const pathA = `/lh/edit/web/${HOST}:${a.port}`;
  const first = await waitFor(() => suite.probe.get(pathA), 'first port registered');

  await writeFile(join(dir, 'services/web.yaml'), service([a.port, c.port], 1, 3));
  await waitFor(() => suite.probe.get(`/lh/edit/web/${HOST}:${c.port}`), 'second port registered');
  assert.equal((await suite.probe.get(pathA))?.czxid, first.czxid, 'first znode untouched');

  await writeFile(join(dir, 'services/web.yaml'), 'ports: [1\nchecks: {');
  // (the store may first read the file half written, an error of its own: the one wanted names
  // the line and column of the broken YAML)
  const err = await d.waitForLog((l) => l.file === 'services/web.yaml' && l.level === 50 && /services\/web\.yaml:\d+:\d+/.test(String(l.msg)), 'error naming the file, line and column');
  assert.match(String(err.msg), /services\/web\.yaml:\d+:\d+/);
  // the last good config stays in force: both instances keep being checked and published
  const okBefore = a.probes.ok;
  await waitFor(() => a.probes.ok >= okBefore + 3, 'checks still running');
  assert.equal((await suite.probe.get(pathA))?.czxid, first.czxid);
  assert.ok(await suite.probe.get(`/lh/edit/web/${HOST}:${c.port}`), 'the added port is published');
  assert.equal(d.proc.exitCode, null, 'still running');
});

test('session expiry (process frozen past the session timeout) is followed by re-registration', async () => {
  const b = await backend('web-exp');
  const dir = await configDir('/lh/expiry', { web: service([b.port], 1, 1, 0.2) });
  const d = await reporter(dir);
  const path = `/lh/expiry/web/${HOST}:${b.port}`;
  const before = await waitFor(() => suite.probe.get(path), 'registered');
  process.kill(d.pid, 'SIGSTOP');
  try {
    await waitFor(async () => (await suite.probe.get(path)) === null, 'ZooKeeper expires the frozen session', 20_000);
  } finally {
    process.kill(d.pid, 'SIGCONT');
  }
  const again = await waitFor(() => suite.probe.get(path), 're-registered on a new session', 20_000);
  assert.notEqual(again.owner, before.owner, 'owned by a new session');
  await d.waitForLog((l) => /session/i.test(String(l.msg)) && /expir|lost/i.test(String(l.msg)), 'expiry logged');
});

test('SIGTERM removes own znodes at once and exits 0', async () => {
  const b = await backend('web-term');
  const dir = await configDir('/lh/term', { web: service([b.port]) });
  const d = await reporter(dir);
  const path = `/lh/term/web/${HOST}:${b.port}`;
  await waitFor(() => suite.probe.get(path), 'registered');
  const code = await d.stop('SIGTERM');
  assert.equal(code, 0);
  assert.equal(await suite.probe.get(path), null, 'gone as soon as the process exited, not after the session timeout');
});
