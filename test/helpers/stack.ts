/**
 * Both daemons end to end, for integration tests: a real ZooKeeper (tickTime 200 ms), an HAProxy
 * env, a config dir with `balancers/haproxy.yaml` and `discovery/zookeeper.yaml` (path /lh,
 * session_timeout 2 s), HTTP backends, and the reporter and writer as their own processes,
 * advertised as one host. `cleanup()` stops every process by its pid and removes the dirs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBackend, type Backend } from './backends.js';
import { startDaemon, type Daemon } from './daemon.js';
import { haproxyEnv, type HaproxyEnv } from './haproxy.js';
import { startZooKeeper, type ZkServer } from './zookeeper.js';

export const ADVERTISED = { LIGHTHOUSE_ADVERTISE_HOST: 'node1.lighthouse.test', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' };

export interface Stack {
  zk: ZkServer;
  hap: HaproxyEnv;
  dir: string;
  backends: Backend[];
  /** the latest daemons started */
  reporter: Daemon | null;
  writer: Daemon | null;
  /** write a file of the config dir (path relative to it) */
  file(rel: string, text: string): Promise<void>;
  startReporter(): Daemon;
  startWriter(): Daemon;
  cleanup(): Promise<void>;
}

export async function startStack(backendIds: string[]): Promise<Stack> {
  const zk = await startZooKeeper({ tickTime: 200 });
  const hap = await haproxyEnv();
  const backends: Backend[] = [];
  for (const id of backendIds) backends.push(await startBackend(id));
  const dir = await mkdtemp(join(tmpdir(), 'lh-stack-'));
  for (const d of ['balancers', 'discovery', 'clusters', 'services']) await mkdir(join(dir, d));
  const stack: Stack = {
    zk,
    hap,
    dir,
    backends,
    reporter: null,
    writer: null,
    file: (rel, text) => writeFile(join(dir, rel), text),
    startReporter: () => (stack.reporter = startDaemon('lighthouse-reporter', [dir], ADVERTISED)),
    startWriter: () => (stack.writer = startDaemon('lighthouse-writer', [dir], ADVERTISED)),
    async cleanup() {
      await stack.writer?.stop('SIGKILL');
      await stack.reporter?.stop('SIGKILL');
      await hap.cleanup();
      for (const b of backends) await b.close();
      await zk.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await stack.file('balancers/haproxy.yaml', stringify(hap.raw));
  await stack.file('discovery/zookeeper.yaml', `hosts: ["${zk.connectString}"]\npath: /lh\nsession_timeout: 2000\n`);
  // no HTTP server (every interface, /run) and a state file of the stack's own
  await stack.file('http.yaml', 'port: false\nsocket: false\n');
  await stack.file('availability.yaml', 'state_file: availability.json\n');
  return stack;
}
