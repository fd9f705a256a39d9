/** One HTTP request on a new connection (so HAProxy balances every one), for the demos and
 * tests: GET, or POST of a form. */
import { request } from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export function httpRequest(host: string, port: number, path: string, form?: Record<string, string>, timeoutMs = 5000): Promise<Reply> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {};
    const req = request({ host, port, path, method: body ? 'POST' : 'GET', agent: false, timeout: timeoutMs, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`http://${host}:${port}${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
