/**
 * What every composition root shares: the config dir argument, the logger (from logging.yaml),
 * the registry with third-party plugins, the config store, and signal handling.
 */
import { readFile } from 'node:fs/promises';
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
import type { LoadedConfig } from '../config/store.js';
import { daemonHelp, program, type DaemonHelp } from './program.js';
import { crossProblems, missingWarning, summary } from './startup.js';

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
  store.on('change', (cfg) => {
    if (cfg.logging?.level && cfg.logging.level !== logger.level) {
      logger.info(`log level now ${cfg.logging.level}`);
      logger.level = cfg.logging.level;
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

/** A lighthousectl command: its result is the exit code. Known failures print their message
 * only (config and usage errors go to runMain: 78 / 2). */
export function runCommand(fn: () => Promise<number>): Promise<void> {
  return fn().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof ConfigError || (err instanceof LighthouseError && err.code === 'LH_ERR_USAGE')) throw err;
      if (!(err instanceof LighthouseError)) throw err;
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT.RUNTIME);
    },
  );
}

export function usage(message: string): never {
  throw new LighthouseError('LH_ERR_USAGE', message);
}

export interface Daemon {
  apply(cfg: LoadedConfig): Promise<void>;
  stop(): Promise<void>;
}

/** The shape both daemons share: parse CONFIG_DIR, bootstrap, check the whole config (a
 * problem in any file stops the start, exit 78, unless --keep-going), apply every loaded
 * config in order, watch the dir, stop on SIGTERM / SIGINT, re-read on SIGHUP. */
export function runDaemon(name: string, description: string, help: DaemonHelp, make: (rt: Runtime, cfg: LoadedConfig) => Promise<Daemon>): void {
  runMain(async () => {
    const cli = program(name, description)
      .argument('<config_dir>', 'Lighthouse config directory (e.g. /etc/lighthouse)')
      .option('--keep-going', 'start even when config files have problems: log them, run without the bad files')
      .addHelpText('after', daemonHelp(name, help))
      .parse();
    const rt = await bootstrap(cli.args[0] ?? usage('missing CONFIG_DIR'), name);
    guardRejections(rt.logger);
    const { config: cfg, problems } = await rt.store.load();
    const cross = await crossProblems(rt.dir, cfg, rt.registry);
    const all = [...problems, ...cross];
    if (all.length && !cli.opts<{ keepGoing?: boolean }>().keepGoing) {
      rt.logger.flush?.();
      for (const p of all) process.stderr.write(`${formatProblem(p)}\n`);
      process.stderr.write(`${summary(all)}: ${name} not started (fix them, or start with --keep-going to run without the bad files)\n`);
      process.exit(EXIT.CONFIG);
    }
    // (clashes between clusters: the writer logs them with what it does about each cluster)
    for (const p of cross.filter((x) => !x.clusters.length)) rt.logger.error({ file: p.file, problem: formatProblem(p) }, `invalid config: ${formatProblem(p)} (--keep-going)`);
    const lacking = missingWarning(rt.dir, cfg, name, help.expects);
    if (lacking) rt.logger.warn(lacking);
    // signals from here on: a stop while starting stops what has started
    let daemon: Daemon | null = null;
    let applying = Promise.resolve();
    let running = () => {};
    const watching = new Promise<void>((resolve) => (running = resolve)); // SIGHUP waits for it
    onSignals(rt.logger, {
      stop: async () => {
        await rt.store.close();
        await applying;
        await daemon?.stop();
      },
      reload: async () => {
        await watching;
        await rt.store.reload();
      },
    });
    daemon = await make(rt, cfg);
    const apply = (cfg: LoadedConfig) =>
      (applying = applying.then(() => daemon.apply(cfg)).catch((err) => rt.logger.error({ err }, 'applying config failed')));
    rt.store.on('change', (cfg) => void apply(cfg));
    await apply(cfg);
    await rt.store.watch();
    running();
  });
}
