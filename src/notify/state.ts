/**
 * The notifier's state file: the last notified state of each subject, so that a restart
 * neither notifies again what was notified before it nor misses a change that happened while
 * it was down (the first state seen after a start is compared with the file's). Written
 * atomically (temp file + rename) after each confirmed change, one write at a time; a file
 * that cannot be written is logged once and the state lives in memory.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../core/logger.js';

export class StateFile {
  private writing: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  async load(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ err, file: this.path }, 'notification state file unreadable: starting without it');
      return new Map();
    }
    try {
      const data = JSON.parse(text) as { subjects?: Record<string, string> };
      return new Map(Object.entries(data.subjects ?? {}).filter(([, v]) => typeof v === 'string'));
    } catch {
      this.log.warn({ file: this.path }, 'notification state file is not valid JSON: starting without it');
      return new Map();
    }
  }

  save(subjects: ReadonlyMap<string, string>): Promise<void> {
    const text = `${JSON.stringify({ version: 1, subjects: Object.fromEntries(subjects) })}\n`;
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.path), { recursive: true });
        const tmp = `${this.path}.${process.pid}.tmp`;
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.path);
        this.warned = false;
      } catch (err) {
        if (!this.warned) this.log.warn({ err, file: this.path }, 'cannot write the notification state file: a restart may notify again');
        this.warned = true;
      }
    });
    return this.writing;
  }
}
