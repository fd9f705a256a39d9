/**
 * A real ZooKeeper (Debian's zookeeper 3.8 jar) for the demo, tests and benches: standalone on a
 * free loopback port, or an ensemble of three (or any odd number), each member with its data and
 * log in a temp dir. tickTime defaults to 200 ms so sessions can time out in 0.4..4 s. Every JVM
 * started here is killed by pid when the process exits, even after a failed test; stop() also
 * removes the temp dir.
 *
 *   const zk = await startZooKeeper();
 *   ... zk.connectString ...
 *   await zk.stopServer(); await zk.startAgain();   // an outage: same port, same dataDir
 *   zk.pause(); zk.resume();                          // a hung server (SIGSTOP / SIGCONT)
 *   await zk.stop();
 *
 *   const ens = await startEnsemble({ size: 3 });     // ens.connectString lists every member
 *   await ens.members[await ens.leader()].stopServer();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface ZkServer {
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly connectString: string;
  /** pid of the running JVM (changes after startAgain) */
  readonly pid: number;
  readonly dir: string;
  readonly dataDir: string;
  /** ZooKeeper's stdout + stderr */
  readonly logFile: string;
  /** Stop the server and remove its temp dir. */
  stop(): Promise<void>;
  /** Stop the server only: port and dataDir are kept for startAgain (sessions are persisted). */
  stopServer(): Promise<void>;
  /** Start it again on the same port and dataDir; resolves once it serves (`ruok`, or for an
   * ensemble member `srvr` naming its mode). */
  startAgain(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung / partitioned server). */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** A four-letter-word command ("ruok", "stat", "mntr"). */
  fourLetter(cmd: string): Promise<string>;
}

export interface ZkServerOptions {
  tickTime?: number;
  /** how long to wait for `imok`, default 30 s */
  readyTimeoutMs?: number;
  /**
   * 'test' (default): JVM flags for a quick start and a small footprint (C1 JIT only, serial GC,
   * 256 MB heap): tests start dozens of servers and send each a few hundred requests.
   * 'package': no JVM flags, as Debian's package runs it (JAVA_OPTS="" in
   * /etc/zookeeper/conf/environment) and as the brief's command line gives it: the optimizing
   * JIT, for benchmarks, whose figures are about a long-running server.
   */
  jvm?: 'test' | 'package';
  /** the address the client port binds to, default 127.0.0.1 */
  address?: string;
  /** a command the JVM is started under (e.g. ['ip', 'netns', 'exec', 'ns1']); its pid is then
   * that command's, which must exec the JVM (ip netns exec does) */
  wrap?: string[];
}

export interface EnsembleOptions extends ZkServerOptions {
  /** members, default 3 */
  size?: number;
  /** one address per member (default all 127.0.0.1) */
  addresses?: string[];
  /** a wrap per member (see ZkServerOptions.wrap) */
  wraps?: string[][];
  /** ports per member, default free ones; needed when a member's address exists only in its
   * own network namespace (a free port cannot be looked up from here) */
  ports?: { client: number; quorum: number; election: number }[];
}

export interface ZkEnsemble {
  readonly members: ZkServer[];
  /** every member, "ADDR:PORT,ADDR:PORT,..." */
  readonly connectString: string;
  /** index of the member that leads now (asks each running member `srvr`) */
  leader(): Promise<number>;
  /** Stop every member and remove their temp dirs. */
  stop(): Promise<void>;
}

const TEST_JAVA_FLAGS = ['-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto'];
const CLASSPATH = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar';

// The one piece of module state allowed: JVMs (pid -> temp dir) to kill and remove if the test
// process exits without stop().
const live = new Map<number, string>();
function killAll(): void {
  for (const [pid, dir] of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig); // then the default action
  });
}

export function startZooKeeper(opts: ZkServerOptions = {}): Promise<ZkServer> {
  return startMember(opts, [], null, opts.address ?? '127.0.0.1');
}

/**
 * An ensemble on `addresses` (loopback by default): every member knows every other
 * (server.N=ADDR:QUORUM:ELECTION), the members start together (a member waits for a quorum
 * before it answers `ruok`), and the ensemble is ready when every member is.
 */
