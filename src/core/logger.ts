/**
 * Logging: pino, JSON by default, pretty on a terminal (or `format: pretty` in logging.yaml).
 * Components get `logger.child({ component })`; context fields are `file`, `service`, `cluster`,
 * `node`, `znode`, `check` and `err`, the same names everywhere so logs stay greppable. Log state
 * changes, not ticks.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'pretty';
  /** where to write: a stream (tests) or stdout */
  destination?: DestinationStream;
  name?: string;
  /** applied to every serialized line before it is written: masks secrets (redact.ts) */
  redact?: (line: string) => string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.LIGHTHOUSE_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { name: opts.name };
  // (pino needs `hooks` absent rather than undefined)
  const hooks = opts.redact ? { hooks: { streamWrite: opts.redact } } : {};
  if (opts.destination) return pino({ level, base, ...hooks }, opts.destination);
  if (format === 'pretty') {
    return pino({
      level,
      base,
      ...hooks,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base, ...hooks }, pino.destination({ fd: 1, sync: false }));
}

/** A logger that drops everything: tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
