/**
 * HAProxy's alerts mapped back to where they come from: one reading of an alert (readAlert),
 * two uses. HAProxy names a line of the file it checked (`parsing [haproxy.cfg:42] : ...`) or a
 * proxy or server (`Proxy 'web': ...`, `Server web/a:80 ...`); the section around that line, or
 * of that name, is the place. From it:
 * - alertOwners: the clusters it comes from (admission.ts leaves them out of the config);
 * - alertSource: the config file and the entry in its list (`clusters/web.yaml
 *   haproxy.backend.1`), so `lighthousectl validate` shows the problem at a file:line:column.
 */
import type { ClusterSection, DesiredState } from '../../../core/plugin.js';
import { parseSections, sectionAt, type Section } from './sections.js';
import { haproxyName } from './servers.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './schema.js';

/** Where an alert points in the rendered config. */
export interface AlertPlace {
  /** HAProxy's words without its `[ALERT] (pid) : config :` prefix (the reason logged) */
  said: string;
  /** the same without a leading `parsing [FILE:N] :` (the line is shown apart) */
  message: string;
  /** the section holding the line the alert names, when it names one */
  section: Section | null;
  /** that line's text, trimmed; '' when the alert names no line */
  body: string;
  /** no line named: the proxies (or servers' backends) the message names */
  names: string[];
}

export interface Source {
  file: string;
  path: (string | number)[];
  message: string;
}

type Clusters = readonly ClusterSection<HaproxyClusterConfig>[];

const PREFIX = /^\[ALERT\]\s*\(\d+\)\s*:\s*(?:config\s*:\s*)?/;
const SUMMARY = /^(Error\(s\) found in configuration file|Fatal errors found in configuration)/;
const LEAD = /^parsing \[[^\]]*:(\d+)\]\s*:\s*/i;
const LINE = /\[[^\]]*:(\d+)\]/;
const NAMED = /(?:proxy|backend|frontend|listen|peers|server) '([^'/]+)[/']|'server ([^'/]+)\//gi;

/** An `[ALERT]` line of `haproxy -c` on `text` -> the place it points at; null for the summary
 * lines that say nothing of their own. `sections`: parseSections(text), when the caller has it. */
export function readAlert(alert: string, text: string, sections: readonly Section[] = parseSections(text)): AlertPlace | null {
  const said = alert.replace(PREFIX, '').trim();
  if (SUMMARY.test(said)) return null;
  const lead = LEAD.exec(said);
  const message = lead ? said.slice(lead[0].length) : said;
  const n = Number((lead ?? LINE.exec(said))?.[1] ?? 0);
  if (n > 0) return { said, message, section: sectionAt(sections, n) ?? null, body: text.split('\n')[n - 1]?.trim() ?? '', names: [] };
  return { said, message, section: null, body: '', names: [...new Set([...message.matchAll(NAMED)].map((m) => m[1] ?? m[2]))] };
}

/** The clusters an alert comes from (none: the balancer's own config, or nowhere known). */
export function alertOwners(state: DesiredState, place: AlertPlace): string[] {
  if (place.section) return sectionOwners(state, place.section, place.body);
  const out = new Set<string>();
  for (const name of place.names) for (const kind of ['frontend', 'backend', 'peers']) for (const c of sectionOwners(state, { kind, name, from: 0, to: 0, body: [] }, null)) out.add(c);
  return [...out];
}

/**
 * The clusters a section of the rendered config comes from: a cluster's frontend, backend and
 * peers are named after it; a meta cluster's frontend after the meta cluster, its
 * `acl is_B` / `use_backend B` lines after the member B (`line`), its other lines from every
 * member. Sections of the balancer's own config (global, defaults, listen) come from none.
 */
export function sectionOwners(state: DesiredState, s: Section, line: string | null): string[] {
  if (s.kind !== 'frontend' && s.kind !== 'backend' && s.kind !== 'peers') return [];
  const own = state.clusters.filter((c) => haproxyName(c.name) === s.name).map((c) => c.name);
  if (s.kind !== 'frontend' || own.length) return own;
  const members = state.clusters.filter((c) => c.metaCluster !== undefined && haproxyName(c.metaCluster) === s.name);
  const w = line?.split(/\s+/) ?? [];
  const routed = w[0] === 'acl' ? w[1]?.replace(/^is_/, '') : w[0] === 'use_backend' ? w[1] : undefined;
  const one = routed === undefined ? [] : members.filter((c) => haproxyName(c.name) === routed);
  return (one.length ? one : members).map((c) => c.name);
}

/** An `[ALERT]` line of `haproxy -c` on `text` -> the config file (and entry) it comes from;
 * null for the summary lines. */
export function alertSource(alert: string, text: string, config: HaproxyConfig, file: string, clusters: Clusters): Source | null {
  const place = readAlert(alert, text);
  if (!place) return null;
  const { message, body } = place;
  const section = place.section ? { type: place.section.kind, name: place.section.name } : place.names.length ? { type: 'proxy', name: place.names[0] } : null;
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
