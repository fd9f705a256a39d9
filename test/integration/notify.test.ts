/**
 * Notifications end to end: the reporter as its own process, a real ZooKeeper, HTTP backends
 * whose health the test switches, a webhook receiver and an SMTP server (smtp-server) on
 * loopback. Also: secrets from ${env:} / ${file:} never appear in a log line or in
 * `lighthousectl validate` output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { dir as tempDir } from '../helpers/cli.js';
import { listenOnFreePort, startBackend, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = 'app07.lighthouse.test';
const ENV = { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };

// tickTime 500: sessions of up to 10 s, so a loaded machine does not expire the test's own
const suite = useZooKeeper({ tickTime: 500 });
const { cleanup } = suite;

interface Receiver {
  url: string;
  got: { body: Record<string, unknown>; headers: IncomingHttpHeaders }[];
}

async function receiver(): Promise<Receiver> {
  const r: Receiver = { url: '', got: [] };
  const s: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c));
    req.on('end', () => {
      r.got.push({ body: JSON.parse(text) as Record<string, unknown>, headers: req.headers });
      res.end('ok');
    });
  });
  r.url = `http://127.0.0.1:${await listenOnFreePort(s)}/hook`;
  cleanup.push(() => (s.closeAllConnections(), new Promise((ok) => s.close(ok))));
  return r;
}

/** A webhook that accepts connections and never answers. */
async function deadWebhook(): Promise<string> {
  const held: Socket[] = [];
  const s = createTcpServer((sock) => void held.push(sock));
  const port = await listenOnFreePort(s);
  cleanup.push(() => (held.forEach((x) => x.destroy()), new Promise((ok) => s.close(ok))));
  return `http://127.0.0.1:${port}/hook`;
}

async function backend(id: string): Promise<Backend> {
  const b = await startBackend(id);
  cleanup.push(() => b.close());
  return b;
}

async function configDir(root: string, files: Record<string, string>): Promise<string> {
  const d = tempDir({ 'discovery/zookeeper.yaml': `hosts: ["${suite.zk.connectString}"]\npath: ${root}\nsession_timeout: 4000\n`, ...files }, 'lh-notify-');
  cleanup.push(() => rm(d, { recursive: true, force: true }));
  await mkdir(join(d, 'services'), { recursive: true }); // for services written later
  return d;
}

const service = (port: number, extra = '') => `port: ${port}\ndiscovery: zookeeper\nchecks:\n  interval: 0.1\n  http:\n    uri: /health\n${extra}`;

function reporter(dir: string, env: Record<string, string> = {}): Daemon {
  const d = startDaemon('lighthouse-reporter', [dir], { ...ENV, ...env });
  cleanup.push(() => d.stop('SIGKILL'));
  return d;
}

test('webhook: exactly one notification per confirmed transition, none for a short flap, none again after a restart', async () => {
  const b = await backend('web-n1');
  const hook = await receiver();
  const dir = await configDir('/lh/n1', {
    'services/web.yaml': service(b.port),
    'notify.yaml': `retries_before_notify: 3\nstate_file: STATE\nbackends:\n  - type: webhook\n    url: ${hook.url}\n`,
  });
  await writeFile(join(dir, 'notify.yaml'), `retries_before_notify: 5\nstate_file: ${join(dir, 'state.json')}\nbackends:\n  - type: webhook\n    url: ${hook.url}\n`);
  let d = reporter(dir);
  const path = `/lh/n1/web/${HOST}:${b.port}`;
  await waitFor(() => suite.probe.get(path), 'registered', 30_000);

  // a flap of two failed probes: shorter than the confirmations
  const failed0 = b.probes.failed;
  b.failNext = 2;
  await waitFor(() => b.probes.failed >= failed0 + 2, 'two failed probes');
  const ok0 = b.probes.ok;
  await waitFor(() => b.probes.ok >= ok0 + 6, 'healthy again for a while');
  assert.equal(hook.got.length, 0, 'no notification for a flap');

  b.healthy = false;
  await waitFor(() => hook.got.length > 0, 'the down notification', 30_000);
  const n = hook.got[0].body;
  assert.equal(n.service, 'web');
  assert.equal(n.node, HOST);
  assert.equal(n.port, b.port);
  assert.equal(n.from, 'up');
  assert.equal(n.to, 'down');
  assert.equal(n.kind, 'instance');
  assert.match(String(n.detail), /status 503/);
  assert.ok(!Number.isNaN(Date.parse(String(n.time))), `a time: ${String(n.time)}`);
  const failed1 = b.probes.failed;
  await waitFor(() => b.probes.failed >= failed1 + 5, 'still failing');
  assert.equal(hook.got.length, 1, 'one notification for one transition');

  // a restart while down: the state file says down was notified already
  assert.equal(await d.stop('SIGTERM'), 0);
  d = reporter(dir);
  const failed2 = b.probes.failed;
  await waitFor(() => b.probes.failed >= failed2 + 6, 'checked again after the restart', 30_000);
  assert.equal(hook.got.length, 1, 'nothing re-sent after the restart');

  b.healthy = true;
  await waitFor(() => hook.got.length >= 2, 'the up notification', 30_000);
  assert.deepEqual([hook.got[1].body.from, hook.got[1].body.to], ['down', 'up']);
  await d.waitForLog((l) => /notifying: instance web down -> up/.test(String(l.msg)), 'logged');
});

