/**
 * Config schemas of the HAProxy balancer: `balancers/haproxy.yaml` (`haproxySchema`) and the
 * `haproxy:` section of `clusters/NAME.yaml` (`haproxyClusterSchema`). Keys and meanings follow
 * the Python Lighthouse (config_file, socket_file, pid_file, global, defaults, bind_address,
 * stats, proxies, meta_clusters, meta_cluster_ports); the rest is ours and marked as such.
 * Unknown keys are errors. Relative paths are resolved against the config directory.
 *
 * Directive lines are checked against HAProxy's keyword table per section (directives.ts), as
 * the Python Lighthouse did: a keyword HAProxy would refuse there fails validation naming the
 * line (`clusters/web.yaml:7:7 haproxy.backend.1: 'daemon' is not valid in a backend section`);
 * one HAProxy would accept and ignore (`maxconn` in a backend) passes and is reported by
 * `haproxyConfigWarnings` / `haproxyClusterWarnings`, logged with its position.
 */
import { z } from 'zod';
import { dirname, join } from 'node:path';
import type { Issue } from '../../../config/yaml.js';
import { isToken } from '../../../core/address.js';
import { address, bindAddress, word } from '../../../config/values.js';
import { directiveIssues, type Section } from './directives.js';

const port = z.number().int().min(1).max(65535);
/** one HAProxy directive line: no line breaks (a newline would smuggle in a second directive) */
const line = z.string().regex(/^[^\r\n]*$/, 'must be a single line');
const lines = z.array(line);
/** directive lines of one HAProxy section: lines HAProxy would refuse there are errors */
const directives = (section: Section) =>
  lines.superRefine((ls, ctx) => {
    for (const i of directiveIssues(section, ls, [])) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  });
/** HAProxy time: a number is milliseconds, a string carries its unit ("4s", "1m") */
const duration = z.union([z.number().int().min(0), z.string().regex(/^\d+(us|ms|s|m|h|d)?$/, 'expected a time such as 4000, "4s" or "1m"')]);
const path = z.string().min(1);
/** a path HAProxy's config names (`stats socket PATH`): one word, as a line takes it */
const linePath = word;

/** stats: HAProxy's stats page, as a `listen stats` section (optional). */
const statsSchema = z.strictObject({
  /** required: port of the stats page, bound on `bind_address` */
  port,
  /** path of the page; default "/" (Lighthouse) */
  uri: word.pipe(z.string().startsWith('/')).default('/'),
  /** optional `timeout connect|client|server` of the stats section; numbers are ms */
  timeouts: z
    .strictObject({ connect: duration.optional(), client: duration.optional(), server: duration.optional() })
    .default({}),
});

/** proxies.NAME: a plain TCP/HTTP proxy to fixed upstreams, as a `listen NAME` section. */
const proxySchema = z.strictObject({
  /** required: local port */
  port,
  /** required, at least one: balanced round robin */
  upstreams: z
    .array(
      z.strictObject({
        /** an IP address or a host name (not 0.0.0.0 / ::) */
        host: address(true),
        port,
        /** optional `maxconn` of this upstream */
        max_conn: z.number().int().min(1).optional(),
      }),
    )
    .min(1),
  /** extra directive lines of the `listen` section; default none */
  options: directives('listen').default([]),
  /** address to bind (an IP address or a host name); default the top-level `bind_address` */
  bind_address: bindAddress.optional(),
});

/** meta_clusters.NAME: the shared frontend of ACL-routed member clusters. */
const metaClusterSchema = z.strictObject({
  /** the meta cluster's port; required here or in `meta_cluster_ports` */
  port: port.optional(),
  /** extra frontend lines (e.g. "mode http", needed by path_beg ACLs); default none */
  frontend: directives('frontend').default([]),
});

