/**
 * Incremental models: DesiredState -> Models at a cost proportional to what changed.
 *
 * The writer passes whole states, but a cluster it did not touch keeps its objects (its
 * `balancer` section and its `nodes` array, usually its ClusterModel too). Per cluster this
 * remembers the section and nodes it last saw, with the BackendModel built from them: an
 * untouched cluster costs two identity checks and yields the SAME BackendModel object, which
 * lets the runtime view skip its plan (runtime/view.ts) and the renderer reuse its text
 * (render.ts). A cluster with new nodes gets a new BackendModel (O(its nodes)).
 *
 * Structure: everything but membership is a pure function of (config, clusters' names, meta
 * clusters, sections and the peer sets stick tables use), keyed per cluster by `key` (the
 * section as JSON, computed only when the section object changes) and its peers (compared when
 * its nodes change: only a peer not listed yet makes a new shape). While no key changes and no cluster comes or goes, the Shape (the
 * model without backends, the masked backends, the warnings) is the same object as before, so
 * "structure unchanged" is an identity check, and `structure` (the masked render) is computed
 * once per Shape, only when something asks.
 *
 * Builder wraps it for the balancer: DesiredState -> Built, whose full text is rendered on first
 * use (membership-only applies leave that to the background file write).
 */
import type { ClusterModel, DesiredState } from '../../../core/plugin.js';
import type { ServiceNode } from '../../../core/node.js';
import { backendModel, buildShape, byName, clusterSection, maskBackend, peersWithin, samePeers, sectionTraits, structuralPeers, type BackendModel, type RenderModel, type SectionTraits, type ShapeModel } from './model.js';
import type { Renderer } from './render.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './schema.js';

/** Readonly end to end: "structure unchanged" is an identity check on the Shape, and the
 * renderer and the runtime view cache by the identity of what is in here. */
export interface Shape {
  readonly model: ShapeModel;
  /** one per cluster, by name, servers and slots blanked */
  readonly masked: readonly BackendModel[];
  readonly warnings: readonly string[];
}

export interface Models {
  readonly shape: Shape;
  /** one per cluster, by name */
  readonly backends: readonly BackendModel[];
  /** some server's address is a host name (BackendModel.hostnames) */
  readonly hostnames: boolean;
  /** these backends are `from` (the previous models') but at the positions `at`: what
   * changed, for the runtime view to plan only those */
  readonly delta?: { readonly from: readonly BackendModel[]; readonly at: readonly number[] };
}

interface Entry {
  section: unknown;
  metaCluster: string | undefined;
  hc: HaproxyClusterConfig;
  key: string;
  traits: SectionTraits;
  masked: BackendModel;
  nodes: readonly ServiceNode[] | null;
  backend: BackendModel | null;
}

export class ModelCache {
  private entries = new Map<string, Entry>();
  private shape: Shape | null = null;
  /** the last update's clusters as given, their positions by name, and the backends built */
  private last: { input: readonly ClusterModel[]; rank: Int32Array; backends: BackendModel[]; hostnames: boolean } = { input: [], rank: new Int32Array(0), backends: [], hostnames: false };
  /** the version of the last state seen (DesiredState.version) */
  private version: number | undefined;

  constructor(private readonly config: HaproxyConfig) {}