test('email through SMTP, and a dead webhook slows no check (side by side with a reporter whose webhook lives)', async () => {
  const mails: { from?: string; to: string[]; text: string }[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      let text = '';
      stream.on('data', (c: Buffer) => (text += c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined, to: session.envelope.rcptTo.map((r) => r.address), text });
        cb();
      });
    },
  });
  await new Promise<void>((ok) => smtp.listen(0, '127.0.0.1', ok));
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  cleanup.push(() => new Promise((ok) => smtp.close(() => ok(undefined))));

  const a = await backend('web-dead');
  const bb = await backend('web-live');
  const live = await receiver();
  const dead = await deadWebhook();
  const notify = (backends: string) => `retries_before_notify: 1\nqueue_size: 5\ntimeout: 30\nstate_file: STATE\nbackends:\n${backends}`;
  // eight transitions in a minute: more than flap damping's default lets through (not tested here)
  const undamped = 'flap_damping: {max_changes: 100, window: 60}\n';
  const dirA = await configDir('/lh/n2a', { 'services/web.yaml': service(a.port, undamped) });
  const dirB = await configDir('/lh/n2b', { 'services/web.yaml': service(bb.port, undamped) });
  await writeFile(join(dirA, 'notify.yaml'), notify(`  - type: webhook\n    url: ${dead}\n  - type: email\n    host: 127.0.0.1\n    port: ${smtpPort}\n    starttls: false\n    from: lighthouse@node.test\n    to: [ops@example.test]\n`).replace('STATE', join(dirA, 'state.json')));
  await writeFile(join(dirB, 'notify.yaml'), notify(`  - type: webhook\n    url: ${live.url}\n`).replace('STATE', join(dirB, 'state.json')));
  const da = reporter(dirA);
  reporter(dirB);
  await waitFor(async () => (await suite.probe.get(`/lh/n2a/web/${HOST}:${a.port}`)) && (await suite.probe.get(`/lh/n2b/web/${HOST}:${bb.port}`)), 'both registered', 60_000);

  // flip both every few probes: each flip is a notification, which the dead webhook holds.
  // The first flip loads what sending needs (nodemailer): counted from the second one.
  const flip = async (healthy: boolean) => {
    a.healthy = bb.healthy = healthy;
    const [na, nb] = [a.probes.ok + a.probes.failed, bb.probes.ok + bb.probes.failed];
    await waitFor(() => a.probes.ok + a.probes.failed >= na + 6 && bb.probes.ok + bb.probes.failed >= nb + 6, 'probes after a flip', 30_000);
  };
  await flip(false);
  await waitFor(() => mails.length >= 1 && live.got.length >= 1, 'the first notifications', 30_000);
  await flip(true);
  const start = { a: a.probes.ok + a.probes.failed, b: bb.probes.ok + bb.probes.failed };
  for (let i = 0; i < 6; i++) {
    a.healthy = bb.healthy = i % 2 === 1;
    const [na, nb] = [a.probes.ok + a.probes.failed, bb.probes.ok + bb.probes.failed];
    await waitFor(() => a.probes.ok + a.probes.failed >= na + 6 && bb.probes.ok + bb.probes.failed >= nb + 6, 'probes after a flip', 30_000);
  }
  a.healthy = bb.healthy = true;
  const probesA = a.probes.ok + a.probes.failed - start.a;
  const probesB = bb.probes.ok + bb.probes.failed - start.b;
  assert.ok(probesA >= 0.8 * probesB, `checks behind a dead webhook kept pace: ${probesA} probes vs ${probesB}`);
  await waitFor(() => live.got.length >= 6, 'the live webhook got the transitions', 30_000, () => JSON.stringify(live.got.map((g) => [g.body.from, g.body.to])));

  // (with retries_before_notify: 1 a probe that timed out while the daemon started may make
  // the first state down: look for a down notification, not at the first mail)
  const mail = await waitFor(() => mails.find((m) => /is down \(was up\)/.test(m.text)), 'an email about a down', 30_000);
  assert.deepEqual(mail.to, ['ops@example.test']);
  assert.equal(mail.from, 'lighthouse@node.test');
  assert.match(mail.text, /Subject: Lighthouse: web:\d+ is down/);
  assert.match(mail.text, /web on app07\.lighthouse\.test:\d+ is down \(was up\)/);
  assert.equal(da.proc.exitCode, null);
});

