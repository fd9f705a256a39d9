/**
 * config-examples/systemd/: the two units pass `systemd-analyze verify` (where systemd is
 * installed; skipped with the reason otherwise) and carry the keys the deploy docs promise; the
 * writer may write every file of HAProxy's the example haproxy.yaml names. Then the promises
 * themselves, on real processes: a writer and its HAProxy started in a cgroup as systemd starts
 * ExecStart; the unit's ExecReload (SIGHUP) re-reads the config; stopping the writer as systemd
 * does for the unit's KillMode (systemd.kill(5)) leaves HAProxy serving, and the writer started
 * again adopts it. That part needs root and a writable cgroup2 hierarchy (skipped otherwise).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { tempPathFor } from '../../src/core/atomic-file.js';
import { haproxySchema } from '../../src/balancers/haproxy/config/schema.js';
import { EXIT } from '../../src/core/errors.js';
import { pidAlive } from '../../src/balancers/haproxy/process/process.js';
import { killHaproxy } from '../../scripts/lib/haproxy.js';
import { startZooKeeper, type ZkServer } from '../helpers/zookeeper.js';
import { freePort } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UNITS = join(ROOT, 'config-examples/systemd');

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit file syntax, enough for ours: sections, `Key=value` (repeatable), comments,
 * backslash continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      section = head[1];
      unit[section] ??= {};
      continue;
    }
    const kv = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`line ${i + 1}: not a key=value in a section: ${line}`);
    (unit[section][kv[1]] ??= []).push(kv[2]);
  }
  return unit;
}

const unitOf = (name: string) => parseUnit(readFileSync(join(UNITS, `lighthouse-${name}.service`), 'utf8'));
const one = (u: Unit, key: string) => u.Service[key]?.at(-1);
const words = (u: Unit, key: string) => (u.Service[key] ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

describe('systemd units', () => {
  for (const name of ['reporter', 'writer']) {
    test(`lighthouse-${name}.service: simple, restarts on failure but not on a bad config, reloads with SIGHUP, hardened`, () => {
      const u = unitOf(name);
      assert.equal(one(u, 'Type'), 'simple', 'no sd_notify: Type=simple');
      assert.equal(one(u, 'ExecStart'), `/usr/local/bin/lighthouse-${name} /etc/lighthouse`, 'ExecStart');
      assert.equal(one(u, 'ExecReload'), '/bin/kill -HUP $MAINPID', 'ExecReload sends SIGHUP (re-read the config)');
      assert.equal(one(u, 'Restart'), 'on-failure', 'Restart=on-failure');
      assert.ok(words(u, 'RestartPreventExitStatus').includes(String(EXIT.CONFIG)), 'exit 78 (bad config) is not restarted');
      assert.equal(one(u, 'ProtectSystem'), 'strict', 'ProtectSystem=strict');
      assert.equal(one(u, 'NoNewPrivileges'), 'yes', 'NoNewPrivileges=yes');
      assert.ok(one(u, 'User') && one(u, 'User') !== 'root', 'runs as a user of its own');
      // with ProtectSystem=strict a ReadWritePaths dir that does not exist fails the unit: each is one systemd creates
      const created = ['StateDirectory', 'RuntimeDirectory'].flatMap((k) => words(u, k).map((d) => `/${k === 'StateDirectory' ? 'var/lib' : 'run'}/${d}`));
      assert.ok(words(u, 'ReadWritePaths').length > 0, 'ReadWritePaths');
      for (const p of words(u, 'ReadWritePaths')) assert.ok(created.includes(p), `${p} is created by the unit (StateDirectory / RuntimeDirectory)`);
      assert.deepEqual(u.Install?.WantedBy, ['multi-user.target'], 'enabled into multi-user.target');
    });
  }

  test("writer unit: KillMode=process, and every file of HAProxy's in the example haproxy.yaml is writable", () => {
    const u = unitOf('writer');
    assert.equal(one(u, 'KillMode'), 'process', 'stopping the writer signals the writer alone');
    const c = haproxySchema.parse(parse(readFileSync(join(UNITS, 'haproxy.yaml'), 'utf8')));
    const writable = words(u, 'ReadWritePaths');
    const candidate = tempPathFor(c.config_file); // the staged config, checked before its rename
    for (const f of [c.config_file, candidate, c.socket_file, c.pid_file, c.master_socket, c.server_state_file]) {
      assert.ok(writable.some((d) => f.startsWith(`${d}/`)), `${f} is under ReadWritePaths (${writable.join(' ')})`);
    }
    // sockets and pid file outlive a stopped writer: HAProxy still uses them
    for (const f of [c.socket_file, c.pid_file, c.master_socket]) {
      if (f.startsWith('/run/')) assert.equal(one(u, 'RuntimeDirectoryPreserve'), 'yes', `${f}: the runtime dir is kept when the writer stops`);
    }
  });

  test('systemd-analyze verify: no warning for either unit', async (t) => {
    const bin = await run('sh', ['-c', 'command -v systemd-analyze']).then((r) => r.stdout.trim(), () => '');
    if (!bin) return t.skip('systemd-analyze is not installed (installing systemd into a container is neither cheap nor harmless)');
    // as installed, ExecStart names /usr/local/bin; verify needs an executable there: the repo's bins
    const dir = mkdtempSync(join(tmpdir(), 'lh-units-'));
    try {
      const files = ['reporter', 'writer'].map((n) => {
        const f = join(dir, `lighthouse-${n}.service`);
        writeFileSync(f, readFileSync(join(UNITS, `lighthouse-${n}.service`), 'utf8').replace(`/usr/local/bin/lighthouse-${n}`, join(ROOT, `bin/lighthouse-${n}.js`)));
        return f;
      });
      const r = await run(bin, ['verify', ...files]).then((o) => ({ code: 0, out: o.stdout + o.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
      assert.deepEqual(r, { code: 0, out: '' }, 'verify is silent (it only warns about bad values)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The first writable cgroup2 hierarchy, or why there is none. */
