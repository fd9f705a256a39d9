/**
 * Runs one action script: spawned with an argv (no shell: arguments and environment are data),
 * as the leader of a new process group, its output handed on line by line as it comes. At the
 * timeout (or when the caller goes away) the whole group gets SIGTERM, and SIGKILL after a
 * grace period, so what the script started in the background goes with it. A process that
 * left the group (setsid) is beyond reach; the run still ends: its output pipes are closed.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Clock } from '../core/clock.js';
import { signalGroup } from '../core/process-group.js';

/** longer lines are handed on in pieces of this many characters */
export const MAX_LINE = 16 * 1024;
const KILL_GRACE_MS = 2000;

export type StreamName = 'stdout' | 'stderr';

export interface RunSpec {
  /** absolute path of the script */
  path: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** aborted: the caller went away; the run is ended as at the timeout */
  signal?: AbortSignal;
  clock: Clock;
  /** SIGTERM -> SIGKILL, and SIGKILL -> giving up on the pipes; default KILL_GRACE_MS */
  graceMs?: number;
}

export interface RunResult {
  /** the script's exit code; null when it was ended by a signal or never started */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** why it did not start (spawn failed) */
  error?: string;
  pid?: number;
}

export function runScript(spec: RunSpec, onLine: (stream: StreamName, line: string) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const grace = spec.graceMs ?? KILL_GRACE_MS;
    let child;
    try {
      child = spawn(spec.path, [...spec.args], { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ exitCode: null, signal: null, timedOut: false, cancelled: false, error: (err as Error).message });
      return;
    }
    const pid = child.pid;
    const timers: { cancel(): void }[] = [];
    let timedOut = false;
    let cancelled = false;
    let done = false;
    const flushers = [lines(child.stdout!, 'stdout', onLine), lines(child.stderr!, 'stderr', onLine)];
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      for (const f of flushers) f();
      for (const t of timers) t.cancel();
      spec.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const killGroup = (sig: NodeJS.Signals) => signalGroup(pid, sig);
    const end = () => {
      killGroup('SIGTERM');
      timers.push(
        spec.clock.setTimeout(() => {
          killGroup('SIGKILL');
          // a process outside the group may still hold the pipes: stop waiting for them
          timers.push(spec.clock.setTimeout(() => (child.stdout?.destroy(), child.stderr?.destroy(), finish({ exitCode: child.exitCode, signal: child.signalCode, timedOut, cancelled, pid })), grace));
        }, grace),
      );
    };
    const onAbort = () => {
      if (done || timedOut || cancelled) return;
      cancelled = true;
      end();
    };
    spec.signal?.addEventListener('abort', onAbort);
    if (spec.signal?.aborted) onAbort();
    timers.push(
      spec.clock.setTimeout(() => {
        if (cancelled) return;
        timedOut = true;
        end();
      }, spec.timeoutMs),
    );
    child.once('error', (err) => finish({ exitCode: null, signal: null, timedOut, cancelled, error: err.message, pid }));
    child.once('close', (code, signal) => finish({ exitCode: code, signal, timedOut, cancelled, pid }));
  });
}

/** Hand on each complete line of `stream` (UTF-8 kept whole across chunks); returns the function
 * that hands on the last, unterminated one. */
function lines(stream: Readable, name: StreamName, onLine: (stream: StreamName, line: string) => void): () => void {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const push = (text: string) => {
    rest += text;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      emit(rest.slice(0, nl).replace(/\r$/, ''));
      rest = rest.slice(nl + 1);
    }
    while (rest.length > MAX_LINE) {
      emit(rest.slice(0, MAX_LINE));
      rest = rest.slice(MAX_LINE);
    }
  };
  const emit = (line: string) => {
    for (let i = 0; i < line.length || i === 0; i += MAX_LINE) onLine(name, line.slice(i, i + MAX_LINE));
  };
  stream.on('data', (chunk: Buffer) => push(decoder.write(chunk)));
  stream.on('error', () => {});
  return () => {
    push(decoder.end());
    if (rest) emit(rest);
    rest = '';
  };
}
