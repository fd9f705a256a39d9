/**
 * Probes and metrics of both daemons, end to end: a real ZooKeeper, the reporter and the writer
 * as their own processes, the writer's HAProxy, HTTP backends whose health the test switches.
 * /metrics is parsed as Prometheus text and its counters must move with what happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { startBackend, freePort, type Backend } from '../helpers/backends.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { haproxyEnv, type HaproxyEnv } from '../helpers/haproxy.js';
import { waitFor } from '../helpers/wait.js';
import { parsePrometheusText, type Exposition } from '../helpers/prom-text.js';
import { hashSecret } from '../../src/http/users.js';

const HOST = 'node1.lighthouse.test';
const INTERVAL_S = 0.5;
const FALL = 2;
/** the issue's bound: the checks' own time to decide (fall x interval), plus 1 s */
const TRUTH_WITHIN_MS = FALL * INTERVAL_S * 1000 + 1000;
let zk: ZkServer;
let hap: HaproxyEnv;
let dir: string;
let reporter: Daemon;
let writer: Daemon;
let ports: { reporter: number; writer: number };
const backends: Backend[] = [];

const get = (daemon: keyof typeof ports, path: string) => fetch(`http://127.0.0.1:${ports[daemon]}${path}`);
async function metrics(daemon: keyof typeof ports): Promise<Exposition> {
  const r = await get(daemon, '/metrics');
  assert.equal(r.status, 200, 'line 31');
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await r.text());
}

function grew(later: Exposition, earlier: Exposition, name: string, labels: Record<string, string>) {
  const [a, b] = [later.value(name, labels), earlier.value(name, labels)];
  assert.ok(a > b, `${name}${JSON.stringify(labels)} did not grow: ${b} -> ${a}`);
}

const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
async function status(daemon: keyof typeof ports, user = 'root', pw = 'root-pw') {
  const r = await fetch(`http://127.0.0.1:${ports[daemon]}/api/v1/status`, { headers: basic(user, pw) });
  assert.equal(r.status, 200, `${user}: ${r.status}`);
  return (await r.json()) as { result: Record<string, unknown>[]; reloads?: unknown[] };
}

/** wait until the metric's value is `want` (bounded), saying what it last was */
async function until(daemon: keyof typeof ports, name: string, labels: Record<string, string>, want: number, what: string) {
  let last = NaN;
  await waitFor(async () => (last = (await metrics(daemon)).value(name, labels)) === want, what, 30_000, () => `; ${name} was ${last}`);
}

before(async () => {
  zk = await startZooKeeper({ tickTime: 200 });
  hap = await haproxyEnv();
  for (const id of ['m1', 'm2']) backends.push(await startBackend(id));
  dir = await mkdtemp(join(tmpdir(), 'lh-status-'));
  for (const d of ['balancers', 'discovery', 'clusters', 'services']) await mkdir(join(dir, d));
  ports = { reporter: await freePort(), writer: await freePort() };
  await writeFile(join(dir, 'balancers/haproxy.yaml'), stringify(hap.raw));
  await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  await writeFile(join(dir, 'users.yaml'), stringify({ root: { role: ['admin'], password_hash: await hashSecret('root-pw') }, dev: { role: ['dev'], password_hash: await hashSecret('dev-pw') }, ops: { role: ['ops'], password_hash: await hashSecret('ops-pw') } }));
  await writeFile(join(dir, 'clusters/web.yaml'), `discovery: zookeeper\nroles: [dev]\nhaproxy:\n  port: ${await freePort()}\n  backend: ["mode http"]\n`);
  await writeFile(join(dir, 'services/web.yaml'), `ports: [${backends.map((b) => b.port).join(', ')}]\ndiscovery: zookeeper\nroles: [dev]\nchecks:\n  interval: ${INTERVAL_S}\n  http: {uri: /health, fall: ${FALL}, rise: ${FALL}, timeout: 0.5}\n`);
  // entries of another role: a one-role user must not see them
  await writeFile(join(dir, 'clusters/pay.yaml'), `discovery: zookeeper\nroles: [finance]\nhaproxy:\n  port: ${await freePort()}\n  backend: ["mode http"]\n`);
  await writeFile(join(dir, 'services/pay.yaml'), `port: ${backends[0].port}\ndiscovery: zookeeper\nroles: [finance]\nchecks:\n  interval: 1\n  http: {uri: /health}\n`);
  await writeFile(join(dir, 'http.yaml'), stringify({ bind_address: '127.0.0.1', socket: false, reporter: { port: ports.reporter }, writer: { port: ports.writer } }));
  const env = { LIGHTHOUSE_ADVERTISE_HOST: HOST, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };
  reporter = startDaemon('lighthouse-reporter', [dir], env);
  writer = startDaemon('lighthouse-writer', [dir], env);
});

