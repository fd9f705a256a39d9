#!/usr/bin/env node
/**
 * The example applications of Lighthouse's docs ("Examples"), in one dependency-free file: the
 * image of docker/compose.yaml and the processes of the multi-host demo (scripts/demo-hosts.ts).
 * Like every Lighthouse node's application it knows no other node: the cache and the partner are
 * reached through this node's HAProxy ports, which lighthouse-writer keeps pointed at them.
 *
 *   APP=webapp     GET /              "<h1>Current count: N</h1>" (INCR in the cache)
 *   APP=widgets    GET /api/widgets   {"widgets": {NAME: COUNT}}; POST widget=NAME adds one
 *   APP=sprockets  GET /api/sprockets {"token", "sprockets": [...]}; POST sprocket=NAME; the token
 *                  comes from the partner, through the proxy cluster
 *   APP=partner    GET /              {"token": UUID}; GET /clients: the addresses that called
 *
 * Every app: GET /health (200, or 503 after POST /toggle, which flips it), GET /status (200), and
 * `served_by` / "served by NAME:PORT" in its answers, so a client sees which node answered.
 *
 * Environment: APP; NAME (default the hostname); PORTS (comma-separated; defaults webapp 18100,
 * widgets 18110, sprockets 18120, partner 18888); CACHE ("host:port" of redis through the local
 * HAProxy, default 127.0.0.1:19999; "memory": a counter in the process); PARTNER ("host:port",
 * default 127.0.0.1:17700, the local port of the proxy cluster).
 */
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

const APP = process.env.APP ?? 'webapp';
const DEFAULT_PORT = { webapp: 18100, widgets: 18110, sprockets: 18120, partner: 18888 };
if (!(APP in DEFAULT_PORT)) {
  process.stderr.write(`APP must be one of ${Object.keys(DEFAULT_PORT).join(', ')} (got '${APP}')\n`);
  process.exit(2);
}
const NAME = process.env.NAME || hostname();
const PORTS = (process.env.PORTS ?? String(DEFAULT_PORT[APP])).split(',').map(Number);
const CACHE = process.env.CACHE ?? '127.0.0.1:19999';
const PARTNER = process.env.PARTNER ?? '127.0.0.1:17700';

/** One redis command over a new connection (the connection goes through HAProxy, which may pick
 * another cache node each time: the docs' warning about independent caches holds). */
function redis(...args) {
  const [host, port] = splitAddr(CACHE);
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    let buf = Buffer.alloc(0);
    s.setTimeout(2000, () => s.destroy(new Error(`cache ${CACHE}: no answer within 2 s`)));
    s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseReply(buf, 0);
      if (!r) return;
      s.end();
      if (r.value instanceof Error) reject(r.value);
      else resolve(r.value);
    });
    s.on('error', (err) => reject(new Error(`cache ${CACHE}: ${err.message}`)));
    s.on('close', () => reject(new Error(`cache ${CACHE}: connection closed before a reply`)));
  });
}

/** RESP reply at buf[i..]: { value, next }, or null while incomplete. */
function parseReply(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = buf.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[i])) {
    case '+': return { value: line, next };
    case '-': return { value: new Error(line), next };
    case ':': return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      return buf.length < next + n + 2 ? null : { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const out = [];
      let at = next;
      for (let k = 0; k < Number(line); k++) {
        const r = parseReply(buf, at);
        if (!r) return null;
        out.push(r.value);
        at = r.next;
      }
      return { value: out, next: at };
    }
    default: return { value: new Error(`unexpected reply from the cache: ${line}`), next: buf.length };
  }
}

let memoryCount = 0;
const count = () => (CACHE === 'memory' ? Promise.resolve(++memoryCount) : redis('INCR', 'count'));

function partnerToken() {
  const [host, port] = splitAddr(PARTNER);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body).token);
        } catch {
          reject(new Error(`partner via ${PARTNER}: HTTP ${res.statusCode}, not a token`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
    req.on('error', (err) => reject(new Error(`partner via ${PARTNER}: ${err.message}`)));
    req.end();
  });
}

const clients = new Set();
let healthy = true;

async function handle(req, res, port) {
  const servedBy = `${NAME}:${port}`;
  const json = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ...body, served_by: servedBy }, null, 2)}\n`);
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/health') return res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok\n' : 'failing (POST /toggle to heal)\n');
  if (path === '/status') return res.end('ok\n');
  if (path === '/toggle' && req.method === 'POST') {
    healthy = !healthy;
    return res.end(`${servedBy} is now ${healthy ? 'healthy' : 'failing its health check'}\n`);
  }
  const form = req.method === 'POST' ? new URLSearchParams(await body(req)) : null;
  switch (`${APP} ${path}`) {
    case 'webapp /':
      return res.writeHead(200, { 'content-type': 'text/html' }).end(`<h1>Current count: ${await count()}</h1>\n<p>served by ${servedBy}</p>\n`);
    case 'widgets /api/widgets': {
      if (form) {
        const widget = form.get('widget');
        if (!widget) return json(400, { success: false, error: 'a "widget" parameter is required' });
        await redis('HINCRBY', 'widgets', widget, '1');
        return json(200, { success: true });
      }
      const flat = await redis('HGETALL', 'widgets');
      const widgets = {};
      for (let k = 0; k < flat.length; k += 2) widgets[flat[k]] = Number(flat[k + 1]);
      return json(200, { widgets });
    }
    case 'sprockets /api/sprockets': {
      const token = await partnerToken();
      if (form) {
        const sprocket = form.get('sprocket');
        if (!sprocket) return json(400, { success: false, error: 'a "sprocket" parameter is required' });
        await redis('SADD', 'sprockets', sprocket);
        return json(200, { success: true, token });
      }
      return json(200, { token, sprockets: (await redis('SMEMBERS', 'sprockets')).sort() });
    }
    case 'partner /':
    case 'partner /token':
      clients.add(req.socket.remoteAddress.replace(/^::ffff:/, ''));
      return json(200, { token: randomUUID() });
    case 'partner /clients':
      return json(200, { clients: [...clients].sort() });
    default:
      return json(404, { error: `no ${req.method} ${path} here` });
  }
}

function body(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d) => {
      text += d;
      if (text.length > 65536) req.destroy(new Error('form larger than 64 KiB'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function splitAddr(addr) {
  const at = addr.lastIndexOf(':');
  return [addr.slice(0, at).replace(/^\[|\]$/g, ''), Number(addr.slice(at + 1))];
}

const servers = PORTS.map((port) => {
  const server = createServer((req, res) =>
    handle(req, res, port).catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`${NAME}:${port}: ${err.message}\n`);
    }),
  );
  // every address family there is: checks may dial "localhost" as ::1 or 127.0.0.1
  server.once('error', (err) => {
    if (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL') throw err;
    server.listen(port, '0.0.0.0');
  });
  server.listen(port, '::', () => process.stdout.write(`${APP} ${NAME} listening on :${port}\n`));
  return server;
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    for (const s of servers) s.close();
    process.exit(0);
  });
}
