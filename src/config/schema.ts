/**
 * Schemas of the files the core owns. Plugin files (balancers/, discovery/) and plugin sections
 * (a cluster's `haproxy:`, a service's `checks.http:`) are validated by the plugin's own schema.
 * Every key is documented here with its default; the README's config reference mirrors this.
 */
import { z } from 'zod';
import type { Registry } from '../core/registry.js';
import { check, type Issue } from './yaml.js';
import { address } from './values.js';

const port = z.number().int().min(1).max(65535);
const seconds = z.number().positive();

/** logging.yaml. Our own form: `level`, `format`. A Python Lighthouse `dictConfig` file
 * (`version: 1`, handlers, ...) is accepted unchanged: its `root.level` is used, the rest
 * (Python handler classes) cannot apply to a Node process and is ignored. */
export const loggingSchema = z.union([
  z.strictObject({
    /** default info */
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** default json; pretty when stdout is a terminal */
    format: z.enum(['json', 'pretty']).optional(),
  }),
  z
    .looseObject({ version: z.literal(1), root: z.looseObject({ level: z.string().optional() }).optional() })
    .transform((d) => ({
      level: (d.root?.level?.toLowerCase().replace('warning', 'warn').replace('critical', 'fatal') ?? 'info') as
        | 'info'
        | 'debug',
      format: undefined,
    })),
]);
export type LoggingConfig = { level: z.infer<typeof loggingSchema>['level']; format?: 'json' | 'pretty' };

/** plugins.yaml: npm packages whose default export (or `plugins` export) is a plugin object or
 * an array of them. Loaded once at start (and again on SIGHUP). */
export const pluginsSchema = z.strictObject({ plugins: z.array(z.string().min(1)).default([]) });

/** node.yaml (optional): how this node is advertised. Env LIGHTHOUSE_ADVERTISE_HOST /
 * LIGHTHOUSE_ADVERTISE_IP win over it; without either, the FQDN and its address are used. */
export const nodeSchema = z.strictObject({
  /** an RFC 1123 host name or an IP address (writers refuse znodes with anything else) */
  host: address(true).optional(),
  /** an IP address, not 0.0.0.0 / :: (writers refuse znodes with anything else) */
  ip: address(false).optional(),
  /** the peer port written into `peer` (HAProxy peers); default 1024 as in Lighthouse */
  peer_port: port.default(1024),
  /** actions: the kinds of platform this node is, in order of preference (OpenFlight's ranks):
   * an action runs the variant RANK.sh of the first rank that has one, else default.sh.
   * default none */
  ranks: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'expected a rank: letters, digits, _ -')).optional(),
  /** actions: free key/values (OpenFlight's node entries), given to action scripts as
   * environment variables and published in the node inventory (readable by whoever can read
   * ZooKeeper: no secrets). Values are strings, numbers or booleans. default none */
  metadata: z.record(z.string().min(1).max(128), z.union([z.string().max(4096).regex(/^[^\0]*$/, 'a NUL character cannot go into an environment variable'), z.number(), z.boolean()])).optional(),
});
export type NodeConfig = z.infer<typeof nodeSchema>;

/** a role name (users.yaml, services' and clusters' `roles:`) */
export const roleName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a role name (letters, digits, . _ -)');
const roles = z.array(roleName).default([]);

/** clusters/NAME.yaml: a cluster this node consumes. */
export interface ClusterConfig {
  name: string;
  /** required: name of a discovery/*.yaml */
  discovery: string;
  /** optional: the meta cluster (ACL-routed shared frontend) this cluster belongs to */
  meta_cluster?: string;
  /** each balancer's section, keyed by balancer name (e.g. haproxy), validated by the plugin */
  balancers: Record<string, unknown>;
  /** set by the config store: the file it comes from, relative to the config dir (messages) */
  file?: string;
  /** who sees it in the status API (users.yaml); admin sees everything */
  roles?: string[];
}

const clusterBase = z.strictObject({
  name: z.string().min(1).optional(),
  discovery: z.string().min(1),
  meta_cluster: z.string().min(1).optional(),
  /** optional roles that may see this cluster in the writer's status API and dashboard
   * (users.yaml); default none: only `admin` sees it */
  roles: roles,
});

/** Validation result: `issues` reject the file, `warnings` (from the balancer plugins) do not. */
export function validateCluster(raw: unknown, fileName: string, registry: Registry): { data?: ClusterConfig; issues: Issue[]; warnings?: Issue[] } {
  if (!isObject(raw)) return { issues: [{ path: [], message: 'expected a mapping' }] };
  const base: Record<string, unknown> = {};
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const balancers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const plugin = registry.balancers.get(k);
    if (!plugin) {
      base[k] = v;
      continue;
    }
    const r = check(plugin.clusterSchema, v, [k]);
    issues.push(...r.issues);
    balancers[k] = r.data;
    if (r.data !== undefined) warnings.push(...(plugin.warnings?.cluster?.(r.data) ?? []).map((w) => ({ ...w, path: [k, ...w.path] })));
  }
  const b = check(clusterBase, base);
  issues.push(...b.issues.map((i) => (i.key ? { ...i, message: `${i.message} (not a cluster key, nor a balancer: ${[...registry.balancers.keys()].join(', ')})` } : i)));
  if (issues.length || !b.data) return { issues };
  return { data: { name: b.data.name ?? fileName, discovery: b.data.discovery, meta_cluster: b.data.meta_cluster, balancers, ...(b.data.roles.length && { roles: b.data.roles }) }, issues, warnings };
}

