/** HAProxy as the demo, tests and benches drive it from outside: stop it by the pid in its pid
 * file, see which servers it serves, and count which backend answers plain HTTP requests through it. */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { masterCommand, parseShowProc, pidAlive } from '../../src/balancers/haproxy/process/process.js';
import { RuntimeApi } from '../../src/balancers/haproxy/runtime/api.js';
import { adminMode, parseServersState } from '../../src/balancers/haproxy/runtime/parse.js';

/** SIGTERM to the master named in the pid file (its workers with it), bounded wait, SIGKILL. */
export async function killHaproxy(pidFile: string, masterSocket?: string, timeoutMs = 3000): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!pidAlive(pid)) return;
  const workers = masterSocket ? ((parseShowProc(await masterCommand(masterSocket, 'show proc', 1000).catch(() => '')))?.workers ?? []) : [];
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && [pid, ...workers].some(pidAlive)) await new Promise((r) => setTimeout(r, 10));
  for (const p of [pid, ...workers]) if (pidAlive(p)) process.kill(p, 'SIGKILL');
}

export interface Traffic {
  /** responses by body (backend id) */
  hits: Map<string, number>;
  ok: number;
  failed: number;
  /** status codes / errors of failures, for assertion messages */
  errors: string[];
}

/** `n` GETs to 127.0.0.1:port, `concurrency` at a time, no keep-alive (every request is a new
 * connection, so roundrobin spreads them). */
export async function traffic(port: number, n: number, concurrency = 4, host = '127.0.0.1'): Promise<Traffic> {
  const t: Traffic = { hits: new Map(), ok: 0, failed: 0, errors: [] };
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200) {
            t.ok++;
            t.hits.set(body, (t.hits.get(body) ?? 0) + 1);
          } else {
            t.failed++;
            t.errors.push(`HTTP ${res.statusCode}`);
          }
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        t.failed++;
        t.errors.push(err.message);
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await one();
    }),
  );
  return t;
}

/** Servers that serve (running, not in maintenance or drain) per backend, as "ip:port", from the
 * admin socket of a node's HAProxy. */
export async function servingServers(socketPath: string): Promise<Map<string, string[]>> {
  const api = new RuntimeApi({ socketPath, timeoutMs: 3000 });
  try {
    const [text] = await api.run(['show servers state']);
    const out = new Map<string, string[]>();
    for (const r of parseServersState(text).rows) {
      if (r.opState !== 2 || adminMode(r.adminState) !== 'up') continue;
      out.set(r.backend, [...(out.get(r.backend) ?? []), `${r.addr}:${r.port}`].sort());
    }
    return out;
  } finally {
    api.close();
  }
}
