/**
 * A real HAProxy for tests: a temp dir with a balancer config on free loopback ports, small HTTP
 * backends that answer their own id, a client that counts which backend served each request,
 * and cleanup that stops HAProxy by the master pid from its pid file. Every HAProxy a test
 * starts is also killed from a process 'exit' hook, so a failing test leaks nothing.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ClusterModel, DesiredState } from '../../src/core/plugin.js';
import type { NodeState, ServiceNode } from '../../src/core/node.js';
import { killHaproxy } from '../../scripts/lib/haproxy.js';
import { haproxyClusterSchema } from '../../src/balancers/haproxy/config/schema.js';
import { freePort } from './backends.js';

// The one piece of module state: pid files to kill from when the test process exits.
const leaks = new Set<string>();
process.on('exit', () => {
  for (const pidFile of leaks) {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
});

export { freePort };
export { waitFor as until } from './wait.js';
export { killHaproxy, traffic, type Traffic } from '../../scripts/lib/haproxy.js';

export interface HaproxyEnv {
  dir: string;
  /** raw balancers/haproxy.yaml content (before schema validation) */
  raw: Record<string, unknown>;
  configFile: string;
  pidFile: string;
  socketFile: string;
  masterSocket: string;
  statsPort: number;
  /** stop HAProxy (SIGTERM to the master, bounded wait, SIGKILL) and remove the dir */
  cleanup(): Promise<void>;
}

export async function haproxyEnv(extra: Record<string, unknown> = {}): Promise<HaproxyEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'lh-haproxy-'));
  const statsPort = await freePort();
  const env: HaproxyEnv = {
    dir,
    configFile: join(dir, 'haproxy.cfg'),
    pidFile: join(dir, 'haproxy.pid'),
    socketFile: join(dir, 'admin.sock'),
    masterSocket: join(dir, 'master.sock'),
    statsPort,
    raw: {},
    cleanup: async () => {
      await killHaproxy(env.pidFile, env.masterSocket);
      leaks.delete(env.pidFile);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  env.raw = {
    config_file: env.configFile,
    socket_file: env.socketFile,
    pid_file: env.pidFile,
    master_socket: env.masterSocket,
    haproxy_bin: process.env.HAPROXY_BIN ?? 'haproxy',
    defaults: ['mode http', 'timeout connect 2s', 'timeout client 10s', 'timeout server 10s'],
    restart_interval: 0.2,
    liveness_interval: 0.2,
    stats: { port: statsPort, uri: '/haproxy' },
    ...extra,
  };
  leaks.add(env.pidFile);
  return env;
}

export interface HttpBackend {
  id: string;
  port: number;
  served: number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 answering its own id. */
export async function httpBackend(id: string): Promise<HttpBackend> {
  const b: HttpBackend = { id, port: 0, served: 0, close: async () => {} };
  const server: Server = createServer((_req, res) => {
    b.served++;
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(id);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  b.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return b;
}

/** A node at `host` (default 127.0.0.1), which is its address too unless `ip` is given. */
export function node(port: number, extra: { weight?: number; state?: NodeState; host?: string; ip?: string } = {}): ServiceNode {
  const host = extra.host ?? '127.0.0.1';
  return { name: `${host}:${port}`, host, ip: extra.ip ?? host, port, peer: null, metadata: {}, weight: extra.weight, state: extra.state };
}

export function cluster(name: string, haproxy: Record<string, unknown>, nodes: readonly ServiceNode[], metaCluster?: string): ClusterModel {
  return { name, discovery: 'zookeeper', metaCluster, balancer: haproxyClusterSchema.parse(haproxy), nodes };
}

export function desired(...clusters: ClusterModel[]): DesiredState {
  return { clusters };
}
