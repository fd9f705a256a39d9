/**
 * lighthousectl's side of the daemons' HTTP server: a request over the local Unix socket (the
 * socket's permissions are the auth; the local user name goes along for the record) or to a
 * URL with a bearer token. Answers are JSON or text; connection failures say where and what.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { userInfo } from 'node:os';
import { LighthouseError } from '../core/errors.js';

export type Target = { socket: string } | { url: string; token?: string };

export interface Answer {
  status: number;
  /** parsed JSON, or the text */
  body: unknown;
}

export function describe(target: Target): string {
  return 'socket' in target ? `the local socket ${target.socket}` : target.url;
}

export function call(target: Target, method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  let opts: RequestOptions;
  let https = false;
  if ('socket' in target) {
    headers['x-lighthouse-user'] = localUser();
    opts = { socketPath: target.socket, path, method, headers };
  } else {
    const base = new URL(target.url);
    https = base.protocol === 'https:';
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    opts = { host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || (https ? 443 : 80), path, method, headers };
  }
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(opts, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        if (String(res.headers['content-type']).startsWith('application/json')) {
          try {
            parsed = JSON.parse(text);
          } catch {
            /* keep the text */
          }
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ': is lighthouse-reporter running?' : err.code === 'EACCES' ? ': permission denied (the socket is for its group; try sudo)' : '';
      reject(new LighthouseError('LH_ERR_HTTP', `cannot reach ${describe(target)} (${err.code ?? err.message})${hint}`, { cause: err }));
    });
    req.end(payload);
  });
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
