/**
 * `haproxy -c`: is a config file one HAProxy accepts? Exit 0 = valid (warnings allowed), 1 =
 * invalid, with its [ALERT] lines. Run through one long-lived shell (ConfigChecker) so that the
 * writer never forks a process of its own size on the path of a runtime change.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { LighthouseError } from '../../../core/errors.js';

/** HAProxy refused a config; `lines` are its own [ALERT] lines (candidate path replaced by the
 * target's). */
export class HaproxyConfigError extends LighthouseError {
  readonly lines: string[];
  constructor(file: string, lines: string[]) {
    super('LH_ERR_HAPROXY_CONFIG', `HAProxy rejected the config for ${file}:\n${lines.join('\n')}`);
    this.name = 'HaproxyConfigError';
    this.lines = lines;
  }
}

export interface CheckResult {
  ok: boolean;
  /** every line HAProxy printed (NOTICE lines dropped) */
  output: string[];
}

/** `haproxy -c -f file`. Rejects only when HAProxy cannot be run at all. */
export function checkConfig(bin: string, file: string, timeoutMs = 30_000): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-c', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) =>
      reject(new LighthouseError('LH_ERR_HAPROXY_PROCESS', `cannot run ${bin} -c -f ${file}: ${err.message}`, { cause: err })),
    );
    child.on('close', (code, signal) => {
      const output = lines(out);
      if (signal) output.push(`${bin} -c killed by ${signal}`);
      resolve({ ok: code === 0, output });
    });
  });
}

const RC = '\x1erc '; // the shell's end-of-check marker: "\n\x1erc N\n" (RS: never in HAProxy's output)

interface Check {
  file: string;
  resolve(r: CheckResult): void;
  reject(err: Error): void;
}

/**
 * `haproxy -c` through one long-lived /bin/sh that forks HAProxy for each check. Spawning from
 * the writer itself blocks its event loop while it forks a process of its size (the longer the
 * larger the writer), i.e. on the path of the next runtime change; forking from a small shell
 * costs the writer a pipe write (bench/writer-process-scale.ts measures that path). Checks run one at a time, in order. The shell ends with
 * the writer (stdin EOF) and is started again if it dies.
 */
export class ConfigChecker {
  private sh: ChildProcess | null = null;
  private out = '';
  private readonly queue: Check[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** closed while a check ran: not used for the next one */
  private ending: ChildProcess | null = null;

  constructor(
    private readonly bin: string,
    private readonly timeoutMs = 30_000,
  ) {}

  check(file: string): Promise<CheckResult> {
    if (/[\r\n]/.test(file)) return checkConfig(this.bin, file, this.timeoutMs);
    return new Promise((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      if (this.queue.length === 1) this.next();
    });
  }

  /** End the shell once its current check is answered (a later check starts a new one). */
  close(): void {
    this.sh?.stdin?.end();
    if (!this.queue.length) this.sh = null;
    else this.ending = this.sh;
  }

  private next(): void {
    const c = this.queue[0];
    if (!c) return this.idle(true);
    if (this.sh && this.sh === this.ending) this.sh = null;
    const sh = this.sh ?? this.spawn();
    this.idle(false);
    this.timer = setTimeout(() => {
      this.sh = null;
      sh.kill('SIGKILL');
      this.done({ ok: false, output: [...lines(this.out), `${this.bin} -c killed after ${this.timeoutMs} ms`] });
    }, this.timeoutMs);
    sh.stdin!.write(`${c.file}\n`);
  }

  private spawn(): ChildProcess {
    const script = `while IFS= read -r f; do "$0" -c -f "$f" 2>&1 </dev/null; printf '\\n${RC}%s\\n' "$?"; done`;
    const sh = spawn('/bin/sh', ['-c', script, this.bin], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.sh = sh;
    this.out = '';
    sh.stdout!.setEncoding('utf8');
    sh.stdout!.on('data', (d: string) => {
      this.out += d;
      const at = this.out.indexOf(`\n${RC}`);
      const end = at < 0 ? -1 : this.out.indexOf('\n', at + 1);
      if (end < 0) return;
      const code = Number(this.out.slice(at + 1 + RC.length, end));
      const text = this.out.slice(0, at);
      this.out = this.out.slice(end + 1);
      if (code === 126 || code === 127) this.fail(new LighthouseError('LH_ERR_HAPROXY_PROCESS', `cannot run ${this.bin} -c: ${text.trim()}`));
      else this.done({ ok: code === 0, output: lines(text) });
    });
    sh.stdin!.on('error', () => {}); // the exit handler answers
    sh.on('error', (err) => this.gone(sh, err));
    sh.on('exit', () => this.gone(sh, new Error('the shell running haproxy -c exited')));
    return sh;
  }

  private gone(sh: ChildProcess, err: Error): void {
    if (this.sh !== sh) return; // replaced already (timed out, closed)
    this.sh = null;
    if (this.queue.length) this.fail(new LighthouseError('LH_ERR_HAPROXY_PROCESS', `cannot run ${this.bin} -c: ${err.message}`, { cause: err }));
  }

  private done(r: CheckResult): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.shift()?.resolve(r);
    this.next();
  }

  private fail(err: Error): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.shift()?.reject(err);
    this.next();
  }

  /** An idle shell does not keep the process alive. */
  private idle(yes: boolean): void {
    const sh = this.sh;
    if (!sh) return;
    for (const h of [sh, sh.stdin, sh.stdout] as { ref?(): void; unref?(): void }[]) (yes ? h?.unref : h?.ref)?.call(h);
  }
}

function lines(out: string): string[] {
  return out.split('\n').filter((l) => l.trim() && !l.includes('[NOTICE]'));
}

/** `haproxy -v` -> [major, minor], or null when it cannot be run or read. Synchronous: run
 * once, when the balancer is created. */
export function haproxyVersion(bin: string): [number, number] | null {
  try {
    const m = /version (\d+)\.(\d+)/.exec(execFileSync(bin, ['-v'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }));
    return m ? [Number(m[1]), Number(m[2])] : null;
  } catch {
    return null;
  }
}
