import { spawn } from 'node:child_process';
import { clientClass } from './src/core/undici.ts';
import { HttpConnection } from '/tmp/h7/old/http-conn.ts';
const mode = process.argv[2]; const N = 5; const SECS = Number(process.argv[3] ?? 40);
const srv = spawn(process.execPath, ['/tmp/h7/server.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = Number(await new Promise<string>((r) => srv.stdout!.once('data', (d) => r(String(d)))));
const origin = `http://127.0.0.1:${port}`;
let one: () => Promise<unknown>;
const ports = Array.from({ length: N });
if (mode === 'old') {
  const conns = ports.map(() => new HttpConnection({ host: '127.0.0.1', port, request: Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`), isHead: false }));
  let i = 0; one = () => conns[i++ % N].request(new AbortController().signal);
} else {
  const Client = clientClass();
  const clients = ports.map(() => new Client(origin, { headersTimeout: 0, bodyTimeout: 0 }));
  const opts = { origin, path: '/health', method: 'GET' as const, headers: { 'user-agent': 'x' } };
  let i = 0;
  if (mode === 'new') one = () => new Promise((res, rej) => clients[i++ % N].dispatch(opts, { onRequestStart() {}, onResponseStart() {}, onResponseData() {}, onResponseEnd: () => res(1), onResponseError: (_c: unknown, e: Error) => rej(e) } as any));
  else if (mode === 'legacy') one = () => new Promise((res, rej) => clients[i++ % N].dispatch(opts, { onConnect() {}, onHeaders() { return true; }, onData() { return true; }, onComplete: () => res(1), onError: rej } as any));
  else throw new Error('mode');
}
const round = () => Promise.all(ports.map(() => one()));
for (let k = 0; k < 10; k++) { await round(); await new Promise((r) => setTimeout(r, 100)); }
const c0 = process.cpuUsage();
for (let k = 0; k < SECS; k++) { await round(); await new Promise((r) => setTimeout(r, 1000)); }
const c = process.cpuUsage(c0);
console.log(mode, 'cpu per round of 5 (ms):', ((c.user + c.system) / 1000 / SECS).toFixed(3), 'user', (c.user / 1000 / SECS).toFixed(3));
srv.kill(); process.exit(0);