export async function startEnsemble(opts: EnsembleOptions = {}): Promise<ZkEnsemble> {
  const size = opts.size ?? 3;
  const addresses = opts.addresses ?? Array.from({ length: size }, () => '127.0.0.1');
  const ports = opts.ports ?? [];
  if (!opts.ports) for (const a of addresses) ports.push({ client: await freePort(a), quorum: await freePort(a), election: await freePort(a) });
  const servers = addresses.map((a, i) => `server.${i + 1}=${a}:${ports[i].quorum}:${ports[i].election}`);
  const started = await Promise.allSettled(
    addresses.map((a, i) =>
      startMember({ ...opts, wrap: opts.wraps?.[i] }, [...servers, 'initLimit=20', 'syncLimit=10'], { id: i + 1, port: ports[i].client }, a),
    ),
  );
  const failed = started.find((r) => r.status === 'rejected');
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.all(members.map((m) => m.stop()));
    throw failed.reason;
  }
  return {
    members,
    connectString: members.map((m) => m.connectString).join(','),
    async leader() {
      for (let i = 0; i < members.length; i++) {
        if (members[i].pid < 0) continue;
        const srvr = await members[i].fourLetter('srvr').catch(() => '');
        if (/^Mode: (leader|standalone)$/m.test(srvr)) return i;
      }
      return -1;
    },
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
    },
  };
}

async function startMember(opts: ZkServerOptions, extra: string[], member: { id: number; port: number } | null, address: string): Promise<ZkServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-zk-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'zookeeper.log');
  const cfg = join(dir, 'zoo.cfg');
  const port = member?.port ?? (await freePort(address));
  const readyMs = opts.readyTimeoutMs ?? 30_000;
  if (member) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'myid'), `${member.id}\n`);
  }
  await writeFile(
    cfg,
    [
      `tickTime=${opts.tickTime ?? 200}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      `clientPortAddress=${address}`,
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,stat,srvr,mntr',
      'maxClientCnxns=0',
      ...extra,
      '',
    ].join('\n'),
  );
  const main = member ? 'org.apache.zookeeper.server.quorum.QuorumPeerMain' : 'org.apache.zookeeper.server.ZooKeeperServerMain';

  let child: ChildProcess | null = null;

  const launch = async () => {
    const log = await open(logFile, 'a');
    const java = ['java', ...(opts.jvm === 'package' ? [] : TEST_JAVA_FLAGS), '-cp', CLASSPATH, main, cfg];
    const [cmd, ...args] = [...(opts.wrap ?? []), ...java];
    const c = spawn(cmd, args, { stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    if (!c.pid) throw new Error('could not start java for ZooKeeper');
    live.set(c.pid, dir);
    child = c;
    c.once('exit', () => live.delete(c.pid!));
    const deadline = Date.now() + readyMs;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`ZooKeeper exited (${c.exitCode ?? c.signalCode}) before it was ready:\n${await tail(logFile)}`);
      }
      if (member) {
        // a member answers `ruok` before it has joined a quorum; `srvr` names its mode once it has
        if (/^Mode: /m.test(await fourLetter(port, 'srvr', 1_000, address).catch(() => ''))) return;
      } else if ((await fourLetter(port, 'ruok', 1_000, address).catch(() => '')) === 'imok') return;
      if (Date.now() > deadline) {
        await halt();
        throw new Error(`ZooKeeper on port ${port} not ready within ${readyMs} ms:\n${await tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const halt = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    c.kill('SIGCONT'); // a paused JVM only handles SIGTERM once it runs again
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  };

  await launch().catch(async (err) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });

  return {
    port,
    connectString: `${address.includes(':') ? `[${address}]` : address}:${port}`,
    get pid() {
      return (child as ChildProcess | null)?.pid ?? -1;
    },
    dir,
    dataDir,
    logFile,
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
    stopServer: halt,
    async startAgain() {
      if (child) throw new Error('ZooKeeper is still running');
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    fourLetter: (cmd) => fourLetter(port, cmd, 1_000, address),
  };
}

export { freePort };

function fourLetter(port: number, cmd: string, timeoutMs = 1_000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let out = '';
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`${cmd}: no answer in ${timeoutMs} ms`)));
    s.on('connect', () => s.end(cmd));
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

async function tail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-30).join('\n');
}