export const haproxySchema = z
  .strictObject({
    /** required: the HAProxy config file Lighthouse generates (and HAProxy is started with) */
    config_file: path,
    /** required: the admin runtime socket (rendered as `stats socket ... level admin`) */
    socket_file: linePath,
    /** HAProxy's pid file (the master's pid in master-worker mode); default
     * `<config_file dir>/haproxy.pid`. The Python Lighthouse documents it as required, yet its own
     * example configs/haproxy.yaml has none: optional, so that file works unchanged. */
    pid_file: path.optional(),
    /** ours: master CLI socket (`-S`); default `<config_file dir>/haproxy-master.sock` */
    master_socket: path.optional(),
    /** ours: where server state is saved before each reload; default `<config_file dir>/haproxy-server-state` */
    server_state_file: linePath.optional(),
    /** ours: this node's HAProxy peer name (`haproxy -L`), which must equal the `peer` name the
     * reporter here publishes. Default: as the reporter derives it (env
     * LIGHTHOUSE_ADVERTISE_HOST, node.yaml `host`, the FQDN); see local-peer.ts. */
    peer_name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'expected a peer name (letters, digits, _ . : -)').optional(),
    /** ours: the HAProxy binary; default "haproxy" (looked up in PATH) */
    haproxy_bin: z.string().min(1).default('haproxy'),
    /** ours: directory whose `haproxy.cfg.hbs` and `partials/*.hbs` override the shipped
     * templates (repo `templates/`) file by file; default none */
    template_dir: path.optional(),
    /** directive lines of `global`; default none. Lighthouse adds the admin socket and
     * server-state-file lines itself. */
    global: directives('global').default([]),
    /** directive lines of `defaults`; default three timeouts (connect 5s, client/server 1m) so
     * an empty config does not run with infinite timeouts. Lighthouse adds
     * `load-server-state-from-file global`. */
    defaults: directives('defaults').default(['timeout connect 5s', 'timeout client 1m', 'timeout server 1m']),
    /** address the frontends, the stats page and the proxies bind to. Unset (the default):
     * cluster and meta-cluster frontends bind 127.0.0.1 (they serve this node's applications;
     * the Python Lighthouse documented "localhost", which HAProxy may resolve to ::1 only),
     * while the stats page and `proxies` bind every interface, as the Python Lighthouse's
     * `bind :PORT` did: those two exist to be reached from other machines (an operator, the
     * consumers of a partner proxy). Set, it applies to all of them ("0.0.0.0" to serve other
     * machines everywhere, "localhost" for the documented behaviour). */
    bind_address: bindAddress.optional(),
    /** seconds: minimum time between two reloads; reload requests in between are coalesced
     * into one. Default 2. */
    restart_interval: z.number().min(0).default(2),
    /** ours: free `server-template` slots rendered in every backend beyond its current servers,
     * so new nodes join through the runtime API without a reload: max(min, ceil(servers x ratio)),
     * at most 4095 servers per backend in all. A reload happens only when a backend runs out.
     * Default min 16, ratio 0.5. */
    slots: z
      .strictObject({ min: z.number().int().min(0).max(4095).default(16), ratio: z.number().min(0).max(10).default(0.5) })
      .default({ min: 16, ratio: 0.5 }),
    /** ours: seconds between liveness checks of the HAProxy master (a dead HAProxy is started
     * again from the full current config); 0 = check only when applying. Default 1. */
    liveness_interval: z.number().min(0).default(1),
    /** optional stats page */
    stats: statsSchema.optional(),
    /** optional fixed proxies, by name */
    proxies: z.record(z.string().regex(/^[A-Za-z0-9_.:-]+$/), proxySchema).default({}),
    /** optional meta clusters (shared ACL-routed frontends), by name */
    meta_clusters: z.record(z.string().min(1), metaClusterSchema).default({}),
    /** older form of `meta_clusters.NAME.port`: meta cluster name -> port */
    meta_cluster_ports: z.record(z.string().min(1), port).default({}),
  })
  .transform((c, ctx) => {
    const dir = dirname(c.config_file);
    const serverStateFile = c.server_state_file ?? join(dir, 'haproxy-server-state');
    // the default is a line of haproxy.cfg too
    if (!isToken(serverStateFile)) ctx.addIssue({ code: 'custom', path: ['config_file'], message: "its directory is where server_state_file defaults to, a word of haproxy.cfg: no whitespace, ';', '#' or control characters (or set server_state_file)" });
    return {
      ...c,
      pid_file: c.pid_file ?? join(dir, 'haproxy.pid'),
      master_socket: c.master_socket ?? join(dir, 'haproxy-master.sock'),
      server_state_file: serverStateFile,
    };
  });

export type HaproxyConfig = z.output<typeof haproxySchema>;

/** The `haproxy:` section of clusters/NAME.yaml. */
export const haproxyClusterSchema = z.strictObject({
  /** local port of the cluster's frontend; not needed for members of a meta cluster */
  port: port.optional(),
  /** ACL condition routing a meta cluster's traffic here (e.g. "path_beg /api/widgets") */
  acl: line.optional(),
  /** extra lines of the cluster's frontend; default none */
  frontend: directives('frontend').default([]),
  /** extra lines of the cluster's backend (e.g. "mode http", "balance leastconn"); default none.
   * A `mode http` here also gives every server a `cookie NAME` (as the Python Lighthouse did), so
   * a `cookie SERVERID insert ...` line is all cookie persistence needs. */
  backend: directives('backend').default([]),
  /** extra keywords of every server line (e.g. "check inter 2s slowstart 10s"); a string or a
   * list of strings (joined by spaces); default none */
  server_options: z
    .union([line, lines])
    .default([])
    .transform((v) => (Array.isArray(v) ? v : [v]).join(' ').trim())
    // they also go into runtime commands (`add server`), where a `;` starts another one
    .pipe(z.string().regex(/^[^;#\x00-\x1f\x7f]*$/, "must not contain ';', '#' or control characters")),
});

export type HaproxyClusterConfig = z.output<typeof haproxyClusterSchema>;

/** Lines HAProxy would accept but ignore (a warning, not an error): of balancers/haproxy.yaml. */
export function haproxyConfigWarnings(c: HaproxyConfig): Issue[] {
  const warn = (section: Section, ls: readonly string[], path: Issue['path']) => directiveIssues(section, ls, path, { severity: 'warning' });
  return [
    ...warn('global', c.global, ['global']),
    ...warn('defaults', c.defaults, ['defaults']),
    ...Object.entries(c.meta_clusters).flatMap(([name, m]) => warn('frontend', m.frontend, ['meta_clusters', name, 'frontend'])),
    ...Object.entries(c.proxies).flatMap(([name, p]) => warn('listen', p.options, ['proxies', name, 'options'])),
  ];
}

/** Lines HAProxy would accept but ignore: of a cluster's `haproxy:` section (paths inside it). */
export function haproxyClusterWarnings(c: HaproxyClusterConfig): Issue[] {
  return [...directiveIssues('frontend', c.frontend, ['frontend'], { severity: 'warning' }), ...directiveIssues('backend', c.backend, ['backend'], { severity: 'warning' })];
}