/** services/NAME.yaml: a service this node provides. */
export interface CheckConfig {
  name: string; // plugin name
  rise: number;
  fall: number;
  timeoutMs: number;
  options: unknown; // validated by the plugin's schema
}
export interface ServiceConfig {
  name: string;
  ports: number[];
  host: string;
  discovery: string;
  intervalMs: number;
  checks: CheckConfig[];
  metadata: Record<string, unknown>;
  weight?: number;
  flap: { maxChanges: number; windowMs: number };
  /** who sees it in the status API (users.yaml); admin sees everything */
  roles?: string[];
}

const serviceBase = z
  .strictObject({
    /** default: the file name without extension */
    name: z.string().min(1).optional(),
    /** `port` or `ports` (exactly one): where the service listens */
    port: port.optional(),
    ports: z.array(port).min(1).optional(),
    /** where checks connect; default 127.0.0.1 */
    host: z.string().min(1).default('127.0.0.1'),
    /** required: name of a discovery/*.yaml to publish to */
    discovery: z.string().min(1),
    /** required; `interval` + one entry per check, see below */
    checks: z.record(z.string(), z.unknown()),
    /** optional mapping sent along with the node (JSON string `metadata` in the znode) */
    metadata: z.record(z.string(), z.unknown()).default({}),
    /** optional HAProxy weight 0-256 published with the node (extra znode key `weight`) */
    weight: z.number().int().min(0).max(256).optional(),
    /** optional roles that may see this service in the status API and dashboard (users.yaml);
     * default none: only `admin` sees it */
    roles: roles,
    /** flap damping: at most `max_changes` state changes of one instance per `window` seconds;
     * past that, the instance is held down until it is stable (down is always immediate).
     * default 6 per 60 s */
    flap_damping: z
      .strictObject({ max_changes: z.number().int().min(1).default(6), window: seconds.default(60) })
      .default({ max_changes: 6, window: 60 }),
  })
  .refine((s) => (s.port === undefined) !== (s.ports === undefined), {
    message: 'exactly one of `port` or `ports` is required',
  });

const checksBase = z.strictObject({
  /** required: seconds between two probes of each check */
  interval: seconds,
  /** optional default timeout (seconds) for every check of the service; default 80% of the interval */
  timeout: seconds.optional(),
});
/** keys every check has; the rest belongs to the plugin */
const checkCommon = z.looseObject({
  /** consecutive passes before up; default 1 (Lighthouse requires it; we default it) */
  rise: z.number().int().min(1).default(1),
  /** consecutive failures before down; default 1 */
  fall: z.number().int().min(1).default(1),
  /** seconds; default the service's `checks.timeout`, else 80% of the interval */
  timeout: seconds.optional(),
});

export function validateService(raw: unknown, fileName: string, registry: Registry): { data?: ServiceConfig; issues: Issue[] } {
  const b = check(serviceBase, raw);
  if (!b.data) return b as { issues: Issue[] };
  const s = b.data;
  const issues: Issue[] = [];
  const { interval, timeout, ...named } = s.checks as Record<string, unknown>;
  const base = check(checksBase, { interval, timeout }, ['checks']);
  issues.push(...base.issues);
  const intervalMs = (base.data?.interval ?? 1) * 1000;
  const checks: CheckConfig[] = [];
  if (Object.keys(named).length === 0) issues.push({ path: ['checks'], message: 'at least one check is required' });
  for (const [name, body] of Object.entries(named)) {
    const plugin = registry.checks.get(name);
    if (!plugin) {
      issues.push({ path: ['checks'], key: name, message: `unknown check '${name}' (known: ${[...registry.checks.keys()].join(', ')})` });
      continue;
    }
    const common = check(checkCommon, body ?? {}, ['checks', name]);
    if (!common.data) {
      issues.push(...common.issues);
      continue;
    }
    const { rise, fall, timeout: t, ...own } = common.data;
    const opts = check(plugin.schema, own, ['checks', name]);
    issues.push(...opts.issues);
    const timeoutMs = (t ?? base.data?.timeout ?? (intervalMs * 0.8) / 1000) * 1000;
    if (timeoutMs > intervalMs) issues.push({ path: ['checks', name, 'timeout'], message: `must not exceed checks.interval (${intervalMs / 1000} s)` });
    checks.push({ name, rise, fall, timeoutMs, options: opts.data });
  }
  if (issues.length) return { issues };
  return {
    data: {
      name: s.name ?? fileName,
      ports: s.ports ?? [s.port!],
      host: s.host,
      discovery: s.discovery,
      intervalMs,
      checks,
      metadata: s.metadata,
      weight: s.weight,
      flap: { maxChanges: s.flap_damping.max_changes, windowMs: s.flap_damping.window * 1000 },
      ...(s.roles.length && { roles: s.roles }),
    },
    issues: [],
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
