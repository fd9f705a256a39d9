/**
 * The config directory, loaded and kept live. Every file is parsed and validated on its own
 * (file-validator.ts); a file that fails keeps its last good version in force and its problems
 * are reported with file:line:column and path. Changes are watched with chokidar, debounced
 * (editors fire 2-3 events per save, temp files come and go) and applied as a whole new
 * LoadedConfig (loaded-config.ts); one equal to the previous one is not emitted.
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { watch, type FSWatcher } from 'chokidar';
import { ConfigError, formatProblem, type ConfigProblem } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { Secrets } from '../core/redact.js';
import { filesAffectedBy, isWatched, listFiles, roleOf } from './files.js';
import type { ClusterConfig } from './schema.js';
import { FileValidator } from './file-validator.js';
import { loadedConfigOf, type LoadedConfig, type Entry } from './loaded-config.js';

export type { LoadedConfig, ConfigFiles } from './loaded-config.js';

const SETTLE_MS = 120;

export interface ConfigStoreOptions {
  dir: string;
  registry: Registry;
  logger: Logger;
  /** quiet time before a burst of file events is applied; default 50 ms */
  debounceMs?: number;
  /** where resolved `${env:}` / `${file:}` values and secret keys are collected (masked in
   * logs); config problems are redacted with it */
  secrets?: Secrets;
  /** the environment `${env:NAME}` reads; default process.env */
  env?: NodeJS.ProcessEnv;
}

export declare interface ConfigStore {
  on(event: 'change', fn: (cfg: LoadedConfig) => void): this;
  on(event: 'problems', fn: (problems: ConfigProblem[]) => void): this;
}

export class ConfigStore extends EventEmitter {
  readonly dir: string;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly validator: FileValidator;
  /** last good entry per file (relative path) */
  private readonly good = new Map<string, Entry>();
  /** current problems per file */
  private readonly bad = new Map<string, ConfigProblem[]>();
  /** warnings of the version in force, per file: reported, never rejected */
  private readonly warned = new Map<string, ConfigProblem[]>();
  private watcher?: FSWatcher;
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;
  private last?: LoadedConfig;
  private readonly settle = new Set<string>();
  private settleTimer?: NodeJS.Timeout;

  constructor(opts: ConfigStoreOptions) {
    super();
    this.dir = opts.dir;
    this.log = opts.logger.child({ component: 'config' });
    this.debounceMs = opts.debounceMs ?? 50;
    this.validator = new FileValidator({ dir: opts.dir, registry: opts.registry, secrets: opts.secrets, env: opts.env ?? process.env });
  }

  /** Read every file once. Problems are returned (and kept), never thrown. */
  async load(): Promise<{ config: LoadedConfig; problems: ConfigProblem[]; warnings: ConfigProblem[] }> {
    for (const rel of await listFiles(this.dir)) await this.readOne(rel);
    this.last = this.current();
    return { config: this.last, problems: this.problems(), warnings: this.warnings() };
  }

  problems(): ConfigProblem[] {
    return [...this.bad.values()].flat();
  }

  /** Warnings of the files in force (valid, but e.g. a directive HAProxy ignores). */
  warnings(): ConfigProblem[] {
    return [...this.warned.values()].flat();
  }

  /** Every file's last good version, as one value. */
  current(): LoadedConfig {
    return loadedConfigOf(this.good);
  }

  /** Start watching; 'change' is emitted with each new LoadedConfig. */
  async watch(): Promise<void> {
    this.watcher = watch(this.dir, {
      ignoreInitial: true,
      depth: 2, // actions/NAME/FILE
      ignored: (p: string) => !isWatched(relative(this.dir, p)),
    });
    const queue = (p: string) => this.queue(relative(this.dir, p));
    this.watcher.on('add', queue).on('change', queue).on('unlink', queue);
    this.watcher.on('addDir', () => this.queueRescan()).on('unlinkDir', () => this.queueRescan());
    this.watcher.on('error', (err) => this.log.error({ err }, 'config watch error'));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  /** Re-read everything now (SIGHUP). */
  async reload(): Promise<LoadedConfig> {
    const now = new Set(await listFiles(this.dir));
    for (const rel of new Set([...now, ...this.good.keys(), ...this.bad.keys()])) await this.readOne(rel);
    return this.publish();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.settleTimer);
    await this.watcher?.close();
  }

