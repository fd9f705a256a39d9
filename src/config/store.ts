/**
 * The config directory as one live snapshot. Every file is parsed and validated on its own; a
 * file that fails keeps its last good version in force and its problems are reported with
 * file:line:column and path. Changes are watched with chokidar, debounced (editors fire 2-3
 * events per save, temp files come and go) and applied as a whole new snapshot; snapshots equal
 * to the previous one are not emitted.
 */
import { EventEmitter } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { watch, type FSWatcher } from 'chokidar';
import { ConfigError, formatProblem, type ConfigProblem } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/registry.js';
import type { BalancerPlugin } from '../core/plugin.js';
import type { Secrets } from '../core/redact.js';
import { notifySchema, type NotifyConfig } from '../notify/schema.js';
import { ACTIONS_DIR, filesAffectedBy, isWatched, roleOf, WATCHED_SUBDIRS, type FileKind } from './files.js';
import { check, issuesToProblems, parseYaml, type Issue } from './yaml.js';
import {
  loggingSchema, nodeSchema, pluginsSchema, validateCluster, validateService,
  type ClusterConfig, type LoggingConfig, type NodeConfig, type ServiceConfig,
} from './schema.js';
import { availabilitySchema, type AvailabilityConfig } from '../control/schema.js';
import { httpSchema, type HttpConfig } from '../http/schema.js';
import { usersSchema, type UsersConfig } from '../http/users.js';
import { actionMetadataSchema, loadActionScripts, type ActionDefinition } from '../actions/definition.js';
import { revokedSchema } from '../actions/revoked.js';

const SETTLE_MS = 120;

export interface ConfigSnapshot {
  logging?: LoggingConfig;
  node: NodeConfig;
  plugins: string[];
  /** notify.yaml, when there is one */
  notify?: NotifyConfig;
  balancers: ReadonlyMap<string, unknown>;
  discovery: ReadonlyMap<string, unknown>;
  clusters: ReadonlyMap<string, ClusterConfig>;
  services: ReadonlyMap<string, ServiceConfig>;
  /** availability.yaml (reporter); undefined without one (defaultAvailabilityConfig) */
  availability?: AvailabilityConfig;
  /** http.yaml; undefined without one (each daemon fills its own defaults) */
  http?: HttpConfig;
  /** users.yaml: who may read the status API; undefined without one (the local socket only) */
  users?: UsersConfig;
  /** actions/NAME/ (metadata.yaml and its scripts), by name */
  actions?: ReadonlyMap<string, ActionDefinition>;
  /** actions/revoked.yaml: ids of action tokens that are refused */
  revokedTokens?: readonly string[];
  /** the file each entry came from (relative to the config dir), by kind and entry name;
   * absent in snapshots built by hand (then `clusters/NAME.yaml` and the like are assumed) */
  files?: SnapshotFiles;
}

export interface SnapshotFiles {
  balancers: ReadonlyMap<string, string>;
  discovery: ReadonlyMap<string, string>;
  clusters: ReadonlyMap<string, string>;
  services: ReadonlyMap<string, string>;
}

interface Entry {
  kind: FileKind;
  name: string;
  data: unknown;
}

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
  on(event: 'change', fn: (snap: ConfigSnapshot) => void): this;
  on(event: 'problems', fn: (problems: ConfigProblem[]) => void): this;
}

export class ConfigStore extends EventEmitter {
  readonly dir: string;
  private readonly registry: Registry;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly secrets?: Secrets;
  private readonly env: NodeJS.ProcessEnv;
  /** last good entry per file (relative path) */
  private readonly good = new Map<string, Entry>();
  /** current problems per file */
  private readonly bad = new Map<string, ConfigProblem[]>();
  /** warnings of the version in force, per file: reported, never rejected */
  private readonly warned = new Map<string, ConfigProblem[]>();
  private watcher?: FSWatcher;
  private pending = new Set<string>();
  private timer?: NodeJS.Timeout;
  private last?: ConfigSnapshot;
  private readonly settle = new Set<string>();
  private settleTimer?: NodeJS.Timeout;

