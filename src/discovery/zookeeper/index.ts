/**
 * The ZooKeeper discovery plugin: CONFIG_DIR/discovery/zookeeper.yaml. Reporters publish
 * PATH/SERVICE/HOST:PORT (publisher.ts), writers watch PATH/CLUSTER (watcher.ts), over one
 * session (session.ts); the znode data format is in znode-format.ts.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { LighthouseError } from '../../core/errors.js';
import type { ServiceNode } from '../../core/node.js';
import type { Discovery, DiscoveryPlugin, PluginDeps, MembersListener } from '../../core/plugin.js';
import { encodeNode } from './znode-format.js';
import type { NodeRecord } from '../../core/node-record.js';
import { DEFAULT_NODES_PATH, encodeNodeRecord, nodeZnode } from './inventory.js';
import { Publisher } from './publisher.js';
import { ZkSession } from './session.js';
import { parseAcl, type ZkAcl } from './zk-client.js';
import { ReadQueue } from './read-queue.js';
import { ClusterWatch } from './watcher.js';

const hostPort = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._-]+(:\d{1,5})?$/, 'expected "host:port" (port defaults to 2181)');

/** zkCli's `scheme:id:perms` (parsed by zk-client.ts parseAcl) */
const aclEntry = z.string().regex(/^[a-z0-9]+:[^\s]*:[rwcda]+$/, 'expected "scheme:id:perms" (e.g. "world:anyone:r", "auth::cdrwa"), perms of r w c d a');

/** A duration: a number in `unit`, or a string with its own unit ("2500ms", "10s"). -> ms */
const duration = (unit: 'ms' | 's') =>
  z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?(ms|s)$/, 'expected a number or "<n>ms" / "<n>s"')]).transform((v) => {
    if (typeof v === 'number') return Math.round(unit === 's' ? v * 1000 : v);
    return Math.round(v.endsWith('ms') ? parseFloat(v) : parseFloat(v) * 1000);
  });

export const zookeeperSchema = z.strictObject({
  /** required: the ensemble, a list of "host:port" (":2181" if left out) or one comma-separated
   * string as kazoo takes it ("zk1:2181,zk2:2181"). */
  hosts: z
    .union([z.array(hostPort).min(1), z.string().transform((s) => s.split(',').map((h) => h.trim()).filter(Boolean))])
    .pipe(z.array(hostPort).min(1, 'at least one host')),
  /** required: the base znode; services live at PATH/SERVICE/HOST:PORT. Absolute, no trailing "/". */
  path: z.string().regex(/^(\/[^/\s]+)+$/, 'expected an absolute znode path without trailing "/", e.g. /lighthouse'),
  /** session timeout, default 10000 ms (kazoo's 10 s). A number is milliseconds; "10s" also works.
   * The server clamps it to 2..20 x its tickTime. Losing contact this long loses the session:
   * our ephemerals disappear and are re-created on the next session. At least 1000 ms. */
  session_timeout: duration('ms')
    .pipe(z.number().min(1000, 'at least 1000 ms (the client also uses it as its connect timeout)'))
    .prefault(10_000),
  /** how long start-up waits for a first session, default 30 s. A number is SECONDS, as in the
   * Python Lighthouse's `connect_timeout: 30`; "30000ms" also works. Connecting continues after. */
  connect_timeout: duration('s').prefault(30),
  /** optional digest credentials "user:password", sent on every connection (addauth digest).
   * A secret: never logged. With it, the znodes a reporter creates get an ACL that lets only
   * this identity write (see `acl`). */
  auth: z.string().regex(/^[^:]+:.+$/, 'expected "user:password"').optional(),
  /**
   * ACLs of the znodes a reporter creates, as lists of zkCli entries `scheme:id:perms` (perms
   * of r w c d a; "auth::cdrwa" is this session's `auth` identity, "world:anyone:r" everyone,
   * "digest:user:BASE64SHA1:cdrwa" a named identity, "ip:10.0.0.0/8:r" an address range).
   *  - `znodes`: each instance znode (PATH/SERVICE/HOST:PORT). Default with `auth`:
   *    ["auth::cdrwa", "world:anyone:r"] (only this identity changes it, anyone reads it);
   *    without `auth`: ["world:anyone:cdrwa"], the open ACL the Python Lighthouse uses.
   *  - `parents`: PATH and PATH/SERVICE when the reporter creates them (existing ones keep
   *    theirs). ZooKeeper checks a delete against the PARENT's ACL, so this is what keeps
   *    others from deleting our instances. Default: as `znodes`. Every reporter of a service
   *    needs create and delete (`cd`) here: give them one identity, or list theirs.
   * Writers only read: they need `r` on PATH and below.
   */
  acl: z
    .strictObject({
      znodes: z.array(aclEntry).min(1).optional(),
      parents: z.array(aclEntry).min(1).optional(),
    })
    .optional(),
  /** how writers watch a cluster, default `auto`: one persistent recursive watch per cluster
   * when the server has them (ZooKeeper 3.6+: a member added costs one read instead of two, and
   * nothing is re-armed), else one-shot watches. `classic`: one-shot watches always (a child watch per
   * cluster and a data watch per member, as the Python Lighthouse). */
  watch: z.enum(['auto', 'classic']).prefault('auto'),
  /** where reporters publish their node's inventory record (name, ranks, metadata, HTTP
   * endpoint) as NODES_PATH/HOST, for actions; default /lighthouse/nodes; false: not published.
   * A cluster of that path's name under `path` would collide with it: keep them apart. */
  nodes_path: z
    .union([z.string().regex(/^(\/[^/\s]+)+$/, 'expected an absolute znode path without trailing "/"'), z.literal(false)])
    .prefault(DEFAULT_NODES_PATH),
}).superRefine((c, ctx) => {
  // an `auth` id without credentials: ZooKeeper refuses every create (INVALID_ACL)
  for (const key of ['znodes', 'parents'] as const) {
    c.acl?.[key]?.forEach((e, i) => {
      if (e.startsWith('auth:') && !c.auth) ctx.addIssue({ code: 'custom', path: ['acl', key, i], message: 'an "auth" entry needs `auth` (the identity it stands for)' });
    });
  }
});
export type ZookeeperConfig = z.output<typeof zookeeperSchema>;