function cgroup2(): { root: string } | { why: string } {
  if (process.getuid?.() !== 0) return { why: 'needs root (moving processes between cgroups)' };
  const mount = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  if (!mount) return { why: 'no cgroup2 hierarchy mounted' };
  try {
    const probe = join(mount[1], `lh-probe-${process.pid}`);
    mkdirSync(probe);
    rmSync(probe, { recursive: true });
    return { root: mount[1] };
  } catch (err) {
    return { why: `cgroup2 at ${mount[1]} is not writable: ${(err as Error).message}` };
  }
}

/** Resolves once `c` has exited (bounded: a daemon that ignores SIGTERM fails the test). */
function gone(c: ChildProcess, ms = 30_000): Promise<void> {
  return waitFor(() => c.exitCode !== null || c.signalCode !== null, `pid ${c.pid} to exit`, ms).then(() => {});
}

/** What `systemctl stop` sends, by KillMode (systemd.kill(5)): SIGTERM to the main process only
 * (process), to every process in the unit's cgroup (control-group), to the main process and
 * SIGKILL to the rest once it is gone (mixed), nothing (none). */
async function stopAsSystemd(mode: string, main: ChildProcess, cg: string): Promise<void> {
  const procs = () => readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').map(Number).filter((p) => p > 0);
  if (mode === 'none') return;
  for (const pid of mode === 'control-group' ? procs() : [main.pid!]) process.kill(pid, 'SIGTERM');
  await gone(main);
  if (mode === 'mixed') for (const pid of procs()) process.kill(pid, 'SIGKILL');
}

/** Whether process `pid` has a handler for signal number `sig` (/proc/PID/status SigCgt). */
function catches(pid: number, sig: number): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${mask}`) >> BigInt(sig - 1)) % 2n === 1n;
}

const cg2 = cgroup2();
if ('why' in cg2) process.stdout.write(`# systemd KillMode test skipped: ${cg2.why}\n`);

