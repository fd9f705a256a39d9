/**
 * The model the templates receive: the contract with user templates (`template_dir` may
 * override any partial), so every field is documented here and always present (null rather
 * than missing: templates are compiled in strict mode). Built by model.ts and servers.ts.
 *
 * Every field is readonly, end to end: a model is never changed once built, which is what lets
 * model-builder.ts reuse a cluster's objects while it is unchanged, render.ts cache text per
 * object and runtime/view.ts skip the plan of an unchanged backend by identity.
 */
import type { NodeState } from '../../../core/node.js';

export interface RenderModel {
  /** one comment line saying the file is generated */
  readonly header: string;
  /** admin runtime socket path (rendered `stats socket PATH mode 600 level admin expose-fd listeners`,
   * then `stats timeout 2m`) */
  readonly socketFile: string;
  /** rendered `server-state-file PATH` in global; dumped to before every reload */
  readonly serverStateFile: string;
  /** the user's `global` lines */
  readonly global: readonly string[];
  /** the user's `defaults` lines (Lighthouse appends `load-server-state-from-file global`) */
  readonly defaults: readonly string[];
  readonly stats: StatsModel | null;
  /** cluster frontends and meta-cluster frontends, by name */
  readonly frontends: readonly FrontendModel[];
  /** one per cluster, by name */
  readonly backends: readonly BackendModel[];
  /** the `proxies` of the balancer config, by name */
  readonly proxies: readonly ProxyModel[];
}

export interface StatsModel {
  /** "ADDR:PORT" */
  readonly bind: string;
  readonly uri: string;
  /** e.g. [{ name: 'connect', value: '4000' }] */
  readonly timeouts: readonly { readonly name: string; readonly value: string }[];
}

export interface FrontendModel {
  readonly name: string;
  /** "ADDR:PORT" */
  readonly bind: string;
  /** the user's frontend lines (cluster `haproxy.frontend` or `meta_clusters.NAME.frontend`) */
  readonly lines: readonly string[];
  /** the backend of a plain cluster frontend; null for a meta-cluster frontend */
  readonly defaultBackend: string | null;
  /** meta-cluster frontend only: `acl NAME CONDITION` + `use_backend BACKEND if NAME` */
  readonly routes: readonly { readonly acl: string; readonly condition: string; readonly backend: string }[];
}

export interface BackendModel {
  readonly name: string;
  /** the cluster it serves */
  readonly cluster: string;
  /** the user's backend lines */
  readonly lines: readonly string[];
  /** the cluster's `server_options`, "" when none */
  readonly serverOptions: string;
  /** membership: every current node, named stably after its host:port */
  readonly servers: readonly ServerModel[];
  /** membership: free slots for nodes that join between reloads; null when none */
  readonly slots: SlotsModel | null;
  /** the distinct HAProxy peers of the cluster's nodes (the reporters' `peer`), by name;
   * rendered as a `peers NAME` section when not empty */
  readonly peers: readonly PeerModel[];
  /** a `stick-table ... peers NAME` of the cluster's frontend or backend lines uses that
   * section. Only then is a new peer structural (a reload): HAProxy uses a peers section for
   * nothing but the stick tables that name it. */
  readonly peersInUse: boolean;
  /** cookie persistence: the servers carry cookies (`mode http`) and a `cookie` line of the
   * backend or the defaults uses them. A node placed at runtime on an entry of another name
   * (a slot, a gone node's entry, `add server`: HAProxy 2.6 accepts no `cookie` for those) has
   * no cookie of its own until a reload names it, so such a placement asks for one. */
  readonly cookiePersistence: boolean;
  /** a server address is a host name (HAProxy resolves it when it loads the config, and may
   * fail to): a file naming it is validated by `haproxy -c` even when only membership changed */
  readonly hostnames: boolean;
}

export interface PeerModel {
  /** the reporter's peer name (its advertised host); HAProxy is started with `-L` = ours */
  readonly name: string;
  /** "IP:PORT" */
  readonly address: string;
}

export interface ServerModel {
  /** stable per node: its host:port with characters HAProxy refuses replaced by '_' */
  readonly name: string;
  /** "IP:PORT" or "[IPv6]:PORT" (the host when a node has no ip) */
  readonly address: string;
  /** the IP (or host) alone and the port, as the runtime API's `set server addr` takes them */
  readonly addr: string;
  readonly port: number;
  /** "last,libc,none" when `addr` is a host name (Nerve's host-as-address), rendered
   * `init-addr last,libc,none` before the options: a name that does not resolve disables this
   * server instead of failing the whole config (every cluster's reload). An `init-addr` of the
   * user's server_options comes later on the line and wins. null for an IP. */
  readonly initAddr: string | null;
  /** null: HAProxy's default (1, or a `weight` in server_options) */
  readonly weight: number | null;
  readonly state: NodeState;
  /** true when `state` is maint: rendered `disabled` so a reload starts it in maintenance */
  readonly disabled: boolean;
  /** the server's cookie value (its name) when the backend lines say `mode http`, as the Python
   * Lighthouse wrote it; null otherwise */
  readonly cookie: string | null;
  /** = backend serverOptions */
  readonly options: string;
}

export interface SlotsModel {
  /** server-template name prefix (`lh_slot`) */
  readonly prefix: string;
  readonly count: number;
  /** "1-N" */
  readonly range: string;
  readonly options: string;
}

export interface ProxyModel {
  readonly name: string;
  readonly bind: string;
  readonly lines: readonly string[];
  readonly servers: readonly { readonly name: string; readonly address: string; readonly maxconn: number | null }[];
}
