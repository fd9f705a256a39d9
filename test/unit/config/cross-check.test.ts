/**
 * Problems between files: unknown references (core) and what the HAProxy plugin's crossCheck
 * finds among clusters (ports, names after sanitising, meta clusters). Each problem names its
 * file and the other file(s) involved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crossCheck, type CrossProblem } from '../../../src/config/cross-check.js';
import { ConfigStore, type LoadedConfig } from '../../../src/config/store.js';
import type { ClusterConfig, ServiceConfig } from '../../../src/config/schema.js';
import { builtinRegistry } from '../../../src/plugins.js';
import { Registry } from '../../../src/core/registry.js';
import { silentLogger } from '../../../src/core/logger.js';
import { haproxyClusterSchema, haproxySchema } from '../../../src/balancers/haproxy/config/schema.js';
import { haproxyBalancer } from '../../../src/balancers/haproxy/index.js';
import { EXAMPLES_DIR } from '../../helpers/examples.js';

interface ClusterSpec {
  name?: string;
  discovery?: string;
  meta_cluster?: string;
  haproxy?: Record<string, unknown>;
}

/** A config as the store builds it: clusters keyed by name, `files` saying where each is. */
function snap(opts: { haproxy?: Record<string, unknown>; clusters?: Record<string, ClusterSpec>; services?: Record<string, string> }): LoadedConfig {
  const clusters = new Map<string, ClusterConfig>();
  const clusterFiles = new Map<string, string>();
  for (const [file, c] of Object.entries(opts.clusters ?? {})) {
    const name = c.name ?? file.replace(/^clusters\/|\.yaml$/g, '');
    clusters.set(name, { name, discovery: c.discovery ?? 'zookeeper', meta_cluster: c.meta_cluster, balancers: c.haproxy ? { haproxy: haproxyClusterSchema.parse(c.haproxy) } : {} });
    clusterFiles.set(name, file);
  }
  const services = new Map<string, ServiceConfig>();
  for (const [name, discovery] of Object.entries(opts.services ?? {})) {
    services.set(name, { name, ports: [8080], host: '127.0.0.1', discovery, intervalMs: 1000, checks: [], metadata: {}, flap: { maxChanges: 6, windowMs: 60_000 } });
  }
  const balancers = new Map<string, unknown>();
  if (opts.haproxy) balancers.set('haproxy', haproxySchema.parse({ config_file: '/tmp/x.cfg', socket_file: '/tmp/x.sock', ...opts.haproxy }));
  return {
    node: { peer_port: 1024 },
    plugins: [],
    balancers,
    discovery: new Map([['zookeeper', {}]]),
    clusters,
    services,
    files: { balancers: new Map([['haproxy', 'balancers/haproxy.yaml']]), discovery: new Map([['zookeeper', 'discovery/zookeeper.yaml']]), clusters: clusterFiles, services: new Map() },
  };
}

const check = (s: LoadedConfig) => crossCheck(s, builtinRegistry());
const lines = (ps: CrossProblem[]) => ps.map((p) => `${p.file} ${p.path.join('.')}: ${p.message}`);

test('a cluster or service naming a discovery no file configures: its file and the key', () => {
  const ps = check(snap({ clusters: { 'clusters/web.yaml': { discovery: 'zk', haproxy: { port: 8000 } } }, services: { api: 'zk2' } }));
  assert.deepEqual(lines(ps), [
    "clusters/web.yaml discovery: discovery 'zk' is not configured: no valid discovery/zk.yaml (configured: zookeeper)",
    "services/api.yaml discovery: discovery 'zk2' is not configured: no valid discovery/zk2.yaml (configured: zookeeper)",
  ]);
  assert.deepEqual(ps.map((p) => p.clusters), [[], []], 'a reference problem keeps no cluster from rendering');
  assert.deepEqual(check(snap({ clusters: { 'clusters/web.yaml': { haproxy: { port: 8000 } } }, services: { api: 'zookeeper' } })), []);
});

test('two clusters on one port: each file named, with the other; both clusters involved', () => {
  const ps = check(snap({ haproxy: {}, clusters: { 'clusters/a.yaml': { haproxy: { port: 8000 } }, 'clusters/b.yaml': { haproxy: { port: 8000 } }, 'clusters/c.yaml': { haproxy: { port: 8001 } } } }));
  assert.deepEqual(lines(ps), [
    "clusters/a.yaml haproxy.port: port 8000 is also bound by cluster 'b' (clusters/b.yaml): one port, one frontend",
    "clusters/b.yaml haproxy.port: port 8000 is also bound by cluster 'a' (clusters/a.yaml): one port, one frontend",
  ]);
  assert.deepEqual(ps.map((p) => p.clusters), [['a', 'b'], ['a', 'b']]);
});

