/**
 * For availability tests: nodes (a backend that can hold requests open, a reporter config dir
 * with http.yaml and availability.yaml, the reporter advertising its own host name) and
 * lighthousectl run as operators run it.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort, listenOnFreePort } from './backends.js';
import { startDaemon, type Daemon } from './daemon.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** the token file's line: subject "ops" */
export const TOKEN = 'ops 0123456789abcdef0123456789abcdef';

/** An HTTP backend: /health, /hold (answered once released), anything else: its id. */
export interface HoldBackend {
  id: string;
  port: number;
  held: (() => void)[];
  served: number;
  close(): Promise<void>;
}

export async function holdBackend(id: string): Promise<HoldBackend> {
  const b: HoldBackend = { id, port: 0, held: [], served: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    b.served++;
    if (req.url === '/hold') return void b.held.push(() => res.end(id));
    res.end(id);
  });
  server.keepAliveTimeout = 60_000;
  b.port = await listenOnFreePort(server);
  b.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return b;
}

export interface AvailabilityNode {
  host: string;
  dir: string;
  httpPort: number;
  backend: HoldBackend;
  reporter: Daemon;
  /** the znode of its instance of service web */
  znode: string;
}

/** Builds nodes on one ZooKeeper (znodes under /lh); `cleanup` gathers the undo steps. */
export function availabilityNodes(zkConnect: string, cleanup: (() => unknown)[]) {
  const tempDir = async (prefix: string) => {
    const d = await mkdtemp(join(tmpdir(), prefix));
    cleanup.push(() => rm(d, { recursive: true, force: true }));
    return d;
  };
  const reporterDir = async (b: HoldBackend, token: boolean) => {
    const dir = await tempDir('lh-avail-node-');
    await mkdir(join(dir, 'discovery'));
    await mkdir(join(dir, 'services'));
    await writeFile(join(dir, 'discovery/zookeeper.yaml'), `hosts: ["${zkConnect}"]\npath: /lh\nsession_timeout: 2000\n`);
    await writeFile(join(dir, 'services/web.yaml'), `port: ${b.port}\ndiscovery: zookeeper\nchecks:\n  interval: 0.1\n  http: {uri: /health, fall: 3}\n`);
    const httpPort = await freePort();
    await writeFile(join(dir, 'http.yaml'), stringify({ port: httpPort, bind_address: '127.0.0.1', socket: 'run/reporter.sock', ...(token && { token_file: 'http.token' }) }));
    if (token) await writeFile(join(dir, 'http.token'), `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'availability.yaml'), 'state_file: state/availability.json\n');
    return { dir, httpPort };
  };
  const startReporter = (n: { host: string; dir: string }) => {
    const d = startDaemon('lighthouse-reporter', [n.dir], { LIGHTHOUSE_ADVERTISE_HOST: n.host, LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' });
    cleanup.push(() => d.stop('SIGKILL'));
    return d;
  };
  const node = async (id: string, token: boolean): Promise<AvailabilityNode> => {
    const b = await holdBackend(id);
    cleanup.push(() => b.close());
    const host = `node-${id.toLowerCase()}.lighthouse.test`;
    const { dir, httpPort } = await reporterDir(b, token);
    return { host, dir, httpPort, backend: b, reporter: startReporter({ host, dir }), znode: `/lh/web/${host}:${b.port}` };
  };
  return { tempDir, reporterDir, startReporter, node };
}

export interface CtlResult {
  code: number | null;
  out: string;
  err: string;
}

/** lighthousectl ARGS from the sources; `running.out` grows while it runs */
export function ctl(...args: string[]): { done: Promise<CtlResult>; running: { out: string; exited: boolean } } {
  const running = { out: '', exited: false };
  const done = new Promise<CtlResult>((resolve) => {
    const p = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/lighthousectl.ts'), ...args], { cwd: ROOT, timeout: 90_000 }, (err, out, stderr) => {
      running.exited = true;
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: stderr });
    });
    p.stdout!.on('data', (d) => (running.out += d));
  });
  return { done, running };
}

export const runCtl = async (...args: string[]) => ctl(...args).done;

/** the reporter's GET /state */
export async function stateOf(n: AvailabilityNode): Promise<{ node: { state: string; reason?: string; by: string } }> {
  return (await fetch(`http://127.0.0.1:${n.httpPort}/state`)).json() as never;
}
