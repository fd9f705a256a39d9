/**
 * Actions end to end: a real ZooKeeper, two real reporters (node01 serving HTTPS with a
 * certificate from a CA this test makes with openssl, node02 plain HTTP), lighthousectl as its
 * own process with a client.yaml. Every script appends to a marker file when it runs, so "ran
 * nothing" is checked on disk, not inferred from an exit code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useZooKeeper } from '../helpers/zk-suite.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { startBackend } from '../helpers/backends.js';
import { freePort } from '../../scripts/lib/ports.js';
import { waitFor } from '../helpers/wait.js';
import { initKeys, signToken } from '../../src/actions/tokens.js';
import { testCa } from '../helpers/certs.js';
import { alive } from '../helpers/processes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const suite = useZooKeeper();
const tmp = mkdtempSync(join(tmpdir(), 'lh-actions-it-'));
suite.cleanup.push(async () => rmSync(tmp, { recursive: true, force: true }));
const BASE = '/lh-act';
const NODES = '/lh-act-nodes';
const N1 = 'node01.lighthouse.test';
const N2 = 'node02.lighthouse.test';
const MARKS = join(tmp, 'marks');
/** metadata values a shell would run if they were ever interpolated */
const PWNED = join(tmp, 'pwned');
const HOSTILE = {
  subst: `$(touch ${PWNED}-subst)`,
  backticks: `\`touch ${PWNED}-tick\``,
  quotes: `it's "quoted" \\ 'x'`,
  semicolon: `a; touch ${PWNED}-semi; b`,
  newline: `line1\nline2 $(touch ${PWNED}-nl)`,
};

interface Ctl {
  code: number | null;
  out: string;
  err: string;
}

/** lighthousectl as a child process; `onOut` sees stdout as it comes. */
function ctl(args: string[], env: Record<string, string> = {}, onOut?: (text: string) => void): Promise<Ctl> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/lighthousectl.ts'), ...args], {
      env: { ...process.env, LIGHTHOUSE_CLIENT_CONFIG: join(tmp, 'client.yaml'), LIGHTHOUSE_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => ((out += b.toString()), onOut?.(out)));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err })));
  });
}

const marks = () => (existsSync(MARKS) ? readFileSync(MARKS, 'utf8').split('\n').filter(Boolean) : []);
const script = (body: string) => `#!/bin/sh\necho "$LIGHTHOUSE_ACTION $name $0" >> "${MARKS}"\n${body}\n`;

function write(path: string, text: string, mode = 0o644): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

const reporters: Daemon[] = [];
const dirs: Record<string, string> = {};
let admin: string;
let token: string;

