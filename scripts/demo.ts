/**
 * The local demo: a ZooKeeper, sample HTTP services, lighthouse-reporter, lighthouse-writer and
 * the HAProxy the writer starts, all on loopback. Prints where to look, then runs until Ctrl-C
 * (or `--seconds N`). `--check` waits until traffic through HAProxy reaches every sample service,
 * prints the result and exits (0 ok, 1 not) — the demo's own smoke test.
 *
 *   npm run demo [-- --seconds 60 | --check]
 */
import { createServer, type Server } from 'node:http';
import { mkdir, rm, writeFile, open } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { startZooKeeper } from './lib/zookeeper.js';
import { traffic, killHaproxy } from './lib/haproxy.js';
import { preferredPort } from './lib/ports.js';
import { waitFor } from './lib/wait.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, check: { type: 'boolean', default: false } } });
const ROOT = resolve(import.meta.dirname, '..');
const DEMO = join(ROOT, '.demo');
const CONFIG = join(DEMO, 'config');
const LOGS = join(DEMO, 'logs');

/** A sample service: answers its name; GET /health is 200 unless toggled sick with POST /toggle. */
async function sampleService(name: string): Promise<{ port: number; server: Server }> {
  let healthy = true;
  const server = createServer((req, res) => {
    if (req.url === '/toggle' && req.method === 'POST') {
      healthy = !healthy;
      return res.end(`${name} is now ${healthy ? 'healthy' : 'failing its health check'}\n`);
    }
    if (req.url === '/health') return res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok\n' : 'sick\n');
    res.end(`hello from ${name}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

async function daemon(program: string): Promise<ChildProcess> {
  const log = await open(join(LOGS, `${program}.log`), 'w');
  // the installed programs (bin/ runs the build in dist/), as users run them
  const child = spawn(process.execPath, [join(ROOT, 'bin', `${program}.js`), CONFIG], {
    env: { ...process.env, LIGHTHOUSE_ADVERTISE_HOST: 'demo-node', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close(); // the child has its own copy of the descriptor
  return child;
}

await rm(DEMO, { recursive: true, force: true });
for (const d of ['balancers', 'discovery', 'clusters', 'services']) await mkdir(join(CONFIG, d), { recursive: true });
await mkdir(LOGS, { recursive: true });

const zk = await startZooKeeper({ tickTime: 500 });
const services = { web: [await sampleService('web-1'), await sampleService('web-2'), await sampleService('web-3')], api: [await sampleService('api-1'), await sampleService('api-2')] };
const ports = { web: await preferredPort(8000), api: await preferredPort(8001), stats: await preferredPort(9009), status: await preferredPort(10101) };

await writeFile(join(CONFIG, 'discovery/zookeeper.yaml'), `hosts: ["${zk.connectString}"]\npath: /lighthouse/services\n`);
await writeFile(join(CONFIG, 'balancers/haproxy.yaml'), [
  `config_file: ${DEMO}/haproxy.cfg`, `socket_file: ${DEMO}/haproxy.sock`, `pid_file: ${DEMO}/haproxy.pid`,
  'bind_address: 127.0.0.1', 'global:', '  - "maxconn 4000"', 'defaults:', '  - "mode http"', '  - "balance roundrobin"',
  '  - "timeout connect 5s"', '  - "timeout client 30s"', '  - "timeout server 30s"',
  `stats:\n  port: ${ports.stats}\n  uri: /haproxy\n`,
].join('\n'));
for (const [name, list] of Object.entries(services)) {
  await writeFile(join(CONFIG, 'clusters', `${name}.yaml`), `discovery: zookeeper\nhaproxy:\n  port: ${ports[name as 'web' | 'api']}\n  backend:\n    - "mode http"\n`);
  await writeFile(join(CONFIG, 'services', `${name}.yaml`), `ports: [${list.map((s) => s.port).join(', ')}]\ndiscovery: zookeeper\nchecks:\n  interval: 1\n  http:\n    uri: /health\n    rise: 2\n    fall: 1\n`);
}
await writeFile(join(CONFIG, 'http.yaml'), `port: ${ports.status}\nbind_address: 127.0.0.1\nsocket: ${DEMO}/reporter.sock\n`);
await writeFile(join(CONFIG, 'availability.yaml'), `state_file: ${DEMO}/availability.json\n`);
const reporter = await daemon('lighthouse-reporter');
const writer = await daemon('lighthouse-writer');

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const p of [reporter, writer]) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all([reporter, writer].map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
    await killHaproxy(join(DEMO, 'haproxy.pid'));
    for (const s of Object.values(services).flat()) s.server.close();
    await zk.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  for (const [name, list] of Object.entries(services)) {
    const p = ports[name as 'web' | 'api'];
    await waitFor(async () => (await traffic(p, list.length * 4)).hits.size === list.length, `${name} through HAProxy on :${p}`, 30_000);
  }
} catch (err) {
  process.stderr.write(`demo did not come up: ${(err as Error).message}\nsee ${LOGS}\n`);
  await stop(1);
}

const toggle = services.web[0].port;
process.stdout.write(`
Lighthouse demo is up (config: ${CONFIG})

  web cluster (3 nodes)  curl http://127.0.0.1:${ports.web}/
  api cluster (2 nodes)  curl http://127.0.0.1:${ports.api}/
  HAProxy stats page     http://127.0.0.1:${ports.stats}/haproxy
  ZooKeeper              ${zk.connectString}  (znodes under /lighthouse/services)
  logs                   ${LOGS}/lighthouse-reporter.log, ${LOGS}/lighthouse-writer.log
  HAProxy config         ${DEMO}/haproxy.cfg

  make web-1 fail its health check (and come back):  curl -X POST http://127.0.0.1:${toggle}/toggle
  drain this node, wait, bring it back:  lighthousectl disable -c ${CONFIG} --reason test
      lighthousectl wait-drained -c ${CONFIG}; lighthousectl enable -c ${CONFIG}
  node availability (Plight's answer)    curl -i http://127.0.0.1:${ports.status}/
  add a cluster or a service: drop a YAML file into ${CONFIG}/clusters or services/

`);
if (values.check) {
  process.stdout.write(`check ok: HAProxy pid ${readFileSync(join(DEMO, 'haproxy.pid'), 'utf8').trim()} serving web and api\n`);
  await stop(0);
}
if (values.seconds) setTimeout(() => void stop(0), Number(values.seconds) * 1000);
else process.stdout.write('Ctrl-C stops everything.\n');
