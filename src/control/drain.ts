/**
 * Is the node drained? ESTABLISHED TCP connections whose local port is one of the node's (or a
 * service's) ports, read from /proc/net/tcp and /proc/net/tcp6 (the kernel's own table, no
 * `ss` to parse), less this process's own: the reporter's health checks hold connections to
 * those very ports (the http check keeps one alive), and they never drain.
 *
 * A connection of ours shows twice in the table: our end (local = our ephemeral port, its inode
 * one of our file descriptors) and the service's end (remote = that ephemeral port). The
 * service's ends whose remote endpoint is one of our ends are left out. Addresses are compared
 * as text, an IPv4-mapped IPv6 address as its IPv4 form: a dual-stack server's end is in tcp6
 * while our end is in tcp.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface TcpEntry {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  /** the kernel's state number: 1 = ESTABLISHED */
  state: number;
  inode: number;
}

const ESTABLISHED = 1;

/** The rows of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): TcpEntry[] {
  const out: TcpEntry[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1].split(':');
    const [ra, rp] = f[2].split(':');
    if (!lp || !rp) continue;
    out.push({ local: hexAddress(la), localPort: parseInt(lp, 16), remote: hexAddress(ra), remotePort: parseInt(rp, 16), state: parseInt(f[3], 16), inode: Number(f[9]) });
  }
  return out;
}

/** The kernel prints addresses as 32-bit words in host order (little-endian here). */
export function hexAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [6, 4, 2, 0].map((k) => parseInt(w.slice(k, k + 2), 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return hex;
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let k = 0; k < 16; k += 2) groups.push(((bytes[k] << 8) | bytes[k + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export interface OpenConnection {
  local: string;
  remote: string;
}

/** Pure: the ESTABLISHED connections on `ports`, less those whose other end is one of
 * `ownInodes`' sockets. */
export function openConnections(entries: readonly TcpEntry[], ports: ReadonlySet<number>, ownInodes: ReadonlySet<number>): OpenConnection[] {
  const ownEnds = new Set<string>();
  for (const e of entries) if (ownInodes.has(e.inode)) ownEnds.add(`${e.local}|${e.localPort}`);
  const out: OpenConnection[] = [];
  for (const e of entries) {
    if (e.state !== ESTABLISHED || !ports.has(e.localPort)) continue;
    if (ownEnds.has(`${e.remote}|${e.remotePort}`)) continue;
    out.push({ local: endpoint(e.local, e.localPort), remote: endpoint(e.remote, e.remotePort) });
  }
  return out;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Inodes of the sockets among this process's file descriptors. */
export async function ownSocketInodes(procSelf = '/proc/self'): Promise<Set<number>> {
  const out = new Set<number>();
  const fds = await readdir(`${procSelf}/fd`).catch(() => [] as string[]);
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`${procSelf}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) out.add(Number(m[1]));
    }),
  );
  return out;
}

/** The connections still open on `ports`, from the kernel's tables, ours left out. Our sockets
 * are listed before and after the tables are read: a health check that connects in between is
 * known as ours either way. (A miss can only count a connection too many, never too few.) */
export async function countOpen(ports: ReadonlySet<number>, procRoot = '/proc'): Promise<OpenConnection[]> {
  const before = await ownSocketInodes(`${procRoot}/self`);
  const tables = await Promise.all(['tcp', 'tcp6'].map((t) => readFile(`${procRoot}/net/${t}`, 'utf8').catch(() => '')));
  const own = new Set([...before, ...(await ownSocketInodes(`${procRoot}/self`))]);
  return openConnections(tables.flatMap(parseProcNetTcp), ports, own);
}
