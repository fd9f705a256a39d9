/**
 * How this node is advertised, shared by both daemons: `host` is the machine's FQDN and `ip` its
 * address (as Python's socket.getfqdn() / gethostbyname()), overridable for containers by env
 * LIGHTHOUSE_ADVERTISE_HOST / LIGHTHOUSE_ADVERTISE_IP (strongest) or node.yaml `host` / `ip`
 * (as the config store read it: this module reads no file). The reporter publishes `host` as
 * its peer name; the writer starts HAProxy with the same name (`advertisedHost`, then the FQDN).
 */
import { lookup, lookupService } from 'node:dns/promises';
import { hostname } from 'node:os';
import { addressProblem } from '../core/address.js';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import type { Peer } from '../core/node.js';
import type { NodeConfig } from './schema.js';

export interface Identity {
  host: string;
  ip: string;
  peer: Peer;
}

/** The overrides from env are checked as node.yaml's are (a value writers would refuse is a
 * config error: LH_ERR_CONFIG naming the variable). */
export async function resolveIdentity(node: NodeConfig, env: NodeJS.ProcessEnv = process.env): Promise<Identity> {
  const problems: ConfigProblem[] = [];
  for (const [name, hostnames] of [['LIGHTHOUSE_ADVERTISE_HOST', true], ['LIGHTHOUSE_ADVERTISE_IP', false]] as const) {
    const problem = env[name] ? addressProblem(env[name], hostnames) : null;
    if (problem) problems.push({ file: `env ${name}`, path: [], message: problem });
  }
  if (problems.length) throw new ConfigError(problems);
  const host = advertisedHost(node, env) ?? (await fqdn());
  const ip = env.LIGHTHOUSE_ADVERTISE_IP || node.ip || (await addressOf(host));
  return { host, ip, peer: { name: host, ip, port: node.peer_port } };
}

/** The host name this node is configured to be advertised by (env, then node.yaml), known
 * without a DNS lookup; undefined when neither sets one (then it is the FQDN). */
export function advertisedHost(node: Pick<NodeConfig, 'host'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.LIGHTHOUSE_ADVERTISE_HOST || node.host || undefined;
}

/** The machine's fully qualified name, as Python's socket.getfqdn(). */
export async function fqdn(): Promise<string> {
  const short = hostname();
  try {
    const { address } = await lookup(short);
    const { hostname: full } = await lookupService(address, 0);
    // like getfqdn(): prefer a dotted name, else keep what we have
    return full.includes('.') && !full.startsWith('localhost') ? full : short;
  } catch {
    return short;
  }
}

async function addressOf(host: string): Promise<string> {
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch {
    return '127.0.0.1';
  }
}
