/**
 * The HAProxy config file: idempotent, validated, atomic. Text equal to what is on disk is not
 * written. Changed text goes to a candidate file next to the target, is checked with
 * `haproxy -c -f candidate` (exit 0 = valid, warnings allowed) and renamed over the target, so a
 * config HAProxy rejects is never put in place and a reader never sees half a file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
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
 * the writer itself blocks its event loop while it forks a process of its size (~3.5 ms at
 * ~100 MB, more at scale), i.e. on the path of the next runtime change; forking from a small
 * shell costs the writer a pipe write. Checks run one at a time, in order. The shell ends with
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

/** `parts` encoded (UTF-8) into `into` when it is large enough, else into a new buffer with
 * room to grow; the bytes written, a view of that buffer. */
function encode(parts: readonly string[], into: Buffer | null): { buf: Buffer; bytes: Buffer } {
  let n = 0;
  for (const p of parts) n += Buffer.byteLength(p);
  const buf = into && into.length >= n ? into : Buffer.allocUnsafe(Math.ceil(n * 1.25));
  let at = 0;
  for (const p of parts) at += buf.write(p, at, 'utf8');
  return { buf, bytes: buf.subarray(0, at) };
}

/** config texts shorter than this are written with synchronous calls (ConfigFile.write) */
const SYNC_WRITE_MAX = 256 * 1024;

/** A config text: one string, or pieces to be written one after the other (Renderer.renderParts). */
export type ConfigText = string | readonly string[];

/** Do two texts hold the same characters? Pieces are compared where they line up (the same
 * kept string: an identity check), without joining them into one string. */
export function sameText(a: ConfigText, b: ConfigText): boolean {
  if (a === b) return true;
  const pa = typeof a === 'string' ? [a] : a;
  const pb = typeof b === 'string' ? [b] : b;
  let i = 0, j = 0, oa = 0, ob = 0;
  for (;;) {
    while (i < pa.length && oa === pa[i].length) i++, (oa = 0);
    while (j < pb.length && ob === pb[j].length) j++, (ob = 0);
    if (i === pa.length || j === pb.length) return i === pa.length && j === pb.length;
    const x = pa[i], y = pb[j];
    if (oa === 0 && ob === 0 && x === y) {
      oa = x.length;
      ob = y.length;
      continue;
    }
    const n = Math.min(x.length - oa, y.length - ob);
    if (x.slice(oa, oa + n) !== y.slice(ob, ob + n)) return false;
    oa += n;
    ob += n;
  }
}

export class ConfigFile {
  /** what we know the target holds; undefined until read or written */
  private current: ConfigText | undefined;
  /** where pieces are encoded for writing, reused (a fresh 4 MB buffer per write costs its page
   * faults); null while a write uses it */
  private scratch: Buffer | null = Buffer.alloc(0);
  private writing: Promise<void> | null = null;
  private wanted: { text: () => ConfigText; done: () => void; check: boolean } | null = null;
  /** ends the current pause between background writes at once */
  private hurry: (() => void) | null = null;
  private flushing = 0;
  private readonly checker: ConfigChecker;

  constructor(
    readonly path: string,
    haproxyBin: string,
    /** a background write HAProxy rejected (nobody awaits it) */
    private readonly onBackgroundError: (err: unknown) => void = () => {},
    /** background writes start at least this long after the request and after each other */
    private readonly delayMs = 0,
  ) {
    this.checker = new ConfigChecker(haproxyBin);
  }

  /** Write in the background, after `delayMs` (and never in the caller's tick): requests made
   * meanwhile, or while a write runs, coalesce to the latest, so a burst of changes renders and
   * checks one config. `text` is called only for the write that happens, `done` once it is in
   * place. Used for membership-only changes: rendering and `haproxy -c` (~0.5 s of a child's
   * CPU on a 50,000-server config) stay off the path of the next runtime change.
   * `check: false` skips `haproxy -c` (see write()). */
  writeLater(text: () => ConfigText, done: () => void = () => {}, check = true): void {
    this.wanted = { text, done, check };
    if (this.writing) return;
    this.writing = (async () => {
      await this.pause();
      for (let w = this.wanted; w; w = this.wanted) {
        this.wanted = null;
        try {
          await this.write(w.text(), w.check);
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
   * then untouched. `check: false` puts it in place without `haproxy -c`: only for a text whose
   * every line but server lines HAProxy accepted already (the caller's proof), still renamed
   * atomically. */
  async write(text: ConfigText, check = true): Promise<boolean> {
    if (this.current === undefined) await this.read();
    if (this.current !== undefined && sameText(this.current, text)) return false;
    const candidate = join(dirname(this.path), `.${basename(this.path)}.candidate`);
    // A small file is written and renamed synchronously: ~0.1 ms of blocking, where each
    // fs/promises call is a round trip through libuv's thread pool (two thread wake-ups; on
    // this VM the kernel side of a membership change was a third of its CPU). A large one
    // (1,000 clusters: ~4 MB) stays off the event loop.
    const scratch = this.scratch;
    this.scratch = null; // (a write running meanwhile encodes into a buffer of its own)
    const enc = typeof text === 'string' ? null : encode(text, scratch);
    const bytes: string | Buffer = enc ? enc.bytes : (text as string);
    const small = bytes.length < SYNC_WRITE_MAX;
    let placed = false;
    try {
      if (small) writeFileSync(candidate, bytes, { mode: 0o644 });
      else await writeFile(candidate, bytes, { mode: 0o644 });
    } finally {
      this.scratch = enc?.buf ?? scratch;
    }
    try {
      const res = check ? await this.checker.check(candidate) : { ok: true, output: [] };
      if (!res.ok) {
        const alerts = res.output.filter((l) => l.includes('[ALERT]'));
        throw new HaproxyConfigError(this.path, (alerts.length ? alerts : res.output).map((l) => l.split(candidate).join(this.path)));
      }
      if (small) renameSync(candidate, this.path);
      else await rename(candidate, this.path);
      placed = true;
      this.current = text;
      return true;
    } finally {
      if (!placed) await unlink(candidate).catch(() => {});
    }
  }

  /** `haproxy -c` of `text` in a trial file next to the target (never put in place). */
  async trial(text: string): Promise<CheckResult> {
    const file = join(dirname(this.path), `.${basename(this.path)}.trial`);
    await writeFile(file, text, { mode: 0o644 });
    try {
      return await this.checker.check(file);
    } finally {
      await unlink(file).catch(() => {});
    }
  }

  /** Check the file currently on disk. */
  check(): Promise<CheckResult> {
    return this.checker.check(this.path);
  }

  /** End the `haproxy -c` shell (started again if needed). */
  close(): void {
    this.checker.close();
  }
}
