/**
 * Two real reporters with actions, for the actions integration tests: a ZooKeeper of the test
 * file's own, node01 serving HTTPS (a certificate from a CA made with openssl) with ranks
 * [gpu, aws] and hostile metadata values, node02 plain HTTP with ranks [metal]; both serve the
 * `web` cluster. lighthousectl runs as its own process with a client.yaml. Every script appends
 * to a marker file when it runs, so "ran nothing" is checked on disk.
 */
import { before } from 'node:test';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { useZooKeeper, type ZkSuite } from './zk-suite.js';
import { builtIsCurrent, startDaemon, type Daemon } from './daemon.js';
import { startBackend } from './backends.js';
import { freePort } from '../../scripts/lib/ports.js';
import { waitFor } from './wait.js';
import { testCa } from './certs.js';
import { initKeys, signToken } from '../../src/actions/tokens.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BASE = '/lh-act';
export const NODES = '/lh-act-nodes';
export const N1 = 'node01.lighthouse.test';
export const N2 = 'node02.lighthouse.test';

export interface Ctl {
  code: number | null;
  out: string;
  err: string;
}

export interface ActionNodes {
  suite: ZkSuite;
  tmp: string;
  /** config dir by node name */
  dirs: Record<string, string>;
  /** where `token init` put the key pair */
  admin: string;
  /** an --all token of subject alice */
  token: string;
  /** node01's and node02's reporter */
  reporters: Daemon[];
  /** metadata values a shell would run if they were ever interpolated (node01's) */
  hostile: Record<string, string>;
  /** the prefix of the files those values would create */
  pwned: string;
  /** lighthousectl as a child process; `onOut` sees stdout as it comes */
  ctl(args: string[], env?: Record<string, string>, onOut?: (text: string) => void): Promise<Ctl>;
  /** a run POSTed straight to a node's HTTP server */
  post(host: string, action: string, token: string | null): Promise<{ status: number; error: string }>;
  /** lines the scripts appended when they ran */
  marks(): string[];
  write(path: string, text: string, mode?: number): void;
}

