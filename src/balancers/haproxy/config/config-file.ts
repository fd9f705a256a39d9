/**
 * The HAProxy config file: idempotent, validated, atomic. Text equal to what is on disk is not
 * written. Changed text is staged in a unique temp file beside the target (core/atomic-file.ts:
 * fsynced, the existing file's mode and owner kept), checked with `haproxy -c` (check.ts) and
 * renamed over the target, so a config HAProxy rejects is never put in place and a reader never
 * sees half a file.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { stageFile, tempPathFor } from '../../../core/atomic-file.js';
import { ConfigChecker, HaproxyConfigError, type CheckResult } from './check.js';

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

/** config texts shorter than this are written with blocking calls (ConfigFile.write) */
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
   * place. Used for membership-only changes: rendering and `haproxy -c`, which grow with the
   * config, stay off the path of the next runtime change.
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
    // A small file is written and renamed with blocking calls, where each fs/promises call
    // is a round trip through libuv's thread pool; a large one stays off the event loop.
    // (bench/writer-process-scale.ts measures the membership path this is on.)
    const scratch = this.scratch;
    this.scratch = null; // (a write running meanwhile encodes into a buffer of its own)
    const enc = typeof text === 'string' ? null : encode(text, scratch);
    const bytes: string | Buffer = enc ? enc.bytes : (text as string);
    let staged;
    try {
      staged = await stageFile(this.path, bytes, { blocking: bytes.length < SYNC_WRITE_MAX });
    } finally {
      this.scratch = enc?.buf ?? scratch;
    }
    try {
      const res = check ? await this.checker.check(staged.tmp) : { ok: true, output: [] };
      if (!res.ok) {
        const alerts = res.output.filter((l) => l.includes('[ALERT]'));
        throw new HaproxyConfigError(this.path, (alerts.length ? alerts : res.output).map((l) => l.split(staged.tmp).join(this.path)));
      }
      await staged.commit();
      this.current = text;
      return true;
    } finally {
      await staged.discard();
    }
  }

  /** `haproxy -c` of `text` in a trial file next to the target (never put in place). */
  async trial(text: string): Promise<CheckResult> {
    const file = tempPathFor(this.path);
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
