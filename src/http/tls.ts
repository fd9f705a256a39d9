/**
 * HTTPS for the TCP listener (http.yaml `tls_cert` / `tls_key`): the certificate and key are
 * read when the listener binds (unreadable or mismatched files fail the bind, which is logged
 * and retried like a taken port) and looked at again every minute, so a renewed certificate
 * (certbot, an internal CA's rotation) applies without a restart. A renewal that does not load
 * keeps the certificate in force and is logged once.
 */
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export const TLS_RECHECK_MS = 60_000;

export interface TlsFiles {
  cert: string;
  key: string;
}

async function readPair(f: TlsFiles): Promise<{ cert: Buffer; key: Buffer; sig: string }> {
  const [cert, key, sc, sk] = await Promise.all([readFile(f.cert), readFile(f.key), stat(f.cert), stat(f.key)]);
  // fails here, with the file names, rather than at the first handshake
  createSecureContext({ cert, key });
  return { cert, key, sig: `${sc.ino}:${sc.mtimeMs}:${sk.ino}:${sk.mtimeMs}` };
}

/** An HTTPS server for `handler`, and the function that stops its renewal checks. */
export async function createTlsServer(
  files: TlsFiles,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  clock: Clock,
  log: Logger,
): Promise<{ server: Server; stopRenewal: () => void }> {
  let pair = await readPair(files).catch((err: Error) => {
    throw Object.assign(new Error(`TLS certificate ${files.cert} / key ${files.key}: ${err.message}`), { code: 'ETLSFILES' });
  });
  const server = createServer({ cert: pair.cert, key: pair.key }, handler);
  let timer: { cancel(): void } | null = null;
  let lastProblem = '';
  const recheck = async () => {
    const sig = await Promise.all([stat(files.cert), stat(files.key)]).then(([c, k]) => `${c.ino}:${c.mtimeMs}:${k.ino}:${k.mtimeMs}`, () => pair.sig);
    if (sig === pair.sig) return;
    try {
      pair = await readPair(files);
      server.setSecureContext({ cert: pair.cert, key: pair.key });
      lastProblem = '';
      log.info({ cert: files.cert }, 'TLS certificate reloaded');
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== lastProblem) log.error({ cert: files.cert, err }, `renewed TLS certificate does not load (${msg}); the previous one stays in use`);
      lastProblem = msg;
    }
  };
  const arm = () => (timer = clock.setTimeout(() => void recheck().finally(arm), TLS_RECHECK_MS));
  arm();
  return { server, stopRenewal: () => timer?.cancel() };
}
