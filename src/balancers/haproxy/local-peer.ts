/**
 * This node's HAProxy peer name, passed to HAProxy as `-L NAME` so that it finds itself in the
 * `peers` sections (the Python Lighthouse passed `-L` = its FQDN). It must equal the name the
 * reporter on this node publishes in `peer` (config/node-identity.ts), so it is derived the
 * same way: `peer_name` in balancers/haproxy.yaml (ours) first, then the host this node is
 * advertised by (env, node.yaml: given by the writer in the plugin's deps), then the FQDN.
 * Read when HAProxy starts; a change takes a restart of HAProxy (a reload keeps the name).
 */
import { fqdn } from '../../config/node-identity.js';
import { haproxyName } from './config/model.js';

/** The name known without a DNS lookup, or undefined (then `localPeerName` uses the FQDN). */
export function configuredPeerName(peerName: string | undefined, advertisedHost: string | undefined): string | undefined {
  return peerName ?? advertisedHost;
}

/** The name HAProxy is started with, as a peer line renders it (model.ts `peerModels`). */
export async function localPeerName(configured: string | undefined): Promise<string> {
  return haproxyName(configured ?? (await fqdn()));
}
