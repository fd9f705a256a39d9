/**
 * The command line every bin shares: `--version` (the package's), `--help` that says what the
 * program does, what it reads from its config dir, the env vars, signals and exit codes; a
 * usage error (unknown option, missing argument) prints why and where help is, and exits 2.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EXIT } from '../core/errors.js';

/** The version in package.json (two levels up from src/cli/ and dist/cli/ alike). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const EXIT_CODES_HELP = `Exit codes:
  0   ok
  1   runtime error
  2   usage error (unknown option, missing argument)
  78  bad config (every problem is printed, file:line:column path: message)`;

const LOG_LEVEL_ENV = `  LIGHTHOUSE_LOG_LEVEL        log level when there is no logging.yaml: fatal, error, warn,
                              info (default), debug, trace, silent`;

/** What each daemon reads, for its help, its start-up warning and validate's. */
export interface DaemonHelp {
  /** the config files it needs to do anything, e.g. `clusters/*.yaml` */
  expects: readonly string[];
  /** the config files it reads besides */
  reads: readonly string[];
  env: string;
  stop: string;
}

export const REPORTER_HELP: DaemonHelp = {
  expects: ['services/*.yaml', 'discovery/zookeeper.yaml'],
  reads: ['node.yaml', 'logging.yaml', 'plugins.yaml', 'http.yaml', 'users.yaml'],
  env: `${LOG_LEVEL_ENV}
  LIGHTHOUSE_ADVERTISE_HOST   the host name published for this node (default: node.yaml
                              host, else the FQDN); also the HAProxy peer name
  LIGHTHOUSE_ADVERTISE_IP     the address published for this node (default: node.yaml ip,
                              else the host name's address)`,
  stop: 'remove the znodes this reporter published, close the session, exit 0',
};

export const WRITER_HELP: DaemonHelp = {
  expects: ['balancers/haproxy.yaml', 'clusters/*.yaml', 'discovery/zookeeper.yaml'],
  reads: ['node.yaml (host: the HAProxy peer name)', 'logging.yaml', 'plugins.yaml', 'http.yaml (writer: section; default port 10102)', 'users.yaml'],
  env: `${LOG_LEVEL_ENV}
  LIGHTHOUSE_ADVERTISE_HOST   this node's HAProxy peer name (haproxy -L) unless
                              balancers/haproxy.yaml sets peer_name (default: node.yaml host,
                              else the FQDN)`,
  stop: 'stop watching, exit 0 (HAProxy keeps running and serving)',
};

/** A Command that exits 2 on usage errors (after commander printed why) and 0 after --help. */
export function program(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .showHelpAfterError(`(run ${name} --help for usage)`)
    .exitOverride((e) => process.exit(e.exitCode === 0 ? EXIT.OK : EXIT.USAGE));
}

export function daemonHelp(name: string, h: DaemonHelp): string {
  return `
Config dir (e.g. /etc/lighthouse; .yaml or .yml):
  needs   ${h.expects.join(', ')}
  reads   ${h.reads.join(', ')}
  Every file is watched: an edit is applied while running. At start, a problem in
  any file stops ${name} (exit 78) unless --keep-going; once running, a bad
  edit is logged and the file's last good version stays in force.

Environment:
${h.env}

Signals:
  SIGHUP           re-read every config file
  SIGTERM, SIGINT  ${h.stop};
                   a second signal exits at once

${EXIT_CODES_HELP}
`;
}
