/**
 * Which `bind` addresses of a config HAProxy could not take: held by another process, or not
 * bindable here (an address this host does not have).
 *
 * Why before a reload: `haproxy -c` does not bind, so it passes a port another process holds;
 * the reload then fails, and while the new process retries that bind HAProxy pauses the old
 * worker's listeners: every frontend refuses connections for ~2 s, at every retry. So each
 * address a reload would bind anew is tried here first (a listen and a close); one that is in
 * use counts as busy only when no HAProxy process of ours listens on its port (by the socket
 * inodes of /proc/net/tcp{,6} and of our processes' /proc/PID/fd), so a port our HAProxy
 * serves already is never taken for a busy one.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { bindAddress, type BindAddress } from './sections.js';

/** listens tried at once */
const CONCURRENCY = 32;

/** The binds of `binds` HAProxy could not take, each with why. `ours` gives the pids of our
 * HAProxy processes (master and workers; none when it does not run), or null when they cannot
 * be told now: a port in use is then not called busy (it may be ours), and only HAProxy's own
 * bind can tell. So is one when /proc cannot be read. */
export async function busyBinds(binds: readonly string[], ours: () => Promise<number[] | null>): Promise<Map<string, string>> {
  const busy = new Map<string, string>();
  const inUse: [string, BindAddress][] = [];
  const todo = [...new Set(binds)].flatMap((b) => {
    const a = bindAddress(b);
    return a ? [[b, a] as const] : [];
  });
  for (let i = 0; i < todo.length; i += CONCURRENCY) {
    await Promise.all(
      todo.slice(i, i + CONCURRENCY).map(async ([bind, a]) => {
        const code = await tryListen(a);
        if (code === 'EADDRINUSE') inUse.push([bind, a]);
        else if (code) busy.set(bind, `cannot bind ${bind} (${code})`);
      }),
    );
  }
  const pids = inUse.length ? await ours() : null;
  const listening = pids ? await listeners() : null;
  if (pids && listening) {
    const mine = await socketInodes(pids);
    for (const [bind, a] of inUse) {
      const inodes = listening.get(a.port) ?? [];
      if (!inodes.some((i) => mine.has(i))) busy.set(bind, `port ${a.port} is in use by another process (bind ${bind})`);
    }
  }
  return busy;
}

/** null when `a` could be listened on; else the error code */
function tryListen(a: BindAddress): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.listen({ host: a.host || '0.0.0.0', port: a.port, exclusive: true }, () => s.close(() => resolve(null)));
  });
}

/** Inodes of listening TCP sockets, by port; null when /proc does not say. */
async function listeners(): Promise<Map<number, string[]> | null> {
  const out = new Map<number, string[]>();
  let read = false;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(f, 'utf8').catch(() => null);
    if (text === null) continue;
    read = true;
    for (const line of text.split('\n').slice(1)) {
      const w = line.trim().split(/\s+/);
      if (w.length < 10 || w[3] !== '0A') continue; // 0A: LISTEN
      const port = parseInt(w[1].slice(w[1].lastIndexOf(':') + 1), 16);
      const list = out.get(port);
      if (list) list.push(w[9]);
      else out.set(port, [w[9]]);
    }
  }
  return read ? out : null;
}

/** The socket inodes the processes `pids` hold. */
async function socketInodes(pids: readonly number[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    await Promise.all(
      fds.map(async (fd) => {
        const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
        if (m) out.add(m[1]);
      }),
    );
  }
  return out;
}
