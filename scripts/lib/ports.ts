/** Free ports on loopback, for the demo, tests and benches. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A free port on `host` (bind 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, host, resolve));
  const { port } = s.address() as AddressInfo;
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
