/**
 * Which config file a line of the rendered HAProxy config comes from. HAProxy's alerts name a
 * line of the file it checked (`parsing [haproxy.cfg:42] : ...`) or a proxy (`Proxy 'web':
 * ...`); the section around that line names the cluster, the meta cluster, the proxy or the
 * part of balancers/haproxy.yaml, and the line's text finds its entry in that file's list
 * (`haproxy.backend.1`), so the problem can be shown at a file:line:column.
 */
import type { ClusterSection } from '../../../core/plugin.js';
import { haproxyName } from './servers.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './schema.js';

export interface Source {
  file: string;
  path: (string | number)[];
  message: string;
}

type Clusters = readonly ClusterSection<HaproxyClusterConfig>[];

const PREFIX = /^\[ALERT\]\s*\(\d+\)\s*:\s*(?:config\s*:\s*)?/;
const SUMMARY = /^(Error\(s\) found in configuration file|Fatal errors found in configuration)/;
const SECTION = /^(global|defaults|frontend|backend|listen|peers)(?:\s+(\S+))?\s*$/;

/** An `[ALERT]` line of `haproxy -c` on `text` -> where it comes from; null for the summary
 * lines that say nothing of their own. */
export function alertSource(alert: string, text: string, config: HaproxyConfig, file: string, clusters: Clusters): Source | null {
  let message = alert.replace(PREFIX, '').trim();
  if (SUMMARY.test(message)) return null;
  let section: { type: string; name: string } | null = null;
  let body = '';
  const at = /^parsing \[[^\]]*:(\d+)\]\s*:\s*/i.exec(message);
  if (at) {
    message = message.slice(at[0].length);
    const lines = text.split('\n');
    const n = Number(at[1]) - 1;
    body = lines[n]?.trim() ?? '';
    for (let i = n; i >= 0 && !section; i--) {
      const m = SECTION.exec(lines[i]);
      if (m) section = { type: m[1], name: m[2] ?? '' };
    }
  } else {
    const m = /\b(?:proxy|backend|frontend|listen)\s+'([^']+)'/i.exec(message);
    if (m) section = { type: 'proxy', name: m[1] };
  }
  const where = section ? locate(section, body, config, file, clusters) : null;
  return { ...(where ?? { file, path: [] }), message: `haproxy -c: ${message}${body ? ` (rendered line: ${body})` : ''}` };
}

/** A render warning of model.ts (`cluster web: ...`) -> the cluster's file, else the balancer's;
 * null for a meta cluster's (cross-check.ts reports those, with the files involved). */
export function modelWarningSource(warning: string, file: string, clusters: Clusters): Source | null {
  if (warning.startsWith('meta cluster ')) return null;
  const name = /^cluster (.+?): /.exec(warning)?.[1];
  const c = name === undefined ? undefined : clusters.find((x) => x.name === name);
  return c ? { file: c.file, path: ['haproxy'], message: warning } : { file, path: [], message: warning };
}

function locate(section: { type: string; name: string }, body: string, config: HaproxyConfig, file: string, clusters: Clusters): Omit<Source, 'message'> | null {
  const entry = (list: readonly string[], path: (string | number)[]) => {
    const i = list.findIndex((l) => l.trim() === body);
    return i >= 0 ? [...path, i] : path;
  };
  const named = clusters.filter((c) => haproxyName(c.name) === section.name);
  const meta = [...new Set([...Object.keys(config.meta_clusters), ...Object.keys(config.meta_cluster_ports), ...clusters.flatMap((c) => c.metaCluster ?? [])])].find((m) => haproxyName(m) === section.name);
  const proxy = Object.keys(config.proxies).find((p) => p === section.name);
  const isStats = section.name === 'stats' && config.stats !== undefined;
  switch (section.type) {
    case 'global':
      return { file, path: entry(config.global, ['global']) };
    case 'defaults':
      return { file, path: entry(config.defaults, ['defaults']) };
    case 'backend':
    case 'peers': {
      const c = named[0];
      if (!c) return null;
      if (/^server(-template)?\s/.test(body)) return { file: c.file, path: ['haproxy', 'server_options'] };
      return { file: c.file, path: entry(c.section.backend, ['haproxy', 'backend']) };
    }
    case 'frontend': {
      const c = named.find((x) => x.section.port !== undefined);
      if (c) return { file: c.file, path: /^bind\s/.test(body) ? ['haproxy', 'port'] : entry(c.section.frontend, ['haproxy', 'frontend']) };
      // a meta cluster's frontend: its ACL routes come from the member clusters
      const route = /^(?:acl\s+is_(\S+)|use_backend\s+(\S+))/.exec(body);
      const member = route && clusters.find((x) => haproxyName(x.name) === (route[1] ?? route[2]));
      if (member) return { file: member.file, path: ['haproxy', 'acl'] };
      if (meta === undefined) return null;
      return { file, path: entry(config.meta_clusters[meta]?.frontend ?? [], ['meta_clusters', meta, 'frontend']) };
    }
    case 'listen':
      if (isStats) return { file, path: ['stats'] };
      return proxy === undefined ? null : { file, path: entry(config.proxies[proxy].options, ['proxies', proxy, 'options']) };
    default: // a proxy named by the message
      if (named[0]) return { file: named[0].file, path: ['haproxy'] };
      if (proxy !== undefined) return { file, path: ['proxies', proxy] };
      if (meta !== undefined) return { file, path: ['meta_clusters', meta] };
      return isStats ? { file, path: ['stats'] } : null;
  }
}
