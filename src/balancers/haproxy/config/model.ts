/**
 * Pure: (validated balancer config, DesiredState) -> the model the templates receive.
 *
 * The model's types, the contract with user templates, are in render-model.ts. Lists are
 * sorted so equal inputs render byte-identical output.
 *
 * Membership (a backend's `servers` and `slots`) is kept apart from everything else so that
 * `maskMembership` can blank it: two models whose masked renders are equal differ only in
 * membership, which the runtime API applies without a reload (see balancer.ts).
 *
 * A backend's servers and peers are built in servers.ts.
 *
 * Models are never mutated once built: the balancer reuses a cluster's objects while it is
 * unchanged (model-builder.ts) and the renderer caches partial output per object (render.ts).
 */
import { isIP } from 'node:net';
import type { ClusterModel, DesiredState } from '../../../core/plugin.js';
import type { ServiceNode } from '../../../core/node.js';
import type { BackendModel, FrontendModel, PeerModel, ProxyModel, RenderModel, ServerModel, StatsModel } from './render-model.js';

export type * from './render-model.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './schema.js';
import { byName, cmp, haproxyName, hostPort, peerModels, samePeer, serverModelsFrom, sorted } from './servers.js';

export { byName, haproxyName, hostPort, peerModels, peersWithin, samePeers, serverModels, sorted } from './servers.js';

/** Names of the free server-template slots: `lh_slot1`..`lh_slotN`. Never collides with a node's
 * server name, which always keeps the ':' of its host:port. */
export const SLOT_PREFIX = 'lh_slot';

/** A `server-template` slot's server (`lh_slot7`), not a node's. */
export function isSlot(name: string): boolean {
  return name.startsWith(SLOT_PREFIX) && /^\d+$/.test(name.slice(SLOT_PREFIX.length));
}
/** HAProxy's limit of servers per backend (roundrobin). */
export const MAX_SERVERS = 4095;

/** where cluster frontends bind when `bind_address` is unset */
export const LOCAL_BIND = '127.0.0.1';

export interface BuildResult {
  model: RenderModel;
  /** problems that do not stop rendering (a meta cluster without a port, a member without an acl) */
  warnings: string[];
}

export function buildModel(config: HaproxyConfig, desired: DesiredState): BuildResult {
  const clusters = [...desired.clusters].sort(byName);
  const sections = clusters.map(clusterSection);
  const { shape, warnings } = buildShape(config, clusters, sections);
  return { model: { ...shape, backends: clusters.map((c, i) => backendModel(config, c, sections[i])) }, warnings };
}

/** Everything of the model but the backends. */
export type ShapeModel = Omit<RenderModel, 'backends'>;

/** The model without its backends, from the clusters (sorted by name) and their sections: it
 * depends on no node, so it is built again only when the structure may have changed. */
export function buildShape(config: HaproxyConfig, clusters: readonly ClusterModel[], sections: readonly HaproxyClusterConfig[]): { shape: ShapeModel; warnings: string[] } {
  const warnings: string[] = [];
  // unset bind_address: frontends on loopback, stats and proxies on every interface ('' ->
  // `bind :PORT`), see schema.ts
  const bind = (addr: string | undefined, port: number) => hostPort(addr ?? config.bind_address ?? LOCAL_BIND, port);
  const open = (addr: string | undefined, port: number) => hostPort(addr ?? config.bind_address ?? '', port);
  const frontends: FrontendModel[] = [];

  clusters.forEach((c, i) => {
    const hc = sections[i];
    const name = haproxyName(c.name);
    if (hc.port !== undefined) {
      frontends.push({ name, bind: bind(undefined, hc.port), lines: hc.frontend, defaultBackend: name, routes: [] });
    } else if (!c.metaCluster) {
      warnings.push(`cluster ${c.name}: no haproxy.port and no meta_cluster: its backend has no frontend`);
    }
  });

  const metaNames = [...new Set(clusters.filter((c) => c.metaCluster).map((c) => c.metaCluster!))].sort();
  for (const meta of metaNames) {
    const mc = config.meta_clusters[meta];
    const port = mc?.port ?? config.meta_cluster_ports[meta];
    if (port === undefined) {
      warnings.push(`meta cluster ${meta}: no port in meta_clusters or meta_cluster_ports: not rendered`);
      continue;
    }
    const routes: FrontendModel['routes'][number][] = [];
    clusters.forEach((c, i) => {
      if (c.metaCluster !== meta) return;
      const hc = sections[i];
      if (!hc.acl) {
        warnings.push(`cluster ${c.name}: member of meta cluster ${meta} without haproxy.acl: not routed`);
        return;
      }
      const backend = haproxyName(c.name);
      routes.push({ acl: `is_${backend}`, condition: hc.acl, backend });
    });
    frontends.push({ name: haproxyName(meta), bind: bind(undefined, port), lines: mc?.frontend ?? [], defaultBackend: null, routes });
  }
  frontends.sort(byName);

  const proxies: ProxyModel[] = Object.entries(config.proxies)
    .sort(([a], [b]) => cmp(a, b))
    .map(([name, p]) => ({
      name,
      bind: open(p.bind_address, p.port),
      lines: p.options,
      servers: p.upstreams.map((u) => ({ name: haproxyName(`${u.host}:${u.port}`), address: hostPort(u.host, u.port), maxconn: u.max_conn ?? null })),
    }));

  const stats: StatsModel | null = config.stats
    ? {
        bind: open(undefined, config.stats.port),
        uri: config.stats.uri,
        timeouts: (['connect', 'client', 'server'] as const)
          .filter((k) => config.stats!.timeouts[k] !== undefined)
          .map((k) => ({ name: k, value: String(config.stats!.timeouts[k]) })),
      }
    : null;

  return {
    shape: {
      header: '# Generated by lighthouse-writer from its config directory; edits here are overwritten.',
      socketFile: config.socket_file,
      serverStateFile: config.server_state_file,
      global: config.global,
      defaults: config.defaults,
      stats,
      frontends,
      proxies,
    },
    warnings,
  };
}

