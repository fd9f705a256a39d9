/**
 * What every composition root shares: the config dir argument, the logger (from logging.yaml),
 * the registry with third-party plugins, the config store, and signal handling.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { EXIT, LighthouseError, ConfigError, formatProblem } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { Secrets } from '../core/redact.js';
import { builtinRegistry } from '../plugins.js';
import type { Registry } from '../core/registry.js';
import { loadPluginPackages } from '../core/plugins-loader.js';
import { ConfigStore } from '../config/store.js';
import { parseYaml, check } from '../config/yaml.js';
import { loggingSchema, pluginsSchema } from '../config/schema.js';

/** Read an optional root file (logging.yaml / plugins.yaml) before the store exists. */
async function readRoot<T>(dir: string, base: string, schema: { safeParse(v: unknown): { success: boolean; data?: T } }): Promise<{ data?: T; problem?: string }> {
  for (const ext of ['yaml', 'yml']) {
    const rel = `${base}.${ext}`;
    let text: string;
    try {
      text = await readFile(join(dir, rel), 'utf8');
    } catch {
      continue;
    }
    try {
      const r = check(schema as never, parseYaml(text, rel).value);
      return r.data ? { data: r.data as T } : { problem: `${rel}: ${r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    } catch (err) {
      return { problem: err instanceof ConfigError ? err.message : String(err) };
    }
  }
  return {};
}

export interface Runtime {
  dir: string;
  logger: Logger;
  registry: Registry;
  store: ConfigStore;
  /** every secret the config resolved: whatever shows text from outside (logs, APIs) masks them */
  secrets: Secrets;
}

/** Build logger, registry (with plugins.yaml) and store for CONFIG_DIR. */
export async function bootstrap(dirArg: string, program: string, given?: Logger): Promise<Runtime> {
  const dir = resolve(dirArg);
  const logging = await readRoot<{ level: string; format?: 'json' | 'pretty' }>(dir, 'logging', loggingSchema);
  const secrets = new Secrets();
  const logger = given ?? createLogger({ level: logging.data?.level as never, format: logging.data?.format, name: program, redact: (line) => secrets.redact(line) });
  if (logging.problem) logger.error(`invalid config: ${logging.problem} (using defaults)`);
  const registry = builtinRegistry();
  const plugins = await readRoot<{ plugins: string[] }>(dir, 'plugins', pluginsSchema);
  if (plugins.problem) throw new ConfigError([{ file: 'plugins.yaml', path: [], message: plugins.problem }]);
  if (plugins.data?.plugins.length) {
    const loaded = await loadPluginPackages(plugins.data.plugins, dir, registry);
    logger.info({ plugins: loaded.map((p) => `${p.kind}:${p.name}`) }, 'third-party plugins loaded');
  }
  const store = new ConfigStore({ dir, registry, logger, secrets });
  store.on('change', (snap) => {
    if (snap.logging?.level && snap.logging.level !== logger.level) {
      logger.info(`log level now ${snap.logging.level}`);
      logger.level = snap.logging.level;
    }
  });
  return { dir, logger, registry, store, secrets };
}

/** Run a daemon's main; map errors to the documented exit codes. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
      process.exit(EXIT.CONFIG);
    }
    if (err instanceof LighthouseError && err.code === 'LH_ERR_USAGE') {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT.USAGE);
    }
    if (err instanceof LighthouseError && err.code === 'LH_ERR_PLUGIN') {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT.CONFIG);
    }
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT.RUNTIME);
  });
}

/** SIGTERM/SIGINT -> stop() then exit 0 (a second signal exits at once); SIGHUP -> reload(). */
export function onSignals(logger: Logger, handlers: { stop(): Promise<void>; reload(): Promise<void> }): void {
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) process.exit(EXIT.OK);
    stopping = true;
    logger.info(`${sig}: shutting down`);
    handlers
      .stop()
      .catch((err) => logger.error({ err }, 'error while stopping'))
      .finally(() => {
        logger.flush?.();
        process.exit(EXIT.OK);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: re-reading config');
    handlers.reload().catch((err) => logger.error({ err }, 'reload failed'));
  });
}

/**
 * A rejected promise that nobody handles is a bug, but in a daemon it must not take down what the
 * process holds (the reporter's znodes vanish with its session, the writer's HAProxy stops
 * following ZooKeeper): log it with its stack and keep running. Node's default is to exit.
 */
export function guardRejections(logger: Logger): void {
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection (a bug: please report it); still running'));
}

export function usage(message: string): never {
  throw new LighthouseError('LH_ERR_USAGE', message);
}

export interface Daemon {
  apply(snap: import('../config/store.js').ConfigSnapshot): Promise<void>;
  stop(): Promise<void>;
}

/** The shape both daemons share: parse CONFIG_DIR, bootstrap, apply every config snapshot in
 * order, watch the dir, stop on SIGTERM / SIGINT, re-read on SIGHUP. */
export function runDaemon(
  name: string,
  description: string,
  make: (rt: Runtime, snap: import('../config/store.js').ConfigSnapshot) => Promise<Daemon>,
): void {
  runMain(async () => {
    const program = new Command(name)
      .description(description)
      .argument('<config_dir>', 'Lighthouse config directory')
      .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : EXIT.USAGE)) // commander already printed why
      .parse();
    const rt = await bootstrap(program.args[0] ?? usage('missing CONFIG_DIR'), name);
    guardRejections(rt.logger);
    const { snapshot } = await rt.store.load();
    const daemon = await make(rt, snapshot);
    let applying = Promise.resolve();
    const apply = (snap: typeof snapshot) =>
      (applying = applying.then(() => daemon.apply(snap)).catch((err) => rt.logger.error({ err }, 'applying config failed')));
    rt.store.on('change', (snap) => void apply(snap));
    await apply(snapshot);
    await rt.store.watch();
    onSignals(rt.logger, {
      stop: async () => {
        await rt.store.close();
        await applying;
        await daemon.stop();
      },
      reload: async () => void (await rt.store.reload()),
    });
  });
}