describe('the units on real processes', { skip: 'why' in cg2 ? cg2.why : false }, () => {
  let zk: ZkServer;
  let dir: string;
  let cg: string;
  let port: number;
  const started: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const paths = () => ({ pid: join(dir, 'run/haproxy.pid'), master: join(dir, 'run/haproxy-master.sock') });

  /** ExecStart as systemd runs it: in the unit's cgroup (the shell joins it, then execs the daemon). */
  function execStart(program: 'lighthouse-writer' | 'lighthouse-reporter', config: string): ChildProcess {
    const child = spawn('sh', ['-c', `echo $$ > "${cg}/cgroup.procs" && exec "$0" "$@"`, process.execPath, '--import', 'tsx', join(ROOT, `src/cli/${program}.ts`), config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    logs.set(child, '');
    child.stdout!.on('data', (d: Buffer) => logs.set(child, logs.get(child) + d.toString()));
    child.stderr!.on('data', (d: Buffer) => logs.set(child, logs.get(child) + d.toString()));
    started.push(child);
    return child;
  }
  const logged = (c: ChildProcess, what: RegExp) => waitFor(() => what.test(logs.get(c) ?? ''), `log ${what}`, 60_000, () => `\n${logs.get(c)}`);
  const serving = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });

  before(async () => {
    if ('why' in cg2) return;
    dir = mkdtempSync(join(tmpdir(), 'lh-systemd-'));
    cg = join(cg2.root, `lh-killmode-${process.pid}`);
    mkdirSync(cg);
    zk = await startZooKeeper();
    port = await freePort();
    for (const d of ['writer/discovery', 'writer/balancers', 'writer/clusters', 'reporter/discovery', 'reporter/services', 'run', 'state']) mkdirSync(join(dir, d), { recursive: true });
    const discovery = `hosts: ["${zk.connectString}"]\npath: /lighthouse/services\n`;
    // the example haproxy.yaml, its two directories moved here
    const example = readFileSync(join(UNITS, 'haproxy.yaml'), 'utf8').replaceAll('/var/lib/lighthouse-writer', join(dir, 'state')).replaceAll('/run/lighthouse-writer', join(dir, 'run')).replace('port: 9009', `port: ${await freePort()}`);
    writeFileSync(join(dir, 'writer/balancers/haproxy.yaml'), example);
    writeFileSync(join(dir, 'writer/discovery/zookeeper.yaml'), discovery);
    writeFileSync(join(dir, 'writer/clusters/web.yaml'), `discovery: zookeeper\nhaproxy:\n  port: ${port}\n`);
    writeFileSync(join(dir, 'reporter/discovery/zookeeper.yaml'), discovery);
    writeFileSync(join(dir, 'reporter/services/web.yaml'), `port: ${await freePort()}\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  tcp: {}\n`);
  });

  after(async () => {
    if ('why' in cg2) return;
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await killHaproxy(paths().pid, paths().master);
    await zk?.stop();
    rmSync(dir, { recursive: true, force: true });
    // a cgroup is removed once empty: move out what is left, then rmdir (processes just
    // killed leave it when the kernel has reaped them)
    const root = cg2.root;
    await waitFor(() => {
      for (const pid of readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(root, 'cgroup.procs'), pid);
      rmdirSync(cg);
      return true;
    }, `cgroup ${cg} removed`, 10_000).catch((err) => process.stderr.write(`${(err as Error).message}\n`));
  });

  test('ExecReload (SIGHUP) makes each daemon re-read its config and keep running', { timeout: 240_000 }, async () => {
    for (const name of ['reporter', 'writer'] as const) {
      const d = execStart(`lighthouse-${name}`, join(dir, name));
      await logged(d, new RegExp(`${name} starting`));
      // The daemons install their signal handlers only once started (runDaemon: after the first
      // apply and the config watch); a SIGHUP before that ends the process (the default action).
      // Wait until it catches SIGHUP (SigCgt bit 0), as a `systemctl reload` must for now.
      await waitFor(() => catches(d.pid!, 1), `${name} catching SIGHUP`, 60_000, () => `\n${logs.get(d)}`);
      const reload = one(unitOf(name), 'ExecReload')!.replace('$MAINPID', String(d.pid));
      await run('sh', ['-c', reload]);
      await logged(d, /SIGHUP: re-reading config/);
      assert.equal(d.exitCode, null, `${name} still runs after the reload`);
      if (name === 'reporter') {
        d.kill('SIGTERM');
        await gone(d);
      }
    }
  });

  test("stopping the writer as its unit's KillMode says leaves HAProxy serving; the writer started again adopts it", { timeout: 240_000 }, async () => {
    const writer = started.at(-1)!; // the writer of the test above, still running in the cgroup
    const { pid: pidFile, master } = paths();
    const masterPid = await waitFor(() => {
      const p = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      return p > 0 && pidAlive(p) ? p : null;
    }, 'HAProxy started by the writer', 60_000, () => `\n${logs.get(writer)}`);
    await waitFor(serving, `HAProxy serving :${port}`, 30_000);
    const procs = readFileSync(join(cg, 'cgroup.procs'), 'utf8');
    assert.match(procs, new RegExp(`^${masterPid}$`, 'm'), "HAProxy runs in the writer unit's cgroup (detached, but not out of it)");

    await stopAsSystemd(one(unitOf('writer'), 'KillMode') ?? 'control-group', writer, cg);
    assert.equal(writer.exitCode, 0, 'the writer stopped cleanly');
    assert.ok(pidAlive(masterPid), 'HAProxy outlived the stop');
    assert.ok(await serving(), `HAProxy still accepts connections on :${port}`);

    const again = execStart('lighthouse-writer', join(dir, 'writer'));
    await logged(again, new RegExp(`"masterPid":${masterPid}[^\\n]*adopted running HAProxy|adopted running HAProxy[^\\n]*"masterPid":${masterPid}`));
    assert.ok(existsSync(master), 'master socket kept');
  });
});