/** What a backend's model takes from its cluster's section alone: computed once per section
 * (model-builder.ts keeps it while the section is unchanged), not on every membership change. */
export interface SectionTraits {
  /** the backend lines say `mode http`: servers carry cookies */
  http: boolean;
  peersInUse: boolean;
  cookiePersistence: boolean;
}

export function sectionTraits(config: HaproxyConfig, cluster: string, hc: HaproxyClusterConfig): SectionTraits {
  const http = httpMode(hc.backend);
  return {
    http,
    peersInUse: usesPeers([...hc.frontend, ...hc.backend], haproxyName(cluster)),
    cookiePersistence: http && [...hc.backend, ...config.defaults].some((l) => /^cookie\s/i.test(l.trim())),
  };
}

/** The model a backend had, to build its next one from: its servers are reused for the nodes
 * that did not change (see serverModelsFrom). */
export interface PreviousBackend {
  /** the nodes `backend` was built from, as given */
  nodes: readonly ServiceNode[];
  backend: BackendModel;
}

/** A cluster's backend: its section's lines, its nodes as servers, free slots, its peers. */
export function backendModel(config: HaproxyConfig, c: ClusterModel, hc: HaproxyClusterConfig, traits = sectionTraits(config, c.name, hc), prev?: PreviousBackend | null): BackendModel {
  const servers = serverModelsFrom(c.nodes, hc.server_options, traits.http, prev);
  const free = Math.min(MAX_SERVERS - servers.length, Math.max(config.slots.min, Math.ceil(servers.length * config.slots.ratio)));
  // built from the previous servers (the same names, in the same order): what did not change
  // is taken from it, its peers when no node's peer changed
  const from = prev && servers.length === prev.backend.servers.length && servers.some((s, i) => s === prev.backend.servers[i]) ? prev : null;
  const was = from && sorted(from.nodes);
  const list = sorted(c.nodes);
  return {
    name: from ? from.backend.name : haproxyName(c.name),
    cluster: c.name,
    lines: hc.backend,
    serverOptions: hc.server_options,
    servers,
    slots: free > 0 ? { prefix: SLOT_PREFIX, count: free, range: `1-${free}`, options: hc.server_options } : null,
    peers: was && list.every((n, i) => n === was[i] || samePeer(n.peer, was[i].peer)) ? from.backend.peers : peerModels(c.nodes),
    peersInUse: traits.peersInUse,
    cookiePersistence: traits.cookiePersistence,
    hostnames: from && !from.backend.hostnames ? servers.some((s, i) => s !== from.backend.servers[i] && !isIP(s.addr)) : servers.some((s) => !isIP(s.addr)),
  };
}

/** Does a `stick-table` line name the peers section `name`? */
export function usesPeers(lines: readonly string[], name: string): boolean {
  return lines.some((l) => {
    const w = l.trim().split(/\s+/);
    return w[0] === 'stick-table' && w.some((x, i) => x === 'peers' && w[i + 1] === name);
  });
}

/** The peers that are structure: all of them when a stick table uses the section, else none. */
export function structuralPeers(b: BackendModel): readonly PeerModel[] {
  return b.peersInUse ? b.peers : [];
}

/** The Python Lighthouse's rule for cookies: the backend lines say `mode http` (the last `mode`
 * line wins; spacing and case do not matter). */
export function httpMode(lines: readonly string[]): boolean {
  const mode = lines.findLast((l) => /^mode\s/i.test(l.trim()));
  return mode !== undefined && mode.trim().split(/\s+/)[1]?.toLowerCase() === 'http';
}

/** The same model with membership blanked: what a reload is needed for. */
export function maskMembership(model: RenderModel): RenderModel {
  return { ...model, backends: model.backends.map(maskBackend) };
}

/** Membership blanked, but one placeholder server and slot line keep how server lines render
 * (`server_options`, cookies): changing them is structural, not membership. Peers stay when a
 * stick table uses them. */
export function maskBackend(b: BackendModel): BackendModel {
  const options = b.serverOptions;
  const name = `${SLOT_PREFIX}0`;
  const server: ServerModel = { name, address: '0.0.0.0:0', addr: '0.0.0.0', port: 0, initAddr: null, weight: null, state: 'up', disabled: false, cookie: httpMode(b.lines) ? name : null, options };
  return { ...b, servers: [server], slots: { prefix: SLOT_PREFIX, count: 1, range: '1-1', options }, peers: structuralPeers(b) };
}

/** A cluster's `haproxy:` section; absent when the cluster has none (all defaults). */
export function clusterSection(c: ClusterModel): HaproxyClusterConfig {
  const hc = c.balancer as Partial<HaproxyClusterConfig> | undefined;
  return { port: hc?.port, acl: hc?.acl, frontend: hc?.frontend ?? [], backend: hc?.backend ?? [], server_options: hc?.server_options ?? '' };
}
