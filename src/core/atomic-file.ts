/**
 * Replace a file atomically, as consul-template does: a unique temp file in the target's own
 * directory (a rename never crosses file systems), written and fsynced, given the existing
 * file's mode and owner (or `mode` for a new one), renamed over the target, then the directory
 * fsynced so the rename itself survives a crash. A reader sees the old file or the new one,
 * never a part of either.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
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
export async function writeFileAtomic(path: string, data: string | Buffer | readonly (string | Buffer)[], opts: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(path);
  const old = await stat(path).catch(() => null);
  const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    for (const piece of Array.isArray(data) ? data : [data]) await fh.write(piece);
    await fh.sync();
    await fh.close();
    await keepOwnership(tmp, old);
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
}

/** The same, blocking: for small files on a path where a few event-loop turns cost more. */
export function writeFileAtomicSync(path: string, data: string | Buffer | readonly (string | Buffer)[], opts: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  let old: Stats | null = null;
  try {
    old = statSync(path);
  } catch {
    // a new file
  }
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    for (const piece of Array.isArray(data) ? data : [data]) writeSync(fd, piece);
    fsyncSync(fd);
    if (old) {
      fchmodSync(fd, old.mode & 0o7777);
      if (process.getuid?.() === 0) fchownSync(fd, old.uid, old.gid);
    }
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
      // renamed or never written
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
