/**
 * Which file in a config dir is what. The layout is the Python Lighthouse's, so existing
 * config dirs work unchanged; `.yaml` and `.yml` both count; dotfiles and editor temp files
 * (`.web.yaml.swp`, `web.yaml~`, `.#web.yaml`, `4913`) never match.
 */
import { basename, dirname, sep } from 'node:path';

export type FileKind = 'logging' | 'plugins' | 'node' | 'notify' | 'balancer' | 'discovery' | 'cluster' | 'service';

export interface FileRole {
  kind: FileKind;
  /** the entry's name: the file name without extension (a balancer/discovery plugin name,
   * a cluster or service name unless the file sets `name:`) */
  name: string;
}

const SUBDIRS: Record<string, FileKind> = {
  balancers: 'balancer',
  discovery: 'discovery',
  clusters: 'cluster',
  services: 'service',
};
const ROOT: Record<string, FileKind> = { logging: 'logging', plugins: 'plugins', node: 'node', notify: 'notify' };

/** `rel` is relative to the config dir. */
export function roleOf(rel: string): FileRole | undefined {
  const file = basename(rel);
  const m = /^([^.~#][^~#]*)\.ya?ml$/.exec(file);
  if (!m) return undefined;
  const name = m[1];
  const dir = dirname(rel);
  if (dir === '.') {
    if (ROOT[name]) return { kind: ROOT[name], name };
    // the older place of the HAProxy balancer config (Lighthouse < 1.0)
    if (name === 'haproxy') return { kind: 'balancer', name };
    return undefined;
  }
  if (dir.includes(sep) || dir.includes('/')) return undefined;
  const kind = SUBDIRS[dir];
  return kind ? { kind, name } : undefined;
}

export const WATCHED_SUBDIRS = Object.keys(SUBDIRS);