/** GET `path` from the daemon's status API on its Unix socket (trusted: no users.yaml needed) */
function overSocket(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

test('secrets from ${env:} and ${file:} are used and never appear in a log line, an API answer or lighthousectl validate', async () => {
  const user = 'svc-user-7f3a';
  const password = 'pw-5e2b9c1d-file';
  const search = 'needle-91c4e6a2';
  const hookToken = 'hook-tok-0d8e3b77';
  const seen: string[] = [];
  const s = createServer((req, res) => {
    seen.push(String(req.headers.authorization));
    const ok = req.headers.authorization === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    res.writeHead(ok ? 200 : 401).end('all fine here');
  });
  const port = await listenOnFreePort(s);
  cleanup.push(() => (s.closeAllConnections(), new Promise((ok) => s.close(ok))));
  const hook = await receiver();
  const dir = await configDir('/lh/n3', { 'http.yaml': 'port: false\nsocket: api.sock\n' });
  await writeFile(join(dir, 'password'), `${password}\n`);
  const auth = `    username: \${env:WEB_USER}\n    password: \${file:${join(dir, 'password')}}\n`;
  await writeFile(join(dir, 'services/web.yaml'), service(port, auth));
  // a check whose failure detail would quote its (secret) search string
  await writeFile(join(dir, 'services/needle.yaml'), service(port, `${auth}    search: \${env:SEARCH}\n`));
  await writeFile(join(dir, 'notify.yaml'), `retries_before_notify: 1\nstate_file: ${join(dir, 'state.json')}\nbackends:\n  - type: webhook\n    url: ${hook.url}\n    headers: {Authorization: "Bearer \${env:HOOK_TOKEN}"}\n`);
  const env = { WEB_USER: user, SEARCH: search, HOOK_TOKEN: hookToken };
  const d = reporter(dir, env);
  await waitFor(() => suite.probe.get(`/lh/n3/web/${HOST}:${port}`), 'registered with the credentials', 30_000);
  await d.waitForLog((l) => l.check === 'http' && String(l.detail).includes('body does not match'), 'the needle check fails, with a detail', 30_000);
  // what the status API and the metrics say of these checks (their details included)
  const api = await Promise.all(['/api/v1/status', '/metrics'].map((p) => overSocket(join(dir, 'api.sock'), p)));
  assert.match(api[0], /body does not match/, 'the status shows the failing check with its detail');
  // a notification goes out with the secret header
  s.close();
  s.closeAllConnections();
  await waitFor(() => hook.got.some((g) => g.body.to === 'down'), 'a notification');
  assert.equal(hook.got[0].headers.authorization, `Bearer ${hookToken}`);

  const validate = (e: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', `${ROOT}/src/cli/lighthousectl.ts`, 'validate', dir], { cwd: ROOT, env: { ...process.env, ...e }, encoding: 'utf8' });
  const good = validate(env);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  const missing = validate({ WEB_USER: user, SEARCH: search });
  assert.equal(missing.status, 78);
  assert.match(missing.stdout, /notify\.yaml:\d+:\d+ backends\.0\.headers\.Authorization: \$\{env:HOOK_TOKEN\}: environment variable HOOK_TOKEN is not set/);

  await d.stop('SIGTERM');
  const everything = [...d.logs.map((l) => JSON.stringify(l)), ...d.raw, ...api, good.stdout, good.stderr, missing.stdout, missing.stderr].join('\n');
  assert.ok(d.logs.length > 10, 'there are logs to look at');
  assert.match(everything, /\*\*\*/, 'a masked secret shows as ***');
  for (const secret of [user, password, search, hookToken, Buffer.from(`${user}:${password}`).toString('base64')]) {
    assert.ok(!everything.includes(secret), `${secret.slice(0, 6)}... appears in the output`);
  }
});