  constructor(opts: ConfigStoreOptions) {
    super();
    this.dir = opts.dir;
    this.registry = opts.registry;
    this.log = opts.logger.child({ component: 'config' });
    this.debounceMs = opts.debounceMs ?? 50;
    this.secrets = opts.secrets;
    this.env = opts.env ?? process.env;
  }

  /** Read every file once. Problems are returned (and kept), never thrown. */
  async load(): Promise<{ snapshot: ConfigSnapshot; problems: ConfigProblem[]; warnings: ConfigProblem[] }> {
    for (const rel of await listFiles(this.dir)) await this.readOne(rel);
    this.last = this.snapshot();
    return { snapshot: this.last, problems: this.problems(), warnings: this.warnings() };
  }

  problems(): ConfigProblem[] {
    return [...this.bad.values()].flat();
  }

  /** Warnings of the files in force (valid, but e.g. a directive HAProxy ignores). */
  warnings(): ConfigProblem[] {
    return [...this.warned.values()].flat();
  }

  snapshot(): ConfigSnapshot {
    const by = (kind: FileKind) => new Map([...this.good.values()].filter((e) => e.kind === kind).map((e) => [e.name, e.data]));
    const one = (kind: FileKind) => [...this.good.values()].find((e) => e.kind === kind)?.data;
    const files = (kind: FileKind) => new Map([...this.good].filter(([, e]) => e.kind === kind).map(([rel, e]) => [e.name, rel]));
    return {
      logging: one('logging') as LoggingConfig | undefined,
      node: (one('node') as NodeConfig | undefined) ?? { peer_port: 1024 },
      plugins: ((one('plugins') as { plugins: string[] } | undefined)?.plugins) ?? [],
      notify: one('notify') as NotifyConfig | undefined,
      balancers: by('balancer'),
      discovery: by('discovery'),
      clusters: by('cluster') as Map<string, ClusterConfig>,
      services: by('service') as Map<string, ServiceConfig>,
      files: { balancers: files('balancer'), discovery: files('discovery'), clusters: files('cluster'), services: files('service') },
      availability: one('availability') as AvailabilityConfig | undefined,
      http: one('http') as HttpConfig | undefined,
      users: one('users') as UsersConfig | undefined,
      actions: by('action') as Map<string, ActionDefinition>,
      revokedTokens: ((one('revoked') as { revoked: string[] } | undefined)?.revoked) ?? [],
    };
  }

