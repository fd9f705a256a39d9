/**
 * The HAProxy processes, master-worker mode: `haproxy -W -S MASTER_SOCKET -f CONFIG -p PID -D -L PEER`.
 * The master survives reloads (it re-executes itself and forks a new worker that inherits the
 * listening sockets, so no connection is refused); Lighthouse talks to it over the master CLI
 * socket. That socket answers only after the client half-closes, hence `socket.end(cmd)`.
 *
 * HAProxy is detached from the writer (own process group, no stdio tie): stopping the writer
 * leaves it serving. A master is "running" when its pid (from the pid file) is a live,
 * non-zombie process AND the master socket answers: a pid alone can be stale or a zombie left
 * by an init that does not reap.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import type { Logger } from 'pino';
import { LighthouseError } from '../../../core/errors.js';

/** HAProxy tried the new config and failed (the previous worker keeps serving), as opposed to
 * a reload that could not be asked for or confirmed. */
export class ReloadFailedError extends LighthouseError {
  constructor(message: string) {
    super('LH_ERR_HAPROXY_PROCESS', message);
    this.name = 'ReloadFailedError';
  }
}

export interface ProcInfo {
  masterPid: number;
  /** reloads the master has done, and how many of them failed */
  reloads: number;
  failed: number;
  /** current worker(s), newest first */
  workers: number[];
  /** workers finishing their connections after a reload */
  oldWorkers: number[];
}

/** `show proc` on the master socket (2.6 layout, see FIELD-NOTES). */
export function parseShowProc(text: string): ProcInfo | null {
  let section = 'master';
  const info: ProcInfo = { masterPid: 0, reloads: 0, failed: 0, workers: [], oldWorkers: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old';
    else if (line.startsWith('#')) section = line.startsWith('#<PID>') ? 'master' : 'other';
    else {
      const m = /^(\d+)\s+(\S+)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?/.exec(line);
      if (!m) continue;
      const pid = Number(m[1]);
      if (m[2] === 'master') Object.assign(info, { masterPid: pid, reloads: Number(m[3]), failed: Number(m[4] ?? 0) });
      else if (m[2] === 'worker' && section === 'workers') info.workers.push(pid);
      else if (m[2] === 'worker' && section === 'old') info.oldWorkers.push(pid);
    }
  }
  return info.masterPid ? info : null;
}

/** One command on the master CLI: connect, send, half-close, read until HAProxy closes. */
export function masterCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let out = '';
    const fail = (what: string, cause?: unknown) => {
      socket.destroy();
      reject(new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy master socket ${socketPath}: '${command}': ${what}`, { cause }));
    };
    socket.setTimeout(timeoutMs, () => fail(`no reply within ${timeoutMs} ms`));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('error', (err) => fail(err.message, err));
    socket.on('end', () => {
      socket.destroy();
      resolve(out);
    });
    socket.end(command + '\n');
  });
}

/** Live and not a zombie. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

export interface ProcessOptions {
  bin: string;
  configFile: string;
  masterSocket: string;
  pidFile: string;
  /** this node's peer name (`-L`, see local-peer.ts); resolved once, at the first start */
  localPeer?: () => Promise<string>;
  logger: Logger;
  /** bounded waits; defaults 15 s */
  startTimeoutMs?: number;
  reloadTimeoutMs?: number;
}

export class HaproxyProcess {
  private peer: string | null | undefined;

  constructor(private readonly opts: ProcessOptions) {}

  async readPid(): Promise<number | null> {
    try {
      const pid = Number((await readFile(this.opts.pidFile, 'utf8')).trim().split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** The master's view, or null when no HAProxy of ours runs (dead pid, zombie, socket refusing). */
  async status(): Promise<ProcInfo | null> {
    const pid = await this.readPid();
    if (pid === null || !pidAlive(pid)) return null;
    try {
      const info = parseShowProc(await masterCommand(this.opts.masterSocket, 'show proc'));
      return info && info.masterPid === pid ? info : null;
    } catch {
      return null;
    }
  }

  async start(): Promise<ProcInfo> {
    const { bin, configFile, masterSocket, pidFile } = this.opts;
    this.peer ??= this.opts.localPeer ? await this.opts.localPeer() : null;
    // -L: the peer name HAProxy looks for in `peers` sections (the master keeps it across reloads)
    const args = ['-W', '-S', masterSocket, '-f', configFile, '-p', pidFile, '-D', ...(this.peer ? ['-L', this.peer] : [])];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', (e) => reject(new LighthouseError('LH_ERR_HAPROXY_PROCESS', `cannot run ${bin}: ${e.message}`, { cause: e })));
      // 'exit', not 'close': the daemonized master may keep stderr open
      child.on('exit', (code) => {
        child.stderr.destroy();
        child.unref();
        const lines = err.split('\n').filter((l) => l.includes('[ALERT]'));
        if (code === 0) resolve(err);
        else reject(new LighthouseError('LH_ERR_HAPROXY_PROCESS', `${bin} ${args.join(' ')} exited with ${code}${lines.length ? `:\n${lines.join('\n')}` : ''}`));
      });
    });
    const info = await this.until(async () => {
      const s = await this.status();
      return s && s.workers.length > 0 ? s : null;
    }, this.opts.startTimeoutMs ?? 15_000, 'HAProxy to start');
    this.opts.logger.info({ masterPid: info.masterPid, workerPid: info.workers[0], alerts: output.includes('[ALERT]') || undefined }, 'HAProxy started');
    return info;
  }

  /**
   * Reload through the master socket and confirm it: in 2.6 `reload` replies nothing, so wait
   * until `show proc` counts one more reload and lists a new worker, or counts a failure (the
   * old worker then keeps serving).
   */
  async reload(): Promise<ProcInfo> {
    const before = await this.status();
    if (!before) throw new LighthouseError('LH_ERR_HAPROXY_PROCESS', `cannot reload: HAProxy is not running (pid file ${this.opts.pidFile}, master socket ${this.opts.masterSocket})`);
    await masterCommand(this.opts.masterSocket, 'reload');
    const after = await this.until(async () => {
      const s = await this.status(); // refused while the master re-executes itself: poll on
      if (!s) return null;
      if (s.failed > before.failed) return s;
      return s.reloads > before.reloads && s.workers.some((w) => !before.workers.includes(w)) ? s : null;
    }, this.opts.reloadTimeoutMs ?? 15_000, 'HAProxy to confirm the reload');
    if (after.failed > before.failed) {
      // the master's stderr is closed (-D): HAProxy's own reason goes to the global `log` targets
      throw new ReloadFailedError(
        `HAProxy reload failed: the new config passed haproxy -c but did not start (usually a port already in use); the previous worker ${before.workers[0]} keeps serving. HAProxy's reason is in the log of its global section.`,
      );
    }
    return after;
  }

  /** Stop HAProxy (tests, demo): SIGTERM to the master, bounded wait, then SIGKILL. The writer
   * never calls this on its own. */
  async stop(timeoutMs = 5000): Promise<void> {
    const pid = await this.readPid();
    if (pid === null || !pidAlive(pid)) return;
    const workers = (await this.status())?.workers ?? [];
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const end = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < end) await delay(10);
    for (const p of [pid, ...workers]) if (pidAlive(p)) process.kill(p, 'SIGKILL');
  }

  private async until<T>(fn: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new LighthouseError('LH_ERR_HAPROXY_PROCESS', `timed out after ${timeoutMs} ms waiting for ${what} (master socket ${this.opts.masterSocket})`);
      await delay(5);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
