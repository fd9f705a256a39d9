/**
 * CONFIG_DIR/http.yaml: each daemon's HTTP server. Top-level keys apply to the daemon reading
 * the file; a `reporter:` or `writer:` section overrides them for that daemon. The writer takes
 * `port`, `socket` and `socket_mode` from its `writer:` section only (else its defaults), so a
 * config dir both daemons read never gives them the same port or socket.
 *
 *   port: 10101                  # TCP port; default 10101 (reporter, Plight's) / 10102 (writer);
 *                                # false: no TCP listener
 *   bind_address: 0.0.0.0        # default every interface (IPv4 and IPv6), so external load
 *                                # balancers and monitors can poll
 *   socket: /run/lighthouse/reporter.sock   # local Unix socket for lighthousectl; false: none;
 *                                # default /run/lighthouse/DAEMON.sock
 *   socket_mode: "0660"          # its file mode: who may connect is who may change the state
 *   token_file: /etc/lighthouse/http.token  # bearer token(s) for changes over TCP; none: no
 *                                # remote changes
 *   probes_auth: false           # true: /health, /ready and /metrics need credentials too
 *                                # (users.yaml or token_file); default false
 *   tls_cert: /etc/lighthouse/tls/node.crt  # PEM certificate (chain) and key: the TCP listener
 *   tls_key: /etc/lighthouse/tls/node.key   # speaks HTTPS instead of HTTP (both or neither);
 *                                # renewed files are picked up within a minute
 *
 * Paths may be relative to the config dir.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';

const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** "0660" or 660 (YAML reads 0660 as the decimal 660: its digits are taken as octal) -> 0o660 */
const fileMode = z.union([z.string(), z.number().int()]).transform((v, ctx) => {
  const digits = String(v).replace(/^0o?/, '');
  if (!/^[0-7]{3}$/.test(digits)) {
    ctx.addIssue({ code: 'custom', message: 'expected an octal file mode such as "0660"' });
    return z.NEVER;
  }
  return parseInt(digits, 8);
});

const listener = {
  port: z.union([z.number().int().min(1).max(65535), z.literal(false)]).optional(),
  bind_address: z
    .string()
    .refine((s) => isIP(s) !== 0 || hostname.test(s), 'expected an IP address or a host name')
    .optional(),
  socket: z.union([z.string().min(1).regex(/^[^\0]*$/), z.literal(false)]).optional(),
  socket_mode: fileMode.optional(),
  token_file: z.string().min(1).optional(),
  probes_auth: z.boolean().optional(),
  tls_cert: z.string().min(1).optional(),
  tls_key: z.string().min(1).optional(),
};

const bothOrNeither = (c: { tls_cert?: string; tls_key?: string }) => (c.tls_cert === undefined) === (c.tls_key === undefined);
const tlsPair = { message: 'tls_cert and tls_key go together (both or neither)', path: ['tls_key'] };

export const httpSchema = z
  .strictObject({
    ...listener,
    reporter: z.strictObject(listener).refine(bothOrNeither, tlsPair).optional(),
    writer: z.strictObject(listener).refine(bothOrNeither, tlsPair).optional(),
  })
  .refine(bothOrNeither, tlsPair);
export type HttpConfig = z.output<typeof httpSchema>;

export type DaemonName = 'reporter' | 'writer';

/** What one daemon's server uses: every default filled, paths absolute. */
export interface HttpSettings {
  /** null: no TCP listener */
  port: number | null;
  /** undefined: every interface */
  bindAddress?: string;
  /** null: no Unix socket */
  socket: string | null;
  socketMode: number;
  tokenFile?: string;
  /** /health, /ready, /metrics need credentials */
  probesAuth: boolean;
  /** absent: plain HTTP on the TCP listener */
  tls?: { cert: string; key: string };
}

export const DEFAULT_PORTS: Record<DaemonName, number> = { reporter: 10101, writer: 10102 };

export function httpSettings(config: HttpConfig | undefined, daemon: DaemonName, configDir: string): HttpSettings {
  // a config dir whose top-level port and socket were written for the reporter keeps them for
  // the reporter; the writer takes its own (its `writer:` section, else its defaults)
  const top = daemon === 'writer' ? { ...config, port: undefined, socket: undefined, socket_mode: undefined } : config;
  const c = { ...top, ...config?.[daemon] };
  const port = c.port === false ? null : (c.port ?? DEFAULT_PORTS[daemon]);
  const socket = c.socket === false ? null : resolve(configDir, c.socket ?? `/run/lighthouse/${daemon}.sock`);
  return {
    port,
    ...(c.bind_address !== undefined && { bindAddress: c.bind_address }),
    socket,
    socketMode: c.socket_mode ?? 0o660,
    probesAuth: c.probes_auth ?? false,
    ...(c.token_file !== undefined && { tokenFile: resolve(configDir, c.token_file) }),
    ...(c.tls_cert !== undefined && c.tls_key !== undefined && { tls: { cert: resolve(configDir, c.tls_cert), key: resolve(configDir, c.tls_key) } }),
  };
}
