/**
 * The HAProxy config file: idempotent, validated, atomic. Text equal to what is on disk is not
 * written. Changed text goes to a candidate file next to the target, is checked with
 * `haproxy -c -f candidate` (exit 0 = valid, warnings allowed) and renamed over the target, so a
 * config HAProxy rejects is never put in place and a reader never sees half a file.
 */
import { spawn } from 'node:child_process';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LighthouseError } from '../../core/errors.js';

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
      const output = out.split('\n').filter((l) => l.trim() && !l.includes('[NOTICE]'));
      if (signal) output.push(`${bin} -c killed by ${signal}`);
      resolve({ ok: code === 0, output });
    });
  });
}

export class ConfigFile {
  /** what we know the target holds; undefined until read or written */
  private current: string | undefined;
  private writing: Promise<void> | null = null;
  private wanted: { text: () => string; done: () => void } | null = null;
  /** ends the current pause between background writes at once */
  private hurry: (() => void) | null = null;
  private flushing = 0;

  constructor(
    readonly path: string,
    private readonly haproxyBin: string,
    /** a background write HAProxy rejected (nobody awaits it) */
    private readonly onBackgroundError: (err: unknown) => void = () => {},
    /** background writes start at least this long after the request and after each other */
    private readonly delayMs = 0,
  ) {}

  /** Write in the background, after `delayMs` (and never in the caller's tick): requests made
   * meanwhile, or while a write runs, coalesce to the latest, so a burst of changes renders and
   * checks one config. `text` is called only for the write that happens, `done` once it is in
   * place. Used for membership-only changes: rendering and `haproxy -c` (~0.5 s of a child's
   * CPU on a 50,000-server config) stay off the path of the next runtime change. */
  writeLater(text: () => string, done: () => void = () => {}): void {
    this.wanted = { text, done };
    if (this.writing) return;
    this.writing = (async () => {
      await this.pause();
      for (let w = this.wanted; w; w = this.wanted) {
        this.wanted = null;
        try {
          await this.write(w.text());
          w.done();
        } catch (err) {
          this.onBackgroundError(err);
        }
        if (this.wanted) await this.pause();
      }
      this.writing = null;
    })();
  }

  /** Drop a queued background write and wait for a running one. */
  async settle(): Promise<void> {
    this.wanted = null;
    await this.flush();
  }

  /** Do queued background writes now, and wait until they are done. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      while (this.writing) {
        this.hurry?.();
        await this.writing;
      }
    } finally {
      this.flushing--;
    }
  }

  private pause(): Promise<void> {
    if (this.flushing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.delayMs);
      this.hurry = () => (clearTimeout(timer), resolve());
    }).finally(() => (this.hurry = null));
  }

  /** The file's text, or null when there is none. */
  async read(): Promise<string | null> {
    try {
      this.current = await readFile(this.path, 'utf8');
      return this.current;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Put `text` in place unless it is already there. Returns whether the file changed.
   * Throws HaproxyConfigError (LH_ERR_HAPROXY_CONFIG) when HAProxy rejects it; the target is
   * then untouched. */
  async write(text: string): Promise<boolean> {
    if (this.current === undefined) await this.read();
    if (this.current === text) return false;
    const candidate = join(dirname(this.path), `.${basename(this.path)}.candidate`);
    await writeFile(candidate, text, { mode: 0o644 });
    try {
      const res = await checkConfig(this.haproxyBin, candidate);
      if (!res.ok) {
        const alerts = res.output.filter((l) => l.includes('[ALERT]'));
        throw new HaproxyConfigError(this.path, (alerts.length ? alerts : res.output).map((l) => l.split(candidate).join(this.path)));
      }
      await rename(candidate, this.path);
      this.current = text;
      return true;
    } finally {
      await unlink(candidate).catch(() => {});
    }
  }

  /** Check the file currently on disk. */
  check(): Promise<CheckResult> {
    return checkConfig(this.haproxyBin, this.path);
  }
}
