/**
 * This node's HAProxy peer name, passed to HAProxy as `-L NAME` so that it finds itself in the
 * `peers` sections (the Python Lighthouse passed `-L` = its FQDN). It must equal the name the
 * reporter on this node publishes in `peer` (src/reporter/identity.ts), so it is derived the
 * same way: `peer_name` in balancers/haproxy.yaml (ours) first, then env
 * LIGHTHOUSE_ADVERTISE_HOST, then `host` of CONFIG_DIR/node.yaml, then the FQDN.
 * Read when HAProxy starts; a change takes a restart of HAProxy (a reload keeps the name).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { haproxyName } from './config/model.js';
import { resolveIdentity } from '../../reporter/identity.js';

/** The name known without a DNS lookup, or undefined (then `localPeerName` uses the FQDN). */
export function configuredPeerName(peerName: string | undefined, configDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return peerName ?? (env.LIGHTHOUSE_ADVERTISE_HOST || nodeHost(configDir));
}

/** The name HAProxy is started with, as a peer line renders it (model.ts `peerModels`). */
export async function localPeerName(configured: string | undefined): Promise<string> {
  return haproxyName(configured ?? (await resolveIdentity({ peer_port: 1024 }, {})).host);
}

/** `host` of node.yaml (or node.yml); undefined when there is none. A broken file is the config
 * store's to report: it is skipped here. */
function nodeHost(configDir: string): string | undefined {
  for (const file of ['node.yaml', 'node.yml']) {
    try {
      const host = (parse(readFileSync(join(configDir, file), 'utf8')) as { host?: unknown } | null)?.host;
      if (typeof host === 'string' && host) return host;
    } catch {
      /* absent or unreadable */
    }
  }
  return undefined;
}
