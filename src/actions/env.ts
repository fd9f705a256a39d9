/**
 * The environment an action script runs with: the node's metadata as variables of the same name
 * and case (OpenFlight passes node metadata as bash variables), plus `name` (the node) and
 * `ranks` (space-separated), a fixed PATH, LIGHTHOUSE_ACTION, and from the reporter's own
 * environment only who and where it runs (HOME, USER, LOGNAME, LANG, LC_ALL, TZ): whatever
 * else the daemon was given (credentials) stays out. Values are data: they go into the process environment as they are
 * and never into a command line (scripts are spawned with an argv, no shell between).
 */

/** what a variable name may be: anything else in a metadata key becomes `_` */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const INHERITED = ['HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ'];

/** Names metadata never sets: they change how the shell or the loader runs the script itself,
 * not what it works on. */
const RESERVED = new Set([...INHERITED, 'name', 'ranks', 'PATH', 'IFS', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'CDPATH', 'GLOBIGNORE', 'LIGHTHOUSE_ACTION']);
const RESERVED_PREFIX = /^(LD_|BASH_FUNC_)/;

/** `ec2-id` -> `ec2_id`, `1st` -> `_1st` */
export function sanitiseEnvName(key: string): string {
  const s = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export interface ScriptEnv {
  env: Record<string, string>;
  /** metadata keys left out, with why (logged once per config change) */
  skipped: { key: string; why: string }[];
}

export function scriptEnv(
  node: { name: string; ranks: readonly string[]; metadata: Readonly<Record<string, unknown>> },
  action: string,
  daemonEnv: NodeJS.ProcessEnv = process.env,
): ScriptEnv {
  const env: Record<string, string> = {};
  for (const k of INHERITED) if (daemonEnv[k] !== undefined) env[k] = daemonEnv[k];
  const skipped: ScriptEnv['skipped'] = [];
  const from = new Map<string, string>();
  for (const key of Object.keys(node.metadata).sort()) {
    const name = sanitiseEnvName(key);
    if (RESERVED.has(name) || RESERVED_PREFIX.test(name)) {
      skipped.push({ key, why: `${name} is set by Lighthouse or changes how scripts run` });
      continue;
    }
    const earlier = from.get(name);
    if (earlier !== undefined) {
      skipped.push({ key, why: `becomes ${name}, as ${JSON.stringify(earlier)} does` });
      continue;
    }
    from.set(name, key);
    env[name] = String(node.metadata[key]);
  }
  return { env: { ...env, PATH, LIGHTHOUSE_ACTION: action, name: node.name, ranks: node.ranks.join(' ') }, skipped };
}
