/**
 * Secrets kept in files: `${file:/path}` references (refs.ts) and the `*_file` form of every
 * secret key (`password_file`, `token_file`, `key_file`, ...), read when the config file that
 * names them is loaded (again on every change of it, and on SIGHUP).
 *
 * A secret file is a regular file of at most 1 MiB, read as UTF-8; trailing line breaks are
 * dropped (`echo secret > file` writes one). Paths must be absolute: relative to what would be
 * a guess (the config dir, the daemon's working directory).
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const MAX_SECRET_FILE = 1024 * 1024;

/** Read a secret file; throws an Error whose message names the path and why, never content. */
export function readSecretFile(path: string): string {
  if (!isAbsolute(path)) throw new Error(`${path}: must be an absolute path`);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`${path}: not a regular file`);
    size = st.size;
  } catch (err) {
    throw new Error(reason(path, err));
  }
  if (size > MAX_SECRET_FILE) throw new Error(`${path}: larger than ${MAX_SECRET_FILE} bytes`);
  try {
    return readFileSync(path, 'utf8').replace(/(\r?\n)+$/, '');
  } catch (err) {
    throw new Error(reason(path, err));
  }
}

function reason(path: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.message?.startsWith(`${path}:`)) return e.message;
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
  return `${path}: ${(e.code && why[e.code]) ?? e.message} ${e.code ? `(${e.code})` : ''}`.trim();
}

/**
 * A zod transform for objects with `NAME` / `NAME_file` pairs: each `NAME_file` given is read
 * into `NAME` (and removed); both given, or an unreadable file, is an issue at `NAME_file`, so
 * the config error points at the line that names the file.
 */
export function fileForms<T extends object>(names: readonly string[]) {
  return (value: T, ctx: z.RefinementCtx): T => {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    let failed = false;
    for (const name of names) {
      const key = `${name}_file`;
      const path = out[key];
      if (path === undefined) continue;
      delete out[key];
      if (out[name] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `set \`${name}\` or \`${key}\`, not both` });
        failed = true;
        continue;
      }
      try {
        out[name] = readSecretFile(String(path));
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: [key], message: `cannot read ${(err as Error).message}` });
        failed = true;
      }
    }
    return failed ? z.NEVER : (out as T);
  };
}
