/**
 * The availability state file (`state_file` in availability.yaml): the node's state and each
 * service's, with reason, who set it and when, so they survive restarts and reboots.
 *
 *   {"version": 1,
 *    "node": {"state": "disabled", "reason": "kernel upgrade", "by": "local:alice",
 *             "since": "2026-05-04T10:00:00.000Z", "code": 404, "message": "node is unavailable",
 *             "effect": "drain"},
 *    "services": {"web": {...}}}
 *
 * Each entry keeps the state's definition as it was when set, so a state later removed from
 * availability.yaml keeps doing what it did. Written atomically (temp file in the same
 * directory, fsync, rename, fsync of the directory): a crash leaves the old file or the new one,
 * never half of one. A file that does not parse is an error, never "no state": a node put in
 * maintenance must not come back up because its state file was damaged.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { LighthouseError } from '../core/errors.js';
import { EFFECTS, stateName } from './schema.js';

const entrySchema = z.strictObject({
  state: stateName,
  reason: z.string().max(1000).optional(),
  by: z.string().max(200),
  since: z.string().max(40),
  code: z.number().int().min(100).max(599),
  message: z.string().max(200),
  effect: z.enum(EFFECTS),
});
export type StateEntry = z.infer<typeof entrySchema>;

const fileSchema = z.strictObject({
  version: z.literal(1),
  node: entrySchema.optional(),
  services: z.record(z.string().min(1).max(200), entrySchema).default({}),
});
export type StateRecord = z.infer<typeof fileSchema>;

/** The record in `file`; an empty one when there is no file; LH_ERR_STATE_FILE otherwise. */
export async function readStateFile(file: string): Promise<StateRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, services: {} };
    throw new LighthouseError('LH_ERR_STATE_FILE', `availability state file ${file}: cannot read it (${(err as Error).message})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw damaged(file, `not JSON (${(err as Error).message})`);
  }
  const r = fileSchema.safeParse(json);
  if (!r.success) throw damaged(file, r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; '));
  return r.data;
}

function damaged(file: string, why: string): LighthouseError {
  return new LighthouseError('LH_ERR_STATE_FILE', `availability state file ${file} is damaged: ${why}. Fix it, or remove it to start in the default state`);
}

/** Replace `file` with `record`, atomically and durably. */
export async function writeStateFile(file: string, record: StateRecord): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new LighthouseError('LH_ERR_STATE_FILE', `availability state file ${file}: cannot write it (${(err as Error).message})`, { cause: err });
  }
}
