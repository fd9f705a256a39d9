/**
 * A real, standalone ZooKeeper for tests (Debian's zookeeper 3.8 jar), on a free loopback port,
 * with its data and log in a temp dir. tickTime defaults to 200 ms so sessions can time out in
 * 0.4..4 s. Every JVM started here is killed by pid when the test process exits, even after a
 * failed test; stop() also removes the temp dir.
 *
 *   const zk = await startZooKeeper();
 *   ... zk.connectString ...
 *   await zk.stopServer(); await zk.startAgain();   // an outage: same port, same dataDir
 *   zk.pause(); zk.resume();                          // a hung server (SIGSTOP / SIGCONT)
 *   await zk.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './backends.js';

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
  /** Start it again on the same port and dataDir; resolves once it answers `ruok`. */
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

export async function startZooKeeper(opts: ZkServerOptions = {}): Promise<ZkServer> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-zk-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'zookeeper.log');
  const cfg = join(dir, 'zoo.cfg');
  const port = await freePort();
  const readyMs = opts.readyTimeoutMs ?? 30_000;
  await writeFile(
    cfg,
    [
      `tickTime=${opts.tickTime ?? 200}`,
      `dataDir=${dataDir}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,stat,mntr',
      'maxClientCnxns=0',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | null = null;

  const launch = async () => {
    const log = await open(logFile, 'a');
    const c = spawn('java', [...(opts.jvm === 'package' ? [] : TEST_JAVA_FLAGS), '-cp', CLASSPATH, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg], {
      stdio: ['ignore', log.fd, log.fd],
    });
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
      if ((await fourLetter(port, 'ruok').catch(() => '')) === 'imok') return;
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
    connectString: `127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
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
    fourLetter: (cmd) => fourLetter(port, cmd),
  };
}

export { freePort };

function fourLetter(port: number, cmd: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
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
