/** Free ports on loopback, for the demo, tests and benches. */
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** Start `server` listening on a free port of `host`; resolves with the port. */
export async function listenOnFreePort(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => (server.off('error', reject), resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** A free port on `host` (bind 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  const port = await listenOnFreePort(s, host);
  await new Promise((r) => s.close(r));
  return port;
}

/** `preferred` if it is free on `host` (stable URLs for people), else any free port. */
export async function preferredPort(preferred: number, host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  const ok = await new Promise<boolean>((r) => s.once('error', () => r(false)).listen(preferred, host, () => r(true)));
  if (ok) await new Promise((r) => s.close(r));
  return ok ? preferred : freePort(host);
}