async function nodeDir(name: string, host: string, node: string, http: string, webPort: number): Promise<string> {
  const dir = join(tmp, name);
  write(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${suite.zk.connectString}"]\npath: ${BASE}\nnodes_path: ${NODES}\nsession_timeout: 2000\n`);
  write(join(dir, 'services/web.yaml'), `port: ${webPort}\ndiscovery: zookeeper\nchecks:\n  interval: 0.2\n  http: {uri: /health}\n`);
  write(join(dir, 'node.yaml'), node);
  write(join(dir, 'http.yaml'), `bind_address: 127.0.0.1\nport: ${await freePort()}\nsocket: ${join(dir, 'reporter.sock')}\n${http}`);
  write(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
  mkdirSync(join(dir, 'actions'), { recursive: true });
  copyFileSync(join(admin, 'actions/token.pub'), join(dir, 'actions/token.pub'));
  const act = (n: string, meta: string, files: Record<string, [string, number?]>) => {
    write(join(dir, 'actions', n, 'metadata.yaml'), meta);
    for (const [f, [body, mode]] of Object.entries(files)) write(join(dir, 'actions', n, f), body, mode ?? 0o755);
  };
  act('hello', 'summary: Say hello\n', {
    'default.sh': [script('echo "hello from $name (default) args: $*"')],
    'aws.sh': [script('echo "hello from $name (aws $ec2_id) args: $*"')],
  });
  act('wait', 'summary: Print, wait for a file, print\n', { 'default.sh': [script('echo first\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho second')] });
  act('env', 'summary: Show metadata as base64\n', {
    'default.sh': [script(`for v in ${Object.keys(HOSTILE).join(' ')} weird_key _1st; do eval "x=\\$$v"; printf '%s=%s\\n' "$v" "$(printf '%s' "$x" | base64 -w0)"; done`)],
  });
  act('hang', 'summary: Never ends\ntimeout: 1\n', { 'default.sh': [script(`sleep 300 &\necho "$!" > "${tmp}/$name.child"\necho "$$" > "${tmp}/$name.shell"\necho started\nwait`)] });
  act('broken', 'summary: Not executable\n', { 'default.sh': [script('echo never'), 0o644] });
  act('danger', 'summary: Dangerous\nconfirm: true\n', { 'default.sh': [script('echo done')] });
  act('fail', 'summary: Fails on node02\n', { 'default.sh': [script('[ "$name" = "' + N2 + '" ] && { echo "bad $name" >&2; exit 3; }; echo fine')] });
  return dir;
}

before(async () => {
  admin = join(tmp, 'admin');
  const init = await ctl(['token', 'init', '-c', admin]);
  assert.equal(init.code, 0, init.err);
  const gen = await ctl(['token', 'generate', '-c', admin, '--all', '--subject', 'alice', '--days', '1']);
  assert.equal(gen.code, 0, gen.err);
  token = gen.out.trim().split('\n').at(-1)!;
  writeFileSync(join(tmp, 'token'), gen.out);
  const ca = testCa(join(tmp, 'tls'));
  const certs = { ca: ca.ca, ...ca.issue('node01', N1) };
  const web = await startBackend('web');
  suite.cleanup.push(() => web.close());
  const meta = Object.entries({ ...HOSTILE, ec2_id: 'i-0abc123', 'weird-key': 'dash', '1st': 'digit' }).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join('\n');
  dirs[N1] = await nodeDir('n1', N1, `ranks: [gpu, aws]\nmetadata:\n${meta}\n`, `tls_cert: ${certs.cert}\ntls_key: ${certs.key}\n`, web.port);
  dirs[N2] = await nodeDir('n2', N2, 'ranks: [metal]\nmetadata: {rack: r2}\n', '', web.port);
  for (const host of [N1, N2]) {
    const d = startDaemon('lighthouse-reporter', [dirs[host]], { LIGHTHOUSE_ADVERTISE_HOST: host, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' });
    suite.cleanup.push(() => d.stop('SIGKILL'));
    reporters.push(d);
  }
  write(join(tmp, 'client.yaml'), `zookeeper:\n  hosts: "${suite.zk.connectString}"\n  path: ${BASE}\n  nodes_path: ${NODES}\ntoken_file: token\nca_file: ${certs.ca}\n`);
  await waitFor(async () => (await suite.probe.children(NODES).catch(() => [])).length === 2, 'both nodes in the inventory', 30_000);
  await waitFor(async () => (await suite.probe.children(`${BASE}/web`).catch(() => [])).length === 2, 'both nodes serving web', 30_000);
  for (const r of reporters) await r.waitForLog((l) => String(l.msg).startsWith('HTTP listening on 127.0.0.1'), 'HTTP listening');
});

test('nodes: the inventory lists both with ranks, metadata and endpoints (https for node01)', async () => {
  const r = await ctl(['nodes', '--json']);
  assert.equal(r.code, 0, r.err);
  const { nodes } = JSON.parse(r.out) as { nodes: { name: string; ranks: string[]; metadata: Record<string, string>; endpoint: { url: string; tls: boolean } }[] };
  assert.deepEqual(nodes.map((n) => n.name), [N1, N2]);
  assert.deepEqual(nodes[0].ranks, ['gpu', 'aws']);
  assert.equal(nodes[0].metadata.subst, HOSTILE.subst);
  assert.match(nodes[0].endpoint.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(nodes[1].endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('-g with a range: runs on both, output tagged by node; the rank variant on node01, the default on node02', async () => {
  const before = marks().length;
  const r = await ctl(['action', 'hello', '-g', 'node[01-02]', '--', 'a b', '$(id)']);
  assert.equal(r.code, 0, r.out + r.err);
  const lines = r.out.trim().split('\n').sort();
  assert.deepEqual(lines, [`${N1}: hello from ${N1} (aws i-0abc123) args: a b $(id)`, `${N2}: hello from ${N2} (default) args: a b $(id)`]);
  assert.match(r.err, /hello: 2 ok, 0 failed/);
  assert.equal(marks().length, before + 2);
});

test('--cluster web: every node serving the cluster; a failing node makes the exit code 1 with a summary', async () => {
  const r = await ctl(['action', 'fail', '--cluster', 'web']);
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, `${N1}: fine\n`);
  assert.match(r.err, new RegExp(`^${N2}: bad ${N2}$`, 'm'));
  assert.match(r.err, new RegExp(`fail: 1 ok, 1 failed \\(${N2}: exit 3\\)`));
});

test('output streams: the first line arrives while the script still waits', async () => {
  const flag = join(tmp, 'release');
  let sawFirst = false;
  const run = ctl(['action', 'wait', N2, '--', flag], {}, (out) => {
    if (out.includes(`${N2}: first\n`) && !sawFirst) {
      sawFirst = true;
      assert.equal(existsSync(flag), false, 'the script was still waiting');
      writeFileSync(flag, '');
    }
  });
  const r = await run;
  assert.equal(sawFirst, true, r.out + r.err);
  assert.equal(r.out, `${N2}: first\n${N2}: second\n`);
  assert.equal(r.code, 0);
});

test('metadata arrives as environment variables, hostile values unchanged and never executed', async () => {
  const r = await ctl(['action', 'env', 'node01']);
  assert.equal(r.code, 0, r.out + r.err);
  const got = Object.fromEntries(r.out.trim().split('\n').map((l) => l.slice(`${N1}: `.length).split('=')).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.deepEqual(got, { ...HOSTILE, weird_key: 'dash', _1st: 'digit' });
  for (const suffix of ['subst', 'tick', 'semi', 'nl']) assert.equal(existsSync(`${PWNED}-${suffix}`), false, `${suffix}: nothing ran`);
});

/** POST a run straight to a node's HTTP server (the client's own refusal output is checked once). */
async function post(host: string, action: string, token: string | null): Promise<{ status: number; error: string }> {
  const http = readFileSync(join(dirs[host], 'http.yaml'), 'utf8');
  const url = `${/tls_cert/.test(http) ? 'https' : 'http'}://127.0.0.1:${/^port: (\d+)$/m.exec(http)![1]}/actions/${action}`;
  const ca = readFileSync(join(tmp, 'tls/ca.crt'));
  const { request, Agent } = await import('undici');
  const res = await request(url, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) },
    dispatcher: new Agent({ connect: { ca, servername: host } }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, error: res.statusCode === 200 ? '' : (JSON.parse(text) as { error: string }).error };
}

test('refused tokens run nothing: none, malformed, expired, another key, revoked (live), out of scope', async () => {
  const before = marks().length;
  const expired = await signToken(admin, { subject: 'bob', ttlSeconds: 3600, actions: ['*'], now: Date.now() - 2 * 3600_000 });
  const other = join(tmp, 'other-admin');
  await initKeys(other);
  const wrong = await signToken(other, { subject: 'eve', ttlSeconds: 3600, actions: ['*'] });
  const scoped = await signToken(admin, { subject: 'carol', ttlSeconds: 3600, actions: ['env'] });
  for (const host of [N1, N2]) {
    for (const [t, status, why] of [
      [null, 401, /signed action token/],
      ['not.a.jwt', 401, /not a valid JWT/],
      [expired.token, 401, /expired/],
      [wrong.token, 401, /signature/],
      [scoped.token, 403, /may not run 'hello'/],
    ] as const) {
      const r = await post(host, 'hello', t);
      assert.equal(r.status, status, `${host} ${why}`);
      assert.match(r.error, why);
    }
  }
  // the client says the same for each node, with one summary and exit 1
  const r = await ctl(['action', 'hello', '-g', `${N1},${N2}`], { LIGHTHOUSE_TOKEN: wrong.token });
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, '');
  assert.match(r.err, /hello: 0 ok, 2 failed \(node01\.lighthouse\.test: token signature [^;]*\(HTTP 401\); node02/);
  // revoked: it works, is revoked on the admin side, the file is copied to the nodes, then it does not
  const doomed = await signToken(admin, { subject: 'dave', ttlSeconds: 3600, actions: ['*'] });
  assert.equal((await post(N2, 'hello', doomed.token)).status, 200);
  const rev = await ctl(['token', 'revoke', '-c', admin, doomed.claims.jti, '--reason', 'test']);
  assert.equal(rev.code, 0, rev.err);
  for (const d of Object.values(dirs)) copyFileSync(join(admin, 'actions/revoked.yaml'), join(d, 'actions/revoked.yaml'));
  // polled with an action that cannot run (not executable): nothing runs while the change is on its way
  await waitFor(async () => (await post(N2, 'broken', doomed.token)).status === 401, 'revocation applied live', 30_000);
  for (const host of [N1, N2]) assert.match((await post(host, 'hello', doomed.token)).error, /revoked/);
  assert.equal(marks().length, before + 1, 'only the run before the revocation');
  // a refusal with a verified token is audited; a 401 is logged, never a run
  const audit = reporters[0].logs.filter((l) => l.component === 'audit');
  assert.ok(audit.some((l) => l.audit === 'refused' && l.who === 'carol' && l.status === 403), 'the out-of-scope refusal is audited');
  assert.ok(!audit.some((l) => l.audit === 'run' && ['bob', 'eve', 'carol'].includes(String(l.who))), 'no run by a refused token');
});

test('a timed-out script: the run reports it, its process group is gone (background child too), audit lines written', async () => {
  const r = await ctl(['action', 'hang', N1]);
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, `${N1}: started\n`);
  assert.match(r.err, /timed out after \d+ ms/);
  const child = Number(readFileSync(join(tmp, `${N1}.child`), 'utf8'));
  const shell = Number(readFileSync(join(tmp, `${N1}.shell`), 'utf8'));
  await waitFor(() => !alive(child) && !alive(shell), 'the script and its background child are gone', 10_000);
  const line = await reporters[0].waitForLog((l) => l.component === 'audit' && l.audit === 'run' && l.action === 'hang', 'audit line of the timed-out run');
  assert.equal(line.who, 'alice');
  assert.equal(line.node, N1);
  assert.equal(line.timed_out, true);
  assert.equal(typeof line.duration_ms, 'number');
  const hello = reporters[1].logs.find((l) => l.component === 'audit' && l.audit === 'run' && l.action === 'hello' && l.who === 'alice');
  assert.deepEqual({ args: hello?.args, exit: hello?.exit_code, variant: hello?.variant }, { args: ['a b', '$(id)'], exit: 0, variant: 'default' });
});

test('a script without the execute bit is refused with a clear message; validate reports it', async () => {
  const before = marks().length;
  const r = await ctl(['action', 'broken', N1]);
  assert.equal(r.code, 1);
  assert.match(r.err, /actions\/broken\/default\.sh is not executable on node01\.lighthouse\.test \(chmod \+x it\): not run \(HTTP 409\)/);
  assert.equal(marks().length, before);
  const v = await ctl(['validate', dirs[N1]]);
  assert.match(v.out, /^actions\/broken\/default\.sh warning: not executable/m);
});

test('confirm actions: without --yes and no terminal, nothing runs (exit 2); with --yes they run', async () => {
  const before = marks().length;
  const direct = await post(N2, 'danger', token);
  assert.equal(direct.status, 428, 'the node itself refuses an unconfirmed run');
  assert.match(direct.error, /asks for confirmation/);
  const no = await ctl(['action', 'danger', N2]);
  assert.equal(no.code, 2, no.err);
  assert.match(no.err, /asks for confirmation .* add --yes/s);
  assert.equal(marks().length, before);
  const yes = await ctl(['action', 'danger', N2, '--yes']);
  assert.equal(yes.code, 0, yes.err);
  assert.equal(yes.out, `${N2}: done\n`);
});

test('action list: the actions with summaries, what would not run, what the token may not run', async () => {
  const r = await ctl(['action', 'list'], { LIGHTHOUSE_TOKEN: (await signToken(admin, { subject: 'l', ttlSeconds: 60, actions: ['hello'] })).token });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^hello +Say hello$/m);
  assert.match(r.out, /^danger +Dangerous +\(asks to confirm; not in your token\)$/m);
  assert.match(r.out, /! actions\/broken\/default\.sh is not executable/);
});

test('TLS: without the CA the certificate is refused (nothing runs); verify_tls: false accepts it', async () => {
  const before = marks().length;
  const strict = join(tmp, 'client-noca.yaml');
  writeFileSync(strict, readFileSync(join(tmp, 'client.yaml'), 'utf8').replace(/^ca_file:.*$/m, ''));
  const r = await ctl(['action', 'hello', N1], { LIGHTHOUSE_CLIENT_CONFIG: strict });
  assert.equal(r.code, 1);
  assert.match(r.err, /TLS: .*ca_file/);
  assert.equal(marks().length, before);
  const loose = join(tmp, 'client-noverify.yaml');
  writeFileSync(loose, `${readFileSync(strict, 'utf8')}verify_tls: false\n`);
  const ok = await ctl(['action', 'hello', N1], { LIGHTHOUSE_CLIENT_CONFIG: loose });
  assert.equal(ok.code, 0, ok.err);
});

test('the inventory follows node.yaml live; a record that does not parse is skipped with a warning; a stopped reporter leaves it', async () => {
  write(join(dirs[N2], 'node.yaml'), 'ranks: [aws]\nmetadata: {rack: r2, ec2_id: i-0def}\n');
  await waitFor(async () => JSON.parse(String((await suite.probe.get(`${NODES}/${N2}`))?.data)).ranks[0] === 'aws', 'new ranks published', 30_000);
  await suite.probe.create(`${NODES}/evil`, JSON.stringify({ name: 'evil host', host: 'x', ip: '1.2.3.4', endpoint: { url: 'file:///etc/passwd', tls: false } }));
  const r = await ctl(['action', 'hello', N2]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${N2}: hello from ${N2} (aws i-0def) args: \n`, 'the aws variant now, with the new metadata');
  assert.match(r.err, /warning: znode \/lh-act-nodes\/evil: name: expected a host name/);
  await reporters[1].stop();
  await waitFor(async () => (await suite.probe.get(`${NODES}/${N2}`)) === null, 'the record goes with the reporter', 15_000);
});

