/** Small HTTP backends on loopback whose health a test switches, counting health probes. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  port: number;
  id: string;
  healthy: boolean;
  /** the next this-many health probes fail whatever `healthy` says: an exact flap under any load */
  failNext: number;
  /** health probes answered, by outcome */
  probes: { ok: number; failed: number };
  /** other requests served (traffic through HAProxy) */
  served: number;
  close(): Promise<void>;
}

export async function startBackend(id: string, port = 0): Promise<Backend> {
  const b: Backend = { port: 0, id, healthy: true, failNext: 0, probes: { ok: 0, failed: 0 }, served: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      const healthy = b.healthy && b.failNext === 0;
      if (b.failNext > 0) b.failNext--;
      if (healthy) b.probes.ok++;
      else b.probes.failed++;
      res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'sick');
      return;
    }
    b.served++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(id);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  b.port = (server.address() as AddressInfo).port;
  b.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return b;
}

export { freePort, listenOnFreePort } from '../../scripts/lib/ports.js';