test('cluster names that collide once made valid for HAProxy (`a b` / `a_b`): both files named', () => {
  const ps = check(snap({ haproxy: {}, clusters: { 'clusters/a-b.yaml': { name: 'a b', haproxy: { port: 8000 } }, 'clusters/a_b.yaml': { haproxy: { port: 8001 } } } }));
  assert.equal(ps.length, 2, lines(ps).join('\n'));
  assert.equal(ps[0].file, 'clusters/a-b.yaml');
  assert.match(ps[0].message, /^cluster 'a b' and cluster 'a_b' \(clusters\/a_b\.yaml\) have one name in HAProxy, 'a_b' \(HAProxy names allow letters, digits and _ \. : - only\): rename one$/);
  assert.equal(ps[1].file, 'clusters/a_b.yaml');
  assert.match(ps[1].message, /cluster 'a b' \(clusters\/a-b\.yaml\)/);
  assert.deepEqual(ps[0].clusters, ['a b', 'a_b']);
});

test('a cluster named like the stats page or a proxy collides (listen sections); a frontend and backend of one name do not', () => {
  const haproxy = { stats: { port: 9000 }, proxies: { partner: { port: 9100, upstreams: [{ host: '10.0.0.1', port: 80 }] } } };
  const ps = check(snap({ haproxy, clusters: { 'clusters/stats.yaml': { haproxy: { port: 8000 } }, 'clusters/partner.yaml': { haproxy: {} }, 'clusters/web.yaml': { haproxy: { port: 8001 } } } }));
  assert.deepEqual(lines(ps), [
    "clusters/stats.yaml : cluster 'stats' and the stats page (listen stats) (balancers/haproxy.yaml) have one name in HAProxy, 'stats': rename one",
    "balancers/haproxy.yaml stats: the stats page (listen stats) and cluster 'stats' (clusters/stats.yaml) have one name in HAProxy, 'stats': rename one",
    "clusters/partner.yaml : cluster 'partner' and proxy 'partner' (balancers/haproxy.yaml) have one name in HAProxy, 'partner': rename one",
    "balancers/haproxy.yaml proxies.partner: proxy 'partner' and cluster 'partner' (clusters/partner.yaml) have one name in HAProxy, 'partner': rename one",
  ]);
  assert.deepEqual(ps.map((p) => p.clusters), [['stats'], ['stats'], ['partner'], ['partner']]);
});

test('a cluster port equal to the stats port, a proxy port or a meta cluster port', () => {
  const haproxy = { stats: { port: 9000 }, proxies: { partner: { port: 9100, upstreams: [{ host: '10.0.0.1', port: 80 }] } }, meta_clusters: { api: { port: 9200 } } };
  const ps = check(snap({
    haproxy,
    clusters: {
      'clusters/s.yaml': { haproxy: { port: 9000 } },
      'clusters/p.yaml': { haproxy: { port: 9100 } },
      'clusters/m.yaml': { haproxy: { port: 9200 } },
      'clusters/w1.yaml': { meta_cluster: 'api', haproxy: { acl: 'path_beg /w1' } },
      'clusters/w2.yaml': { meta_cluster: 'api', haproxy: { acl: 'path_beg /w2' } },
    },
  }));
  const byFile = (f: string) => lines(ps.filter((p) => p.file === f));
  assert.deepEqual(byFile('clusters/s.yaml'), ["clusters/s.yaml haproxy.port: port 9000 is also bound by the stats page (balancers/haproxy.yaml): one port, one frontend"]);
  assert.deepEqual(byFile('clusters/p.yaml'), ["clusters/p.yaml haproxy.port: port 9100 is also bound by proxy 'partner' (balancers/haproxy.yaml): one port, one frontend"]);
  assert.deepEqual(byFile('clusters/m.yaml'), ["clusters/m.yaml haproxy.port: port 9200 is also bound by meta cluster 'api' (balancers/haproxy.yaml): one port, one frontend"]);
  assert.deepEqual(byFile('balancers/haproxy.yaml').sort(), [
    "balancers/haproxy.yaml meta_clusters.api.port: port 9200 is also bound by cluster 'm' (clusters/m.yaml): one port, one frontend",
    "balancers/haproxy.yaml proxies.partner.port: port 9100 is also bound by cluster 'p' (clusters/p.yaml): one port, one frontend",
    "balancers/haproxy.yaml stats.port: port 9000 is also bound by cluster 's' (clusters/s.yaml): one port, one frontend",
  ]);
  // the meta cluster's port is there because of its members: they are involved too
  assert.deepEqual(ps.find((p) => p.file === 'clusters/m.yaml')!.clusters.sort(), ['m', 'w1', 'w2']);
  assert.deepEqual(ps.find((p) => p.file === 'clusters/s.yaml')!.clusters, ['s']);
  // members of one meta cluster share its port: no clash among them
  assert.equal(ps.filter((p) => p.file.startsWith('clusters/w')).length, 0, lines(ps).join('\n'));
});