  update(desired: DesiredState): Models {
    const input = desired.clusters;
    const last = this.last;
    const hint = desired.changedSince;
    // the writer's hint: the state we saw last but at a few positions (1,000 clusters, one
    // changed: no walk over the others)
    let same = hint !== undefined && this.shape !== null && hint.version === this.version && input.length === last.input.length;
    const at = same ? hint!.at : null;
    // else: the same clusters in the same order as last time? Then an untouched ClusterModel
    // object is one identity check, and no sort
    for (let i = 0; same && at && i < at.length; i++) same = input[at[i]].name === last.input[at[i]].name;
    for (let i = 0; same && !at && i < input.length; i++) same = input[i] === last.input[i] || input[i].name === last.input[i].name;
    if (!same && at) return this.update({ clusters: input, version: desired.version }); // a hint that does not hold: the full way
    const rank = same ? last.rank : ranks(input);

    let structural = this.shape === null || input.length !== this.entries.size;
    const backends: BackendModel[] = at ? last.backends.slice() : new Array(input.length);
    const changed: number[] = [];
    const n = at ? at.length : input.length;
    for (let k = 0; k < n; k++) {
      const i = at ? at[k] : k;
      const c = input[i];
      if (same && c === last.input[i]) {
        backends[rank[i]] = last.backends[rank[i]];
        continue;
      }
      let e = this.entries.get(c.name);
      if (!e || e.section !== c.balancer || e.metaCluster !== c.metaCluster) {
        const hc = clusterSection(c);
        const key = JSON.stringify([c.metaCluster ?? null, hc]);
        if (e?.key !== key) {
          structural = true;
          const traits = sectionTraits(this.config, c.name, hc);
          e = { section: c.balancer, metaCluster: c.metaCluster, hc, key, traits, masked: maskBackend(backendModel(this.config, { ...c, nodes: [] }, hc, traits)), nodes: null, backend: null };
        } else e = { ...e, section: c.balancer }; // an equal section, new object (config re-read)
        this.entries.set(c.name, e);
      }
      if (e.nodes !== c.nodes || !e.backend) {
        // from the previous backend of this section: unchanged nodes keep their servers
        e.backend = backendModel(this.config, c, e.hc, e.traits, e.backend && e.nodes ? { nodes: e.nodes, backend: e.backend } : null);
        e.nodes = c.nodes;
        // A new peer of a section a stick table uses is structure (HAProxy must list it to share
        // the table with it). A peer gone is not: its line is harmless until the next reload
        // drops it, and a cluster whose nodes all leave for a moment does not reload twice.
        if (!peersWithin(structuralPeers(e.backend), e.masked.peers)) {
          e.masked = maskBackend(e.backend);
          structural = true;
        }
      }
      if (same && e.backend !== last.backends[rank[i]]) changed.push(rank[i]);
      backends[rank[i]] = e.backend;
    }
    if (structural || !this.shape) {
      const clusters: ClusterModel[] = new Array(input.length);
      input.forEach((c, i) => (clusters[rank[i]] = c));
      const entries = clusters.map((c) => this.entries.get(c.name)!);
      // a new shape may reload: then gone peers are dropped, so the structure lists current ones
      for (const e of entries) if (e.backend && !samePeers(e.masked.peers, structuralPeers(e.backend))) e.masked = maskBackend(e.backend);
      this.entries = new Map(clusters.map((c, i) => [c.name, entries[i]]));
      const { shape, warnings } = buildShape(this.config, clusters, entries.map((e) => e.hc));
      this.shape = { model: shape, masked: entries.map((e) => e.masked), warnings };
    }
    // a host name among the servers: known from the last snapshot and the changed backends
    const hostnames = at && !last.hostnames ? changed.some((r) => backends[r].hostnames) : backends.some((b) => b.hostnames);
    this.version = desired.version;
    this.last = { input: input.slice(), rank, backends, hostnames };
    return { shape: this.shape, backends, hostnames, ...(same && { delta: { from: last.backends, at: changed } }) };
  }
}

/** rank[i] = the position of clusters[i] once sorted by name */
function ranks(clusters: readonly ClusterModel[]): Int32Array {
  const order = clusters.map((_, i) => i).sort((a, b) => byName(clusters[a], clusters[b]) || a - b);
  const rank = new Int32Array(clusters.length);
  order.forEach((i, k) => (rank[i] = k));
  return rank;
}

/** The full model of a snapshot. */
export function fullModel(s: Models): RenderModel {
  return { ...s.shape.model, backends: s.backends };
}

/** The model with membership blanked. */
export function maskedModel(shape: Shape): RenderModel {
  return { ...shape.model, backends: shape.masked };
}

export interface Built {
  readonly models: Models;
  /** the full config in pieces (Renderer.renderParts), rendered on first use: what is written */
  readonly parts: readonly string[];
  /** the full config as one string (dry runs, tests) */
  readonly text: string;
  /** the config with membership blanked, rendered once per shape */
  readonly structure: string;
}

export class Builder {
  private readonly models: ModelCache;
  private readonly structures = new WeakMap<Shape, string>();
  private lastShape: Shape | null = null;

  constructor(
    config: HaproxyConfig,
    private readonly renderer: Renderer,
    /** the config problems of a new shape (rendered without them) */
    private readonly onWarnings: (warnings: readonly string[]) => void,
  ) {
    this.models = new ModelCache(config);
  }

  build(desired: DesiredState): Built {
    const models = this.models.update(desired);
    if (models.shape !== this.lastShape && models.shape.warnings.join() !== this.lastShape?.warnings.join() && models.shape.warnings.length) this.onWarnings(models.shape.warnings);
    this.lastShape = models.shape;
    return this.built(models);
  }

  /** `b` without its backends (its text and structure only): what a fallback config needs, at a
   * fraction of the memory (a full set of models for 50,000 servers weighs ~10 MB) */
  thin(b: Built): Built {
    const parts = b.parts;
    return {
      models: { shape: b.models.shape, backends: [], hostnames: false },
      parts,
      get text() {
        return parts.join('');
      },
      structure: b.structure,
    };
  }

  private built(models: Models): Built {
    const { renderer, structures } = this;
    let parts: string[] | undefined;
    return {
      models,
      get parts() {
        return (parts ??= renderer.renderParts(fullModel(models)));
      },
      get text() {
        return this.parts.join('');
      },
      get structure() {
        let s = structures.get(models.shape);
        if (s === undefined) structures.set(models.shape, (s = renderer.render(maskedModel(models.shape))));
        return s;
      },
    };
  }
}