after(async () => {
  await writer?.stop('SIGKILL');
  await reporter?.stop('SIGKILL');
  await hap?.cleanup();
  for (const b of backends) await b.close();
  await zk?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('both daemons answer /health and become ready', async () => {
  for (const d of ['reporter', 'writer'] as const) {
    await waitFor(async () => (await get(d, '/ready').catch(() => null))?.status === 200, `${d} ready`, 60_000);
    const h = await get(d, '/health');
    assert.equal(h.status, 200, 'line 72');
  }
});

test('the counters move with a backend failing and recovering', async () => {
  const port = String(backends[0].port);
  await until('writer', 'lighthouse_cluster_members', { cluster: 'web' }, 2, 'the writer sees both members');
  const r0 = await metrics('reporter');
  const w0 = await metrics('writer');
  assert.equal(r0.types.get('lighthouse_check_duration_seconds'), 'histogram');
  assert.equal(r0.value('lighthouse_instance_up', { service: 'web', port }), 1, 'line 82');
  assert.equal(r0.value('lighthouse_zk_session_up', { discovery: 'zookeeper' }), 1, 'line 83');
  assert.ok(r0.value('lighthouse_check_results_total', { service: 'web', port, check: 'http', result: 'pass' }) > 0, 'passing probes counted');
  assert.equal(w0.value('lighthouse_config_errors'), 0, 'line 85');

  backends[0].healthy = false;
  const webState = async () => (await status('reporter')).result.find((e) => e.name === 'web' && e.port === backends[0].port)?.state;
  await waitFor(async () => (await webState()) === 'unhealthy', 'the status API says unhealthy', TRUTH_WITHIN_MS);
  await until('writer', 'lighthouse_cluster_members', { cluster: 'web' }, 1, 'the writer sees one member');
  const r1 = await metrics('reporter');
  assert.equal(r1.value('lighthouse_instance_up', { service: 'web', port }), 0, 'line 90');
  assert.equal(r1.value('lighthouse_znodes_published'), r1.value('lighthouse_instance_up'), 'one znode per healthy instance');
  assert.equal(r1.value('lighthouse_instance_transitions_total', { service: 'web', port, to: 'down' }), r0.value('lighthouse_instance_transitions_total', { service: 'web', port, to: 'down' }) + 1);
  grew(r1, r0, 'lighthouse_check_results_total', { port, result: 'fail' });
  const w1 = await waitFor(async () => {
    const m = await metrics('writer');
    return m.value('lighthouse_writer_convergence_seconds_count') > w0.value('lighthouse_writer_convergence_seconds_count') ? m : null;
  }, 'a convergence observed', 30_000);
  // a member leaving is applied through the runtime API, or by a reload when HAProxy's running
  // structure is not known yet (just started)
  const applied = (m: Exposition) => m.value('lighthouse_writer_runtime_commands_total', { balancer: 'haproxy' }) + m.value('lighthouse_writer_reloads_total', { balancer: 'haproxy' });
  assert.ok(applied(w1) > applied(w0), `neither runtime commands nor reloads: ${applied(w0)} -> ${applied(w1)}; ${w1.samples.filter((x) => /apply_duration_seconds_count|reloads|runtime/.test(x.name)).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join(', ')}`);
  grew(w1, w0, 'lighthouse_writer_membership_changes_total', { cluster: 'web' });
  grew(w1, w0, 'lighthouse_zk_watch_events_total', { discovery: 'zookeeper' });
  // no node address in any label of a histogram
  for (const s of w1.samples.filter((x) => x.name.includes('_seconds'))) assert.ok(!Object.values(s.labels).some((v) => /127\.0\.0\.1|:\d+$/.test(v)), JSON.stringify(s));

  // the nodes as HAProxy serves them: the one gone is out of service (maint) or absent
  const cluster = (await status('writer')).result.find((e) => e.name === 'web') as { nodes: { port: number; state: string; from: string }[] };
  assert.deepEqual(cluster.nodes.filter((n) => n.state !== 'maint').map((n) => n.port), [backends[1].port], JSON.stringify(cluster.nodes));
  assert.ok(cluster.nodes.every((n) => n.from === 'balancer'), `read from HAProxy's runtime view: ${JSON.stringify(cluster.nodes)}`);
  backends[0].healthy = true;
  await waitFor(async () => (await webState()) === 'operational', 'the status API says operational', TRUTH_WITHIN_MS);
  await until('writer', 'lighthouse_cluster_members', { cluster: 'web' }, 2, 'back to two members');
  const r2 = await metrics('reporter');
  assert.equal(r2.value('lighthouse_instance_transitions_total', { service: 'web', port, to: 'up' }), r0.value('lighthouse_instance_transitions_total', { service: 'web', port, to: 'up' }) + 1);
});

test('/ready is 503 with the reason while ZooKeeper is down, and 200 again after', async () => {
  await zk.stopServer();
  try {
    for (const d of ['reporter', 'writer'] as const) {
      const r = await waitFor(async () => {
        const a = await get(d, '/ready');
        return a.status === 503 ? a : null;
      }, `${d} not ready`, 30_000);
      assert.match(await r.text(), /no session with discovery zookeeper/);
      assert.equal((await get(d, '/health')).status, 200, 'still alive');
    }
    assert.equal((await metrics('writer')).value('lighthouse_zk_session_up', { discovery: 'zookeeper' }), 0, 'line 121');
  } finally {
    await zk.startAgain();
  }
  for (const d of ['reporter', 'writer'] as const) await waitFor(async () => (await get(d, '/ready')).status === 200, `${d} ready again`, 60_000);
  const m = await metrics('reporter');
  assert.ok(m.value('lighthouse_zk_session_events_total', { discovery: 'zookeeper', event: 'disconnected' }) >= 1, 'the disconnection counted');
});


test('the status API: 401 without or with wrong credentials, entries by role', async () => {
  for (const d of ['reporter', 'writer'] as const) {
    const none = await get(d, '/api/v1/status');
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="lighthouse"/);
    const wrong = await fetch(`http://127.0.0.1:${ports[d]}/api/v1/status`, { headers: basic('root', 'nope') });
    const nobody = await fetch(`http://127.0.0.1:${ports[d]}/api/v1/status`, { headers: basic('nobody', 'nope') });
    assert.deepEqual([wrong.status, nobody.status], [401, 401]);
    assert.equal(await wrong.text(), await nobody.text(), 'nothing tells whether the user exists');
    const names = async (user: string, pw: string) => [...new Set((await status(d, user, pw)).result.map((e) => e.name))].sort();
    assert.deepEqual(await names('root', 'root-pw'), ['pay', 'web'], `${d}: admin sees everything`);
    assert.deepEqual(await names('dev', 'dev-pw'), ['web'], `${d}: dev sees the dev entries only`);
    assert.deepEqual(await names('ops', 'ops-pw'), [], `${d}: no matching role, nothing`);
  }
  const r = (await status('reporter')).result[0];
  for (const k of ['name', 'type', 'node', 'state', 'last_state', 'checked', 'elapsed', 'retries', 'port', 'checks', 'flap_hold', 'availability']) assert.ok(k in r, `reporter entry has ${k}`);
  assert.ok(Array.isArray((await status('writer')).reloads), 'the writer lists its reloads');
});

/** GET /api/v1/status on the reporter from the source address `from` (any of 127/8) */
function statusFrom(from: string, headers: Record<string, string>): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const r = request({ host: '127.0.0.1', port: ports.reporter, path: '/api/v1/status', localAddress: from, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    r.on('error', reject);
    r.end();
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('a wrong password or an unknown user takes as long as the right password', async () => {
  // interleaved, each from its own source address (failures are limited per address)
  const kinds = { right: basic('dev', 'dev-pw'), wrong: basic('dev', 'not-it'), unknown: basic('nobody-here', 'not-it') };
  const times: Record<keyof typeof kinds, number[]> = { right: [], wrong: [], unknown: [] };
  for (let i = 0; i < 7; i++) {
    for (const [k, h] of Object.entries(kinds) as [keyof typeof kinds, Record<string, string>][]) {
      const r = await statusFrom(`127.0.${k === 'right' ? 10 : k === 'wrong' ? 11 : 12}.${i + 1}`, h);
      assert.equal(r.status, k === 'right' ? 200 : 401, `${k}: ${r.status}`);
      times[k].push(r.ms);
    }
  }
  const [right, wrong, unknown] = [median(times.right), median(times.wrong), median(times.unknown)];
  // an answer without the scrypt takes a small fraction of one with it
  for (const [k, v] of [['wrong', wrong], ['unknown', unknown]] as const) assert.ok(v > right / 2 && v < right * 2, `${k} password ${v.toFixed(1)} ms, right ${right.toFixed(1)} ms: ${JSON.stringify(times)}`);
});

test('failed logins are limited per source address', async () => {
  const wrong = basic('dev', 'not-it');
  const seen: number[] = [];
  for (let i = 0; i < 10; i++) seen.push((await statusFrom('127.0.20.1', wrong)).status);
  assert.deepEqual(seen, Array(10).fill(401), 'ten failures answered 401');
  assert.equal((await statusFrom('127.0.20.1', basic('dev', 'dev-pw'))).status, 429, 'then even the right password waits');
  assert.equal((await statusFrom('127.0.20.2', basic('dev', 'dev-pw'))).status, 200, 'another address is not limited');
});

test('/api/v1/events streams a change without asking again; /ui/ is one self-contained page', async () => {
  const page = await get('reporter', '/ui/');
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, 'nothing loaded from elsewhere');
  const res = await fetch(`http://127.0.0.1:${ports.reporter}/api/v1/events`, { headers: basic('dev', 'dev-pw') });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const next = async () => {
    for (;;) {
      const i = buf.indexOf('\n\n');
      if (i >= 0) {
        const msg = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^data: (.*)$/m.exec(msg);
        if (data) return JSON.parse(data[1]) as { result: { port: number; state: string }[] };
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buf += value;
    }
  };
  const stateOf = (v: { result: { port: number; state: string }[] }) => v.result.find((e) => e.port === backends[1].port)?.state;
  try {
    assert.equal(stateOf(await next()), 'operational');
    backends[1].healthy = false;
    await waitFor(async () => stateOf(await next()) === 'unhealthy', 'the stream says unhealthy', 10_000);
    backends[1].healthy = true;
    await waitFor(async () => stateOf(await next()) === 'operational', 'the stream says operational again', 10_000);
  } finally {
    backends[1].healthy = true;
    await reader.cancel();
  }
});
