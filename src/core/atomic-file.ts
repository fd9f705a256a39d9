/**
 * Replace a file atomically, as consul-template does: a unique temp file in the target's own
 * directory (a rename never crosses file systems), written and fsynced, given the existing
 * file's mode and owner (or `mode` for a new one), renamed over the target, then the directory
 * fsynced so the rename itself survives a crash. A reader sees the old file or the new one,
 * never a part of either. `stageFile` splits the same steps in two, for a file that is checked
 * in place before it replaces the target (the HAProxy config: `haproxy -c` on the temp file).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { chmod, chown, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** mode of a new file (an existing file's mode is kept), default 0o644 */
  mode?: number;
}

/** The temp file's path: hidden, beside the target, unique per call. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Write `data` (or the pieces of `data`, one after the other) to `path` atomically. */
export async function writeFileAtomic(path: string, data: AtomicData, opts: AtomicWriteOptions = {}): Promise<void> {
  await (await stageFile(path, data, opts)).commit();
}

export type AtomicData = string | Buffer | readonly (string | Buffer)[];

/** A temp file written and fsynced beside its target, with the target's mode and owner: not in
 * place until `commit`; `discard` removes it. */
export interface StagedFile {
  /** the temp file's path (to check it where it is) */
  readonly tmp: string;
  /** rename it over the target, then fsync the directory */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface StageOptions extends AtomicWriteOptions {
  /** write and rename with blocking calls (fsyncs stay off the event loop): for small files on
   * a path where each thread-pool round trip costs more than the write */
  blocking?: boolean;
}

/** Stage `data` for `path` (the first half of writeFileAtomic). */
export async function stageFile(path: string, data: AtomicData, opts: StageOptions = {}): Promise<StagedFile> {
  const tmp = tempPathFor(path);
  const pieces = Array.isArray(data) ? data : [data as string | Buffer];
  let done = false;
  const discard = async () => {
    if (!done) await unlink(tmp).catch(() => {});
    done = true;
  };
  try {
    if (opts.blocking) {
      const fd = writeTempSync(path, tmp, pieces, opts.mode);
      try {
        await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
      } finally {
        closeSync(fd);
      }
    } else {
      const old = await stat(path).catch(() => null);
      const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
      try {
        for (const piece of pieces) await fh.write(piece);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await keepOwnership(tmp, old);
    }
  } catch (err) {
    await discard();
    throw err;
  }
  return {
    tmp,
    discard,
    async commit() {
      if (done) throw new Error(`${tmp} was committed or discarded already`);
      try {
        if (opts.blocking) renameSync(tmp, path);
        else await rename(tmp, path);
      } catch (err) {
        await discard();
        throw err;
      }
      done = true;
      await syncDir(dirname(path));
    },
  };
}

/** The same, blocking: for small files on a path where a few event-loop turns cost more. */
export function writeFileAtomicSync(path: string, data: AtomicData, opts: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  const fd = writeTempSync(path, tmp, Array.isArray(data) ? data : [data as string | Buffer], opts.mode);
  try {
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    try {
      unlinkSync(tmp);
    } catch {
      // renamed already
    }
    throw err;
  }
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** `pieces` written to a new `tmp`, given `path`'s mode and owner when it exists (else `mode`):
 * the open descriptor, for the caller to fsync and close. On failure `tmp` is removed. */
function writeTempSync(path: string, tmp: string, pieces: readonly (string | Buffer)[], mode = 0o644): number {
  let old: Stats | null = null;
  try {
    old = statSync(path);
  } catch {
    // a new file
  }
  const fd = openSync(tmp, 'wx', mode);
  try {
    for (const piece of pieces) {
      if (typeof piece === 'string') writeSync(fd, piece); // (two overloads: no union)
      else writeSync(fd, piece);
    }
    if (old) {
      fchmodSync(fd, old.mode & 0o7777);
      // only root may give a file away; anyone else keeps the file as theirs
      if (process.getuid?.() === 0) fchownSync(fd, old.uid, old.gid);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw err;
  }
}

async function keepOwnership(tmp: string, old: Stats | null): Promise<void> {
  if (!old) return;
  await chmod(tmp, old.mode & 0o7777);
  // only root may give a file away; anyone else keeps the file as theirs, as consul-template does
  if (process.getuid?.() === 0) await chown(tmp, old.uid, old.gid);
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