  private queue(rel: string): void {
    for (const f of filesAffectedBy(rel)) this.pending.add(f);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.debounceMs);
  }

  private queueRescan(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload().catch((err) => this.log.error({ err }, 'config reload failed')), this.debounceMs);
  }

  private async flush(): Promise<void> {
    const files = [...this.pending];
    this.pending.clear();
    for (const rel of files) await this.readOne(rel);
    this.publish();
    // chokidar can drop a 'change' that follows another closely (no trailing event), so the
    // last write of a quick burst could go unreported: read once more after it.
    for (const rel of files) this.settle.add(rel);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      const again = [...this.settle];
      this.settle.clear();
      void (async () => {
        for (const rel of again) await this.readOne(rel);
        this.publish();
      })().catch((err) => this.log.error({ err }, 'config re-read failed'));
    }, SETTLE_MS);
  }

  private publish(): LoadedConfig {
    const cfg = this.current();
    if (!this.last || !isDeepStrictEqual(cfg, this.last)) {
      this.last = cfg;
      this.emit('change', cfg);
    }
    return cfg;
  }

  /** Parse + validate one file; keep the last good version when it fails. */
  private async readOne(rel: string): Promise<void> {
    const role = roleOf(rel);
    if (!role) return;
    let text: string;
    try {
      text = await readFile(join(this.dir, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (this.good.delete(rel)) this.log.info({ file: rel }, 'config file removed');
      this.bad.delete(rel);
      this.warned.delete(rel);
      return;
    }
    try {
      const { data: valid, warnings } = await this.validator.validate(rel, role, text);
      // a cluster carries its file: whoever leaves it out (a balancer) can name it
      const data = role.kind === 'cluster' ? { ...(valid as ClusterConfig), file: rel } : valid;
      const prev = this.good.get(rel);
      const name = (role.kind === 'cluster' || role.kind === 'service') ? (data as { name: string }).name : role.name;
      const clash = [...this.good.entries()].find(([f, e]) => f !== rel && e.kind === role.kind && e.name === name);
      if (clash) throw new ConfigError([{ file: rel, path: [], message: `${role.kind} '${name}' is already defined by ${clash[0]}` }]);
      this.good.set(rel, { kind: role.kind, name, data });
      this.warn(rel, warnings);
      if (this.bad.delete(rel)) this.log.info({ file: rel }, 'config file valid again');
      if (prev && !isDeepStrictEqual(prev.data, data)) this.log.info({ file: rel }, 'config file changed');
    } catch (caught) {
      if (!(caught instanceof ConfigError)) throw caught;
      const err = this.validator.redacted(caught);
      const known = isDeepStrictEqual(this.bad.get(rel), err.problems);
      this.bad.set(rel, err.problems);
      if (known) return; // a re-read of the same broken file: already reported
      const kept = this.good.has(rel) ? 'last good version stays in force' : 'file ignored until fixed';
      for (const p of err.problems) this.log.error({ file: rel, problem: formatProblem(p) }, `invalid config: ${formatProblem(p)} (${kept})`);
      this.emit('problems', err.problems);
    }
  }

  /** Log a file's warnings once per change (a re-read of the same file says nothing new). */
  private warn(rel: string, warnings: ConfigProblem[]): void {
    const known = isDeepStrictEqual(this.warned.get(rel) ?? [], warnings);
    if (warnings.length) this.warned.set(rel, warnings);
    else this.warned.delete(rel);
    if (known) return;
    for (const p of warnings) this.log.warn({ file: rel, problem: formatProblem(p) }, `config warning: ${formatProblem(p)}`);
  }
}
