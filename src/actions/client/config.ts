/**
 * lighthousectl's client config for actions: ~/.config/lighthouse/client.yaml ($XDG_CONFIG_HOME
 * is honoured), or the file named by env LIGHTHOUSE_CLIENT_CONFIG. OpenFlight's client config
 * names one server; here the nodes are found in ZooKeeper, so the file says where:
 *
 *   zookeeper:
 *     hosts: ["zk1:2181", "zk2:2181"]   # or "zk1:2181,zk2:2181"
 *     path: /lighthouse                 # clusters (for --cluster), as in discovery/zookeeper.yaml
 *     nodes_path: /lighthouse/nodes     # the node inventory; this is the default
 *   token_file: ~/.config/lighthouse/token   # or `token: eyJ...`; env LIGHTHOUSE_TOKEN wins
 *   verify_tls: true                    # default true; false accepts any certificate (as
 *                                       # OpenFlight's verify_ssl: false)
 *   ca_file: /etc/lighthouse/ca.pem     # optional: trust this CA (a private one) for nodes' HTTPS
 *   timeout: 30                         # seconds to wait for a node to answer (not for a run
 *                                       # to end: a run lasts up to its action's timeout)
 *
 * Relative paths (and ~) are taken from the file's directory (and the home directory).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, LighthouseError } from '../../core/errors.js';
import { check, issuesToProblems, parseYaml } from '../../config/yaml.js';
import { DEFAULT_NODES_PATH } from '../../discovery/zookeeper/inventory.js';
import { zookeeperSchema } from '../../discovery/zookeeper/index.js';

const zk = zookeeperSchema.shape;

export const clientConfigSchema = z.strictObject({
  zookeeper: z.strictObject({
    hosts: zk.hosts,
    path: zk.path.optional(),
    nodes_path: zk.path.default(DEFAULT_NODES_PATH),
    session_timeout: z.number().int().min(1000).default(10_000),
  }),
  token: z.string().min(1).optional(),
  token_file: z.string().min(1).optional(),
  verify_tls: z.boolean().default(true),
  ca_file: z.string().min(1).optional(),
  timeout: z.number().positive().max(3600).default(30),
});

export interface ClientConfig {
  file: string;
  zookeeper: { hosts: string[]; path?: string; nodesPath: string; sessionTimeout: number };
  /** where the token comes from: env, the file's `token`, or `token_file` (read when needed) */
  tokenSource: { env: string } | { inline: string } | { file: string } | null;
  verifyTls: boolean;
  caFile?: string;
  timeoutMs: number;
}

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIGHTHOUSE_CLIENT_CONFIG) return resolve(env.LIGHTHOUSE_CLIENT_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'lighthouse', 'client.yaml');
}

export async function loadClientConfig(env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const file = clientConfigPath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([{ file, path: [], message: code === 'ENOENT' ? 'no client config here: write one (zookeeper: {hosts, path}, token_file; see docs/ACTIONS.md) or set LIGHTHOUSE_CLIENT_CONFIG' : `cannot read (${code})` }]);
  }
  const parsed = parseYaml(text, file);
  const r = check(clientConfigSchema, parsed.value);
  if (!r.data) throw new ConfigError(issuesToProblems(parsed, r.issues));
  const c = r.data;
  if (c.token && c.token_file) throw new ConfigError([{ file, path: ['token_file'], message: 'give `token` or `token_file`, not both' }]);
  const here = (p: string) => resolve(dirname(file), p.replace(/^~(?=$|\/)/, homedir()));
  const tokenSource = env.LIGHTHOUSE_TOKEN ? { env: env.LIGHTHOUSE_TOKEN.trim() } : c.token ? { inline: c.token } : c.token_file ? { file: here(c.token_file) } : null;
  return {
    file,
    zookeeper: { hosts: c.zookeeper.hosts, ...(c.zookeeper.path && { path: c.zookeeper.path }), nodesPath: c.zookeeper.nodes_path, sessionTimeout: c.zookeeper.session_timeout },
    tokenSource,
    verifyTls: c.verify_tls,
    ...(c.ca_file && { caFile: here(c.ca_file) }),
    timeoutMs: c.timeout * 1000,
  };
}

/** The token to send; its value never goes into a message. */
export async function readToken(c: ClientConfig): Promise<string> {
  const s = c.tokenSource;
  if (!s) throw new LighthouseError('LH_ERR_TOKEN', `no action token: set LIGHTHOUSE_TOKEN, or token / token_file in ${c.file}`);
  if ('env' in s) return s.env;
  if ('inline' in s) return s.inline.trim();
  try {
    const lines = (await readFile(s.file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    // `token generate` prints the token on its last line: a saved output works as it is
    const token = lines.at(-1);
    if (!token) throw new Error('empty');
    return token;
  } catch (err) {
    throw new LighthouseError('LH_ERR_TOKEN', `cannot read the token file ${s.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