test('a meta_cluster balancers/haproxy.yaml does not define, or gives no port', () => {
  const ps = check(snap({
    haproxy: { meta_clusters: { api: { frontend: ['mode http'] }, web: { port: 9200 } }, meta_cluster_ports: { old: 9300 } },
    clusters: {
      'clusters/a.yaml': { meta_cluster: 'nope', haproxy: { acl: 'path_beg /a' } },
      'clusters/b.yaml': { meta_cluster: 'api', haproxy: { acl: 'path_beg /b' } },
      'clusters/c.yaml': { meta_cluster: 'old', haproxy: { acl: 'path_beg /c' } },
      'clusters/d.yaml': { meta_cluster: 'web', haproxy: { acl: 'path_beg /d' } },
    },
  }));
  assert.deepEqual(lines(ps), [
    "clusters/a.yaml meta_cluster: meta cluster 'nope' is not defined in balancers/haproxy.yaml (meta_clusters or meta_cluster_ports); defined: api, old, web",
    "balancers/haproxy.yaml meta_clusters.api: meta cluster 'api' has no port (meta_clusters.api.port or meta_cluster_ports.api): its members (b) are not routed",
  ]);
});

test('the example config dirs have no cross-file problem', async () => {
  for (const name of readdirSync(EXAMPLES_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)) {
    const registry = builtinRegistry();
    const store = new ConfigStore({ dir: join(EXAMPLES_DIR, name), registry, logger: silentLogger() });
    const { config } = await store.load();
    await store.close();
    assert.deepEqual(lines(crossCheck(config, registry)), [], name);
  }
});

test('the balancer checks are the plugin\'s: without its crossCheck only the core ones run', () => {
  const s = snap({ haproxy: {}, clusters: { 'clusters/a.yaml': { discovery: 'zk', haproxy: { port: 8000 } }, 'clusters/b.yaml': { haproxy: { port: 8000 } } } });
  const { crossCheck: _, ...plain } = haproxyBalancer;
  const ps = crossCheck(s, new Registry([plain]));
  assert.deepEqual(lines(ps), ["clusters/a.yaml discovery: discovery 'zk' is not configured: no valid discovery/zk.yaml (configured: zookeeper)"]);
});

test('a cluster\'s frontend named like a meta cluster\'s: the cluster and the members involved', () => {
  const ps = check(snap({
    haproxy: { meta_clusters: { api: { port: 9200 } } },
    clusters: { 'clusters/api.yaml': { haproxy: { port: 8000 } }, 'clusters/w.yaml': { meta_cluster: 'api', haproxy: { acl: 'path_beg /w' } } },
  }));
  assert.deepEqual(lines(ps), [
    "clusters/api.yaml : cluster 'api' and meta cluster 'api' (balancers/haproxy.yaml) have one name in HAProxy, 'api': rename one",
    "balancers/haproxy.yaml meta_clusters.api: meta cluster 'api' and cluster 'api' (clusters/api.yaml) have one name in HAProxy, 'api': rename one",
  ]);
  assert.deepEqual(ps[0].clusters, ['api', 'w']);
  // a cluster without a port has no frontend: its backend may share the meta cluster's name
  assert.deepEqual(check(snap({ haproxy: { meta_clusters: { api: { port: 9200 } } }, clusters: { 'clusters/api.yaml': { meta_cluster: 'api', haproxy: { acl: 'path_beg /a' } } } })), []);
});
