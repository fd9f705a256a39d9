/**
 * Runs a lighthouse daemon (reporter / writer) as a child process from the TypeScript sources,
 * collects its JSON log lines, and stops it by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGKILL');
});

export interface Daemon {
  proc: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  /** raw output lines that were not JSON (stack traces) */
  raw: string[];
  waitForLog(pred: (l: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, wait for exit; returns the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** dist/ is as new as src/ and templates/ (the rule of scripts/ensure-deps.sh, which `npm test`
 * runs first): a test may then start the built programs, which start with a third of the CPU
 * the sources under tsx take. */
export function builtIsCurrent(): boolean {
  let built: number;
  try {
    built = statSync(`${ROOT}/dist/.built`).mtimeMs;
  } catch {
    return false;
  }
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs > built));
  return !newer(`${ROOT}/src`) && !newer(`${ROOT}/templates`);
}

/** `built`: run the compiled dist/ (what production runs; benchmarks) instead of the sources. */
export function startDaemon(program: 'lighthouse-reporter' | 'lighthouse-writer' | 'lighthousectl', args: string[], env: Record<string, string> = {}, built = false): Daemon {
  const entry = built ? [`${ROOT}/dist/cli/${program}.js`] : ['--import', 'tsx', `${ROOT}/src/cli/${program}.ts`];
  const proc = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, LIGHTHOUSE_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const logs: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const onData = (buf: Buffer, acc: { rest: string }) => {
    const lines = (acc.rest + buf.toString()).split('\n');
    acc.rest = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        raw.push(line);
      }
    }
  };
  const out = { rest: '' };
  const err = { rest: '' };
  proc.stdout!.on('data', (b: Buffer) => onData(b, out));
  proc.stderr!.on('data', (b: Buffer) => onData(b, err));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (live.delete(proc), resolve(code))));
  return {
    proc,
    pid: proc.pid!,
    logs,
    raw,
    exited,
    waitForLog: (pred, what, ms = 15_000) =>
      waitFor(() => logs.find(pred), what, ms, () => `\nlogs:\n${logs.slice(-30).map((l) => JSON.stringify(l)).join('\n')}\n${raw.join('\n')}`),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      process.kill(proc.pid!, signal);
      const timer = setTimeout(() => proc.exitCode === null && process.kill(proc.pid!, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