export function useActionNodes(): ActionNodes {
  const suite = useZooKeeper();
  // the programs as built when dist/ is current (npm test builds it first), else the sources
  const built = builtIsCurrent();
  const tmp = mkdtempSync(join(tmpdir(), 'lh-actions-it-'));
  suite.cleanup.push(async () => rmSync(tmp, { recursive: true, force: true }));
  const MARKS = join(tmp, 'marks');
  const pwned = join(tmp, 'pwned');
  const hostile = {
    subst: `$(touch ${pwned}-subst)`,
    backticks: `\`touch ${pwned}-tick\``,
    quotes: `it's "quoted" \\ 'x'`,
    semicolon: `a; touch ${pwned}-semi; b`,
    newline: `line1\nline2 $(touch ${pwned}-nl)`,
  };
  const ctx: ActionNodes = {
    suite, tmp, dirs: {}, admin: join(tmp, 'admin'), token: '', reporters: [], hostile, pwned,
    ctl: (args, env = {}, onOut) =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [...(built ? [join(ROOT, 'dist/cli/lighthousectl.js')] : ['--import', 'tsx', join(ROOT, 'src/cli/lighthousectl.ts')]), ...args], {
          env: { ...process.env, LIGHTHOUSE_CLIENT_CONFIG: join(tmp, 'client.yaml'), LIGHTHOUSE_TOKEN: '', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        p.stdout.on('data', (b: Buffer) => ((out += b.toString()), onOut?.(out)));
        p.stderr.on('data', (b: Buffer) => (err += b.toString()));
        const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
        p.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err })));
      }),
    async post(host, action, token) {
      const http = readFileSync(join(ctx.dirs[host], 'http.yaml'), 'utf8');
      const url = `${/tls_cert/.test(http) ? 'https' : 'http'}://127.0.0.1:${/^port: (\d+)$/m.exec(http)![1]}/actions/${action}`;
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(tmp, 'tls/ca.crt')), servername: host } });
      try {
        const res = await request(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) }, dispatcher });
        const text = await res.body.text();
        return { status: res.statusCode, error: res.statusCode === 200 ? '' : (JSON.parse(text) as { error: string }).error };
      } finally {
        await dispatcher.close();
      }
    },
    marks: () => (existsSync(MARKS) ? readFileSync(MARKS, 'utf8').split('\n').filter(Boolean) : []),
    write(path, text, mode = 0o644) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
      chmodSync(path, mode);
    },
  };
  const script = (body: string) => `#!/bin/sh\necho "$LIGHTHOUSE_ACTION $name $0" >> "${MARKS}"\n${body}\n`;

  async function nodeDir(name: string, node: string, http: string, webPort: number): Promise<string> {
    const dir = join(tmp, name);
    const w = ctx.write;
    w(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${suite.zk.connectString}"]\npath: ${BASE}\nnodes_path: ${NODES}\nsession_timeout: 2000\n`);
    w(join(dir, 'services/web.yaml'), `port: ${webPort}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http: {uri: /health}\n`);
    w(join(dir, 'node.yaml'), node);
    w(join(dir, 'http.yaml'), `bind_address: 127.0.0.1\nport: ${await freePort()}\nsocket: ${join(dir, 'reporter.sock')}\n${http}`);
    w(join(dir, 'availability.yaml'), 'state_file: availability.json\n');
    mkdirSync(join(dir, 'actions'), { recursive: true });
    copyFileSync(join(ctx.admin, 'actions/token.pub'), join(dir, 'actions/token.pub'));
    const act = (n: string, meta: string, files: Record<string, [string, number?]>) => {
      w(join(dir, 'actions', n, 'metadata.yaml'), meta);
      for (const [f, [body, mode]] of Object.entries(files)) w(join(dir, 'actions', n, f), body, mode ?? 0o755);
    };
    act('hello', 'summary: Say hello\n', {
      'default.sh': [script('echo "hello from $name (default) args: $*"')],
      'aws.sh': [script('echo "hello from $name (aws $ec2_id) args: $*"')],
    });
    act('wait', 'summary: Print, wait for a file, print\n', { 'default.sh': [script('echo first\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho second')] });
    act('env', 'summary: Show metadata as base64\n', {
      'default.sh': [script(`for v in ${Object.keys(hostile).join(' ')} weird_key _1st; do eval "x=\\$$v"; printf '%s=%s\\n' "$v" "$(printf '%s' "$x" | base64 -w0)"; done`)],
    });
    act('hang', 'summary: Never ends\ntimeout: 1\n', { 'default.sh': [script(`sleep 300 &\necho "$!" > "${tmp}/$name.child"\necho "$$" > "${tmp}/$name.shell"\necho started\nwait`)] });
    act('broken', 'summary: Not executable\n', { 'default.sh': [script('echo never'), 0o644] });
    act('danger', 'summary: Dangerous\nconfirm: true\n', { 'default.sh': [script('echo done')] });
    act('fail', 'summary: Fails on node02\n', { 'default.sh': [script(`[ "$name" = "${N2}" ] && { echo "bad $name" >&2; exit 3; }; echo fine`)] });
    return dir;
  }

  before(async () => {
    await suite.ready();
    // the key pair and alice's token as lighthousectl token init / generate make them (their
    // command lines are tested in actions-auth.test.ts)
    await initKeys(ctx.admin);
    ctx.token = (await signToken(ctx.admin, { subject: 'alice', ttlSeconds: 86_400, actions: ['*'] })).token;
    writeFileSync(join(tmp, 'token'), `${ctx.token}\n`);
    const ca = testCa(join(tmp, 'tls'));
    const certs = ca.issue('node01', N1);
    const web = await startBackend('web');
    suite.cleanup.push(() => web.close());
    const meta = Object.entries({ ...hostile, ec2_id: 'i-0abc123', 'weird-key': 'dash', '1st': 'digit' }).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join('\n');
    ctx.dirs[N1] = await nodeDir('n1', `ranks: [gpu, aws]\nmetadata:\n${meta}\n`, `tls_cert: ${certs.cert}\ntls_key: ${certs.key}\n`, web.port);
    ctx.dirs[N2] = await nodeDir('n2', 'ranks: [metal]\nmetadata: {rack: r2}\n', '', web.port);
    for (const host of [N1, N2]) {
      const d = startDaemon('lighthouse-reporter', [ctx.dirs[host]], { LIGHTHOUSE_ADVERTISE_HOST: host, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' }, built);
      suite.cleanup.push(() => d.stop('SIGKILL'));
      ctx.reporters.push(d);
    }
    ctx.write(join(tmp, 'client.yaml'), `zookeeper:\n  hosts: "${suite.zk.connectString}"\n  path: ${BASE}\n  nodes_path: ${NODES}\ntoken_file: token\nca_file: ${ca.ca}\n`);
    await waitFor(async () => (await suite.probe.children(NODES).catch(() => [])).length === 2, 'both nodes in the inventory', 120_000);
    await waitFor(async () => (await suite.probe.children(`${BASE}/web`).catch(() => [])).length === 2, 'both nodes serving web', 120_000);
    for (const r of ctx.reporters) await r.waitForLog((l) => String(l.msg).startsWith('HTTP listening on 127.0.0.1'), 'HTTP listening', 120_000);
  });
  return ctx;
}
