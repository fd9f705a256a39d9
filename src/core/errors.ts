/**
 * One error base class with stable codes (undici style). Every error says what failed and where:
 * a file and position, a znode path, a socket. `code` is stable and documented in the README.
 */
export type ErrorCode =
  | 'LH_ERR_CONFIG' // a config file failed to parse or validate
  | 'LH_ERR_USAGE' // bad command line
  | 'LH_ERR_PLUGIN' // a plugin could not be found or loaded
  | 'LH_ERR_ZK_SESSION' // ZooKeeper session lost / could not be established
  | 'LH_ERR_ZK_OP' // a ZooKeeper operation failed
  | 'LH_ERR_ZNODE' // a znode's data does not parse
  | 'LH_ERR_HAPROXY_CONFIG' // HAProxy rejected a rendered config
  | 'LH_ERR_HAPROXY_SOCKET' // the HAProxy runtime / master socket failed
  | 'LH_ERR_HAPROXY_PROCESS' // HAProxy could not be started / reloaded
  | 'LH_ERR_TEMPLATE' // a template failed to compile or render
  | 'LH_ERR_UNSAFE_VALUE' // a value that is not one printable word reached a config line or runtime command (a bug: refused)
  | 'LH_ERR_STATE' // an availability state that is not configured, or a service that is not
  | 'LH_ERR_STATE_FILE' // the availability state file could not be read or written
  | 'LH_ERR_HTTP' // the HTTP server could not listen, or a request to it failed
  | 'LH_ERR_TOKEN' // an action token could not be made, read or verified
  | 'LH_ERR_ACTION'; // an action could not be run, or a run on a node failed

export class LighthouseError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LighthouseError';
  }
}

/** One problem in one config file, with its position and the path inside the document. */
export interface ConfigProblem {
  file: string; // relative to the config dir, e.g. clusters/web.yaml
  line?: number; // 1-based
  col?: number; // 1-based
  path: (string | number)[]; // path inside the document, [] for the whole file
  message: string;
  /** a warning does not reject the file (e.g. a directive HAProxy ignores); absent: an error */
  severity?: 'warning';
}

export function formatProblem(p: ConfigProblem): string {
  const pos = p.line ? `:${p.line}:${p.col ?? 1}` : '';
  const where = p.path.length ? ` ${p.path.join('.')}:` : '';
  return `${p.file}${pos}${where} ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

export class ConfigError extends LighthouseError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('LH_ERR_CONFIG', problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Process exit codes (sysexits-style where it matters). */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2, CONFIG: 78 } as const;