  /** Start watching; 'change' is emitted with each new snapshot. */
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
  async reload(): Promise<ConfigSnapshot> {
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
    // chokidar drops a 'change' that follows another within ~50 ms (measured: no trailing
    // event), so the last write of a quick burst can go unreported: read once more after it.
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

  private publish(): ConfigSnapshot {
    const snap = this.snapshot();
    if (!this.last || !isDeepStrictEqual(snap, this.last)) {
      this.last = snap;
      this.emit('change', snap);
    }
    return snap;
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
      const { data: valid, warnings } = role.kind === 'action' ? await this.validateAction(rel, role.name, text) : this.validate(rel, role.kind, role.name, text);
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
      const err = this.redacted(caught);
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

  private validate(rel: string, kind: FileKind, name: string, text: string): { data: unknown; warnings: ConfigProblem[] } {
    const parsed = parseYaml(text, rel, { env: this.env, secrets: this.secrets });
    this.secrets?.collect(parsed.value); // inline secrets, so a problem quoting one masks it
    const r = this.validateValue(kind, name, parsed.value);
    if (r.issues.length) throw new ConfigError(issuesToProblems(parsed, r.issues));
    this.secrets?.collect(r.data);
    const warnings = issuesToProblems(parsed, r.warnings ?? []).map((p) => ({ ...p, severity: 'warning' as const }));
    return { data: r.data, warnings: warnings.map((p) => ({ ...p, message: this.secrets?.redact(p.message) ?? p.message })) };
  }

  /** The same problems with every known secret masked (a message may quote a value). */
  private redacted(err: ConfigError): ConfigError {
    if (!this.secrets) return err;
    return new ConfigError(err.problems.map((p) => ({ ...p, message: this.secrets!.redact(p.message) })));
  }

  /** metadata.yaml, then the scripts beside it (their problems are named by the script's file) */
  private async validateAction(rel: string, name: string, text: string): Promise<{ data: unknown; warnings: ConfigProblem[] }> {
    const { data } = this.validate(rel, 'action', name, text);
    const dir = dirname(rel);
    const r = await loadActionScripts(name, join(this.dir, dir), data as never);
    const named = (issues: typeof r.issues): ConfigProblem[] => issues.map((i) => ({ file: i.script ? `${dir}/${i.script}` : rel, path: [], message: i.message }));
    if (r.issues.length) throw new ConfigError(named(r.issues));
    return { data: r.data, warnings: named(r.warnings).map((p) => ({ ...p, severity: 'warning' as const })) };
  }

  private validateValue(kind: FileKind, name: string, value: unknown): { data?: unknown; issues: Issue[]; warnings?: Issue[] } {
    switch (kind) {
      case 'logging': return check(loggingSchema, value);
      case 'plugins': return check(pluginsSchema, value);
      case 'node': return check(nodeSchema, value);
      case 'availability': return check(availabilitySchema, value);
      case 'http': return check(httpSchema, value);
      case 'users': return check(usersSchema, value);
      case 'action': return check(actionMetadataSchema, value);
      case 'revoked': return check(revokedSchema, value);
      case 'notify': return check(notifySchema, value);
      case 'cluster': return validateCluster(value, name, this.registry);
      case 'service': return validateService(value, name, this.registry);
      case 'balancer':
      case 'discovery': {
        const plugin = (kind === 'balancer' ? this.registry.balancers : this.registry.discovery).get(name);
        if (!plugin) {
          const known = [...(kind === 'balancer' ? this.registry.balancers : this.registry.discovery).keys()].join(', ');
          return { issues: [{ path: [], message: `no ${kind} plugin named '${name}' (known: ${known}; third-party plugins go in plugins.yaml)` }] };
        }
        const r = check(plugin.schema, value);
        const lint = kind === 'balancer' ? (plugin as BalancerPlugin).warnings?.config : undefined;
        return r.data !== undefined && lint ? { ...r, warnings: lint(r.data) } : r;
      }
    }
  }
}

/** Every config file in the dir (relative paths), root and the known subdirs. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ConfigError([{ file: dir, path: [], message: 'config directory does not exist' }]);
    if (err.code === 'ENOTDIR') throw new ConfigError([{ file: dir, path: [], message: 'is a file, not a config directory (give the directory that holds clusters/, services/, ...)' }]);
    if (err.code === 'EACCES') throw new ConfigError([{ file: dir, path: [], message: 'config directory cannot be read (permission denied)' }]);
    throw err;
  });
  for (const e of entries) {
    if (e.isFile() && roleOf(e.name)) out.push(e.name);
    if (e.isDirectory() && WATCHED_SUBDIRS.includes(e.name)) {
      for (const f of await readdir(join(dir, e.name), { withFileTypes: true })) {
        const rel = join(e.name, f.name);
        if (f.isFile() && roleOf(rel)) out.push(rel);
        if (f.isDirectory() && e.name === ACTIONS_DIR) {
          for (const g of await readdir(join(dir, rel), { withFileTypes: true })) if (g.isFile() && roleOf(join(rel, g.name))) out.push(join(rel, g.name));
        }
      }
    }
  }
  return out.sort();
}