/** The ACLs a reporter creates znodes with (see `acl` above): the configured ones, else the
 * defaults for with or without `auth`. */
export function reporterAcls(c: Pick<ZookeeperConfig, 'auth' | 'acl'>): { znodes: ZkAcl[]; parents: ZkAcl[] } {
  const znodes = c.acl?.znodes ?? (c.auth ? ['auth::cdrwa', 'world:anyone:r'] : ['world:anyone:cdrwa']);
  const parents = c.acl?.parents ?? znodes;
  return { znodes: znodes.map(parseAcl), parents: parents.map(parseAcl) };
}

/** One discovery instance: a session, what we publish and what we watch. */
export class ZookeeperDiscovery implements Discovery {
  readonly session: ZkSession;
  private readonly publisher: Publisher;
  /** the node's inventory record, apart from the service znodes (inventory.ts) */
  private readonly inventory: Publisher;
  private inventoryPath: string | null = null;
  private readonly watches = new Set<ClusterWatch>();
  /** the members' reads of every watch, in one window (read-queue.ts) */
  private readonly reads = new ReadQueue();
  private readonly log: Logger;

  constructor(
    private readonly config: ZookeeperConfig,
    private readonly deps: PluginDeps,
  ) {
    this.log = deps.logger.child({ component: 'zookeeper' });
    this.session = new ZkSession({
      hosts: config.hosts,
      sessionTimeout: config.session_timeout,
      connectTimeout: config.connect_timeout,
      auth: config.auth,
      logger: this.log,
      clock: deps.clock,
    });
    this.publisher = new Publisher(this.session, this.log, deps.clock, reporterAcls(config));
    this.inventory = new Publisher(this.session, this.log, deps.clock, reporterAcls(config));
    const ev = deps.events;
    if (ev) for (const e of ['session', 'connected', 'disconnected', 'expired'] as const) this.session.on(e, () => ev.sessionEvent(e));
  }

  get connected(): boolean {
    return this.session.connected;
  }

  start(): Promise<void> {
    return this.session.start();
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches.clear();
    const waitMs = Math.min(this.config.session_timeout, 2000);
    await Promise.all([this.publisher.stop(waitMs), this.inventory.stop(waitMs)]);
    await this.session.close();
  }

  async publishNode(record: NodeRecord | null): Promise<void> {
    const path = record && this.config.nodes_path !== false ? nodeZnode(this.config.nodes_path, record.name) : null;
    // a failed removal stays wanted: the publisher retries it
    if (this.inventoryPath && this.inventoryPath !== path) await this.inventory.unregister(this.inventoryPath).catch(() => {});
    this.inventoryPath = path;
    if (path && record) await this.inventory.register(path, encodeNodeRecord(record));
  }

  register(service: string, node: ServiceNode): Promise<void> {
    return this.publisher.register(this.znodeOf(service, node), encodeNode(node));
  }

  unregister(service: string, node: ServiceNode): Promise<void> {
    return this.publisher.unregister(this.znodeOf(service, node));
  }

  watch(cluster: string, listener: MembersListener): () => void {
    const path = `${this.config.path}/${segment(cluster, 'cluster')}`;
    const ev = this.deps.events;
    const deliver: MembersListener = ev ? (nodes) => (ev.watchEvent(), listener(nodes)) : listener;
    const w = new ClusterWatch({ session: this.session, path, listener: deliver, log: this.log.child({ cluster }), clock: this.deps.clock, reads: this.reads, mode: this.config.watch });
    this.watches.add(w);
    return () => {
      w.stop();
      this.watches.delete(w);
    };
  }

  private znodeOf(service: string, node: ServiceNode): string {
    return `${this.config.path}/${segment(service, 'service')}/${segment(node.name, 'node name')}`;
  }
}

/** A service, cluster or node name becomes one znode path segment. */
function segment(name: string, what: string): string {
  if (!name || name.includes('/') || name === '.' || name === '..') {
    throw new LighthouseError('LH_ERR_ZK_OP', `${what} ${JSON.stringify(name)} cannot be a znode name`);
  }
  return name;
}

export const zookeeperDiscovery = {
  kind: 'discovery',
  name: 'zookeeper',
  schema: zookeeperSchema,
  create: (config: ZookeeperConfig, deps: PluginDeps) => new ZookeeperDiscovery(config, deps),
} satisfies DiscoveryPlugin<ZookeeperConfig>;
