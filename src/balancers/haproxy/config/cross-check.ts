/**
 * What HAProxy cannot tell us about a config made of many files, found before rendering:
 * two frontends on one port (HAProxy binds both with SO_REUSEPORT and splits the traffic
 * silently: `haproxy -c` passes it), proxies whose names collide once made valid for HAProxy
 * (`a b` and `a_b` are both `a_b`: the config fails as a whole), and a `meta_cluster` that
 * balancers/haproxy.yaml does not define or gives no port. Pure; each problem names every
 * file involved.
 */
import type { ClusterSection, CrossIssue } from '../../../core/plugin.js';
import { cmp, haproxyName } from './servers.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './schema.js';

/** Something that binds a port or names a proxy: a cluster, a meta cluster, the stats page, a
 * proxy. `clusters`: the clusters that make it rendered (left out to resolve a clash). */
interface Claim {
  what: string;
  file: string;
  path: (string | number)[];
  clusters: string[];
}

type Cap = 'frontend' | 'backend' | 'listen';

export function haproxyCrossCheck(config: HaproxyConfig, file: string, clusters: readonly ClusterSection<HaproxyClusterConfig>[]): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const ports = new Map<number, Claim[]>();
  const names = new Map<string, (Claim & { caps: Cap[]; raw: string })[]>();
  const port = (p: number | undefined, c: Claim) => p !== undefined && ports.set(p, [...(ports.get(p) ?? []), c]);
  const name = (raw: string, caps: Cap[], c: Claim) => {
    const n = haproxyName(raw);
    names.set(n, [...(names.get(n) ?? []), { ...c, caps, raw }]);
  };

  const members = new Map<string, ClusterSection<HaproxyClusterConfig>[]>();
  for (const c of clusters) {
    const claim = { what: `cluster '${c.name}'`, file: c.file, path: ['haproxy', 'port'], clusters: [c.name] };
    port(c.section.port, claim);
    name(c.name, c.section.port === undefined ? ['backend'] : ['frontend', 'backend'], { ...claim, path: [] });
    if (c.metaCluster === undefined) continue;
    members.set(c.metaCluster, [...(members.get(c.metaCluster) ?? []), c]);
    if (!(c.metaCluster in config.meta_clusters) && !(c.metaCluster in config.meta_cluster_ports)) {
      const known = [...new Set([...Object.keys(config.meta_clusters), ...Object.keys(config.meta_cluster_ports)])].sort(cmp);
      issues.push({
        file: c.file,
        path: ['meta_cluster'],
        message: `meta cluster '${c.metaCluster}' is not defined in ${file} (meta_clusters or meta_cluster_ports)${known.length ? `; defined: ${known.join(', ')}` : ''}`,
        clusters: [],
      });
    }
  }
  for (const [meta, list] of [...members].sort(([a], [b]) => cmp(a, b))) {
    const defined = config.meta_clusters[meta]?.port !== undefined;
    const p = config.meta_clusters[meta]?.port ?? config.meta_cluster_ports[meta];
    if (p === undefined) {
      if (meta in config.meta_clusters) issues.push({ file, path: ['meta_clusters', meta], message: `meta cluster '${meta}' has no port (meta_clusters.${meta}.port or meta_cluster_ports.${meta}): its members (${list.map((c) => c.name).join(', ')}) are not routed`, clusters: [] });
      continue;
    }
    const claim = { what: `meta cluster '${meta}'`, file, path: defined ? ['meta_clusters', meta, 'port'] : ['meta_cluster_ports', meta], clusters: list.map((c) => c.name) };
    port(p, claim);
    name(meta, ['frontend'], { ...claim, path: defined ? ['meta_clusters', meta] : ['meta_cluster_ports', meta] });
  }
  if (config.stats) {
    port(config.stats.port, { what: 'the stats page', file, path: ['stats', 'port'], clusters: [] });
    name('stats', ['listen'], { what: 'the stats page (listen stats)', file, path: ['stats'], clusters: [] });
  }
  for (const [p, proxy] of Object.entries(config.proxies)) {
    port(proxy.port, { what: `proxy '${p}'`, file, path: ['proxies', p, 'port'], clusters: [] });
    name(p, ['listen'], { what: `proxy '${p}'`, file, path: ['proxies', p], clusters: [] });
  }

  for (const [p, claims] of ports) {
    if (claims.length < 2) continue;
    const involved = [...new Set(claims.flatMap((c) => c.clusters))];
    for (const c of claims) {
      const others = claims.filter((o) => o !== c).map(describe);
      issues.push({ file: c.file, path: c.path, message: `port ${p} is also bound by ${others.join(', ')}: one port, one frontend`, clusters: involved });
    }
  }
  for (const [n, claims] of names) {
    // a frontend and a backend may share a name; any other pair may not
    const clash = claims.filter((c) => claims.some((o) => o !== c && (c.caps.includes('listen') || o.caps.includes('listen') || c.caps.some((x) => o.caps.includes(x)))));
    if (clash.length < 2) continue;
    const involved = [...new Set(clash.flatMap((c) => c.clusters))];
    for (const c of clash) {
      const others = clash.filter((o) => o !== c).map(describe);
      const why = clash.some((x) => x.raw !== n) ? ' (HAProxy names allow letters, digits and _ . : - only)' : '';
      issues.push({ file: c.file, path: c.path, message: `${c.what} and ${others.join(', ')} have one name in HAProxy, '${n}'${why}: rename one`, clusters: involved });
    }
  }
  return issues;
}

function describe(c: Claim): string {
  return `${c.what} (${c.file})`;
}
