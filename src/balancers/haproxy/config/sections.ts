/**
 * Pure: an HAProxy config text read back as sections (`global`, `defaults`, `frontend web`,
 * `backend web`, `peers web`, `listen stats`, ...), each with its line numbers and lines.
 *
 * Why read our own output back: after a reboot, or a restart of the writer, while ZooKeeper is
 * away, the config file on disk (and the HAProxy running it) is the only record of what each
 * cluster served, and it must go on being served (recover.ts). And HAProxy names the line it
 * rejects (`parsing [haproxy.cfg:42]`): the section holding that line names the cluster at
 * fault (isolate.ts).
 *
 * A section starts at a line that begins with a keyword in column 0 (the shipped templates,
 * like HAProxy's own documentation, indent everything else); comments and blank lines belong
 * to no one.
 */
import { isIP } from 'node:net';

export interface Section {
  /** the keyword: global, defaults, frontend, backend, listen, peers, ... */
  kind: string;
  /** its name ('' when it has none) */
  name: string;
  /** 1-based line numbers of its header and its last line */
  from: number;
  to: number;
  /** the lines after the header, trimmed; comments and blank lines dropped */
  body: string[];
}

export function parseSections(text: string): Section[] {
  const sections: Section[] = [];
  const lines = text.split('\n');
  let cur: Section | null = null;
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const t = line.trim();
    if (!t || t.startsWith('#')) return;
    if (!/^\s/.test(line)) {
      const [kind, name = ''] = t.split(/\s+/);
      cur = { kind, name, from: i + 1, to: i + 1, body: [] };
      sections.push(cur);
      return;
    }
    if (cur) {
      cur.body.push(t);
      cur.to = i + 1;
    }
  });
  return sections;
}

/** The section holding line `line` (1-based), or undefined (before the first one). */
export function sectionAt(sections: readonly Section[], line: number): Section | undefined {
  return sections.findLast((s) => s.from <= line);
}

/** A `bind` address as the probe needs it: host ('' = every IPv4 address) and port. */
export interface BindAddress {
  host: string;
  port: number;
}

/** An address of a `bind` line as host and port, when it is a plain `ADDR:PORT` (`:80`,
 * `*:80`, `127.0.0.1:80`, `[::1]:80`, `ipv4@` / `ipv6@` in front); null for anything else
 * (port ranges, `unix@`, `fd@`, host names, ...), which only HAProxy itself can try. */
export function bindAddress(arg: string): BindAddress | null {
  const m = /^(?:ipv[46]@)?(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]*|\*)):(\d{1,5})$/.exec(arg);
  if (!m) return null;
  const port = Number(m[3]);
  const host = m[1] ?? (m[2] === '*' ? '' : m[2]);
  if (port < 1 || port > 65535 || (host !== '' && !isIP(host))) return null;
  return { host, port };
}

/** The addresses of a section's `bind` lines (a line's first argument, a list split). */
export function sectionBinds(s: Section): string[] {
  return s.body.filter((l) => /^bind\s/.test(l)).flatMap((l) => (l.split(/\s+/)[1] ?? '').split(',').filter(Boolean));
}

/** A `server NAME ADDRESS ...` line of a backend: its name, address and the rest. */
export interface ServerLine {
  name: string;
  addr: string;
  port: number;
  /** what follows the address (`cookie ...`, options, `weight N`, `disabled`) */
  tail: string;
}

/** HAProxy server / proxy names as the model writes them (servers.ts haproxyName) */
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
/** a host name as RFC 1123 spells one */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The `server` lines of a backend section. A line whose name, address or port is not one
 * the model could have written is left out: the file is ours, but whatever is read back must
 * be as valid as what discovery gives. */
export function serverLines(s: Section): ServerLine[] {
  const out: ServerLine[] = [];
  for (const l of s.body) {
    const m = /^server\s+(\S+)\s+(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})(?:\s+(.*))?$/.exec(l);
    if (!m) continue;
    const addr = m[2] ?? m[3];
    const port = Number(m[4]);
    if (!NAME.test(m[1]) || port < 1 || port > 65535 || !(isIP(addr) || HOSTNAME.test(addr)) || addr === '0.0.0.0' || addr === '::') continue;
    out.push({ name: m[1], addr, port, tail: m[5] ?? '' });
  }
  return out;
}

/** The `peer NAME IP:PORT` lines of a peers section. */
export function peerLines(s: Section): { name: string; ip: string; port: number }[] {
  const out: { name: string; ip: string; port: number }[] = [];
  for (const l of s.body) {
    const m = /^peer\s+(\S+)\s+(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(l);
    if (!m) continue;
    const ip = m[2] ?? m[3];
    const port = Number(m[4]);
    if (NAME.test(m[1]) && isIP(ip) && port >= 1 && port <= 65535) out.push({ name: m[1], ip, port });
  }
  return out;
}
