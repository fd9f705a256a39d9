/**
 * Which file in a config dir is what. The layout is the Python Lighthouse's, so existing
 * config dirs work unchanged; `.yaml` and `.yml` both count; dotfiles and editor temp files
 * (`.web.yaml.swp`, `web.yaml~`, `.#web.yaml`, `4913`) never match. Actions live one level
 * deeper: `actions/NAME/metadata.yaml` beside its scripts, and `actions/revoked.yaml`.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { ConfigError } from '../core/errors.js';

export type FileKind = 'logging' | 'plugins' | 'node' | 'notify' | 'availability' | 'http' | 'users' | 'balancer' | 'discovery' | 'cluster' | 'service' | 'action' | 'revoked';

export interface FileRole {
  kind: FileKind;
  /** the entry's name: the file name without extension (a balancer/discovery plugin name,
   * a cluster or service name unless the file sets `name:`; an action's directory name) */
  name: string;
}

const SUBDIRS: Record<string, FileKind> = {
  balancers: 'balancer',
  discovery: 'discovery',
  clusters: 'cluster',
  services: 'service',
};
const ROOT: Record<string, FileKind> = { logging: 'logging', plugins: 'plugins', node: 'node', notify: 'notify', availability: 'availability', http: 'http', users: 'users' };
export const ACTIONS_DIR = 'actions';
const YAML_FILE = /^([^.~#][^~#]*)\.ya?ml$/;

/** `rel` is relative to the config dir. */
export function roleOf(rel: string): FileRole | undefined {
  const file = basename(rel);
  const m = YAML_FILE.exec(file);
  if (!m) return undefined;
  const name = m[1];
  const dir = dirname(rel);
  if (dir === '.') {
    if (ROOT[name]) return { kind: ROOT[name], name };
    // the older place of the HAProxy balancer config (Lighthouse < 1.0)
    if (name === 'haproxy') return { kind: 'balancer', name };
    return undefined;
  }
  const parts = dir.split(/[\\/]/);
  if (parts[0] === ACTIONS_DIR) {
    if (parts.length === 1 && name === 'revoked') return { kind: 'revoked', name };
    if (parts.length === 2 && name === 'metadata' && isPlainName(parts[1])) return { kind: 'action', name: parts[1] };
    return undefined;
  }
  if (dir.includes(sep) || dir.includes('/')) return undefined;
  const kind = SUBDIRS[dir];
  return kind ? { kind, name } : undefined;
}

/** The config files a change at `rel` concerns: itself, or for anything in an action's
 * directory (a script added, edited, chmod-ed) that action's metadata file. */
export function filesAffectedBy(rel: string): string[] {
  const parts = rel.split(/[\\/]/);
  if (parts[0] === ACTIONS_DIR && parts.length === 3 && isPlainName(parts[1]) && !roleOf(rel)) {
    return [`${ACTIONS_DIR}/${parts[1]}/metadata.yaml`, `${ACTIONS_DIR}/${parts[1]}/metadata.yml`];
  }
  return [rel];
}

/** Whether the store watches `rel` (a file or a directory). */
export function isWatched(rel: string): boolean {
  if (rel === '' || WATCHED_SUBDIRS.includes(rel) || roleOf(rel)) return true;
  const parts = rel.split(/[\\/]/);
  return parts[0] === ACTIONS_DIR && parts.length <= 3 && parts.slice(1).every(isPlainName);
}

/** not a dotfile nor an editor's temp file */
function isPlainName(s: string): boolean {
  return /^[^.~#][^~#]*$/.test(s) && s !== '4913';
}

const WATCHED_SUBDIRS = [...Object.keys(SUBDIRS), ACTIONS_DIR];

/** Every config file in the dir (relative paths, sorted): the root, the known subdirs and
 * each action's directory. A missing, unreadable or non-directory `dir` is a ConfigError. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new ConfigError([{ file: dir, path: [], message: 'config directory does not exist' }]);
    if (err.code === 'ENOTDIR') throw new ConfigError([{ file: dir, path: [], message: 'is a file, not a config directory (give the directory that holds clusters/, services/, ...)' }]);
    if (err.code === 'EACCES') throw new ConfigError([{ file: dir, path: [], message: 'config directory cannot be read (permission denied)' }]);
    throw err;
  });
  for (const e of entries) {
    if (e.isFile() && roleOf(e.name)) out.push(e.name);
    if (e.isDirectory() && WATCHED_SUBDIRS.includes(e.name)) {
      for (const f of await readdir(join(dir, e.name), { withFileTypes: true })) {
        const rel = join(e.name, f.name);
        if (f.isFile() && roleOf(rel)) out.push(rel);
        if (f.isDirectory() && e.name === ACTIONS_DIR) {
          for (const g of await readdir(join(dir, rel), { withFileTypes: true })) if (g.isFile() && roleOf(join(rel, g.name))) out.push(join(rel, g.name));
        }
      }
    }
  }
  return out.sort();
}
