/**
 * The multi-host demo (`npm run demo -- --hosts`): Lighthouse's documented examples with every
 * node on its own host: a network namespace with its own address on a private bridge
 * (scripts/lib/netns.ts), all on this machine. A ZooKeeper ensemble of three; two cache nodes
 * (redis on the same port on two hosts); a webapp node and a two-instance "multiapp" node; two
 * widgets and two sprockets nodes behind one ACL-routed port (the `stuff_api` meta cluster); a
 * partner-proxy node in front of a partner API that only it calls; and a client whose writer
 * and HAProxy serve it all. Each node runs the example's config dir (config-examples/, copied
 * and pointed at the ensemble), its reporter, the writer where it consumes clusters, and the
 * example app (docker/examples/app/server.mjs). `--check` verifies the traffic paths the docs
 * describe (demo-hosts-check.ts) and exits 0 or 1. Everything is ended by pid and the
 * namespaces and bridge removed by name on exit, Ctrl-C or error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { createNetwork, type NetHost, type Network } from './lib/netns.js';
import { startEnsemble, type ZkEnsemble } from './lib/zookeeper.js';
import { killHaproxy } from './lib/haproxy.js';
import { checkHosts, type CheckContext } from './demo-hosts-check.js';

const ROOT = resolve(import.meta.dirname, '..');
const APP = join(ROOT, 'docker/examples/app/server.mjs');

interface NodeSpec {
  name: string;
  octet: number;
  /** config-examples/ dir this node runs */
  example?: string;
  writer?: boolean;
  /** APP of server.mjs; its ports are the example's service ports */
  app?: 'webapp' | 'widgets' | 'sprockets' | 'partner';
  redis?: boolean;
}

/** The docs' examples, one host each (addresses 10.77.X.octet). */
export const TOPOLOGY: NodeSpec[] = [
  { name: 'client', octet: 5, example: 'client', writer: true },
  { name: 'zk1', octet: 11 },
  { name: 'zk2', octet: 12 },
  { name: 'zk3', octet: 13 },
  { name: 'cache01', octet: 21, example: 'cache', redis: true },
  { name: 'cache02', octet: 22, example: 'cache', redis: true },
  { name: 'app01', octet: 31, example: 'webapp', writer: true, app: 'webapp' },
  { name: 'app02', octet: 32, example: 'multiapp', writer: true, app: 'webapp' },
  { name: 'widgets01', octet: 41, example: 'widgets', writer: true, app: 'widgets' },
  { name: 'widgets02', octet: 42, example: 'widgets', writer: true, app: 'widgets' },
  { name: 'sprockets01', octet: 51, example: 'sprockets', writer: true, app: 'sprockets' },
  { name: 'sprockets02', octet: 52, example: 'sprockets', writer: true, app: 'sprockets' },
  { name: 'proxy01', octet: 61, example: 'partner-proxy', writer: true },
  { name: 'partnerapi', octet: 71, app: 'partner' },
];
const ZK_PORTS = { client: 2181, quorum: 2888, election: 3888 };
const PARTNER_PORT = 18888;

interface Started {
  net: Network;
  zk: ZkEnsemble | null;
  /** the ensemble's members, "ip:port" */
  zkConnect: string[];
  daemons: ChildProcess[];
  /** config dirs whose writer runs HAProxy (its pid file and master socket are there) */
  haproxyDirs: string[];
  apps: CheckContext['apps'];
  /** what runs on each node, for the banner */
  runs: Map<string, string[]>;
  runDir: string;
}

export async function hostsDemo(opts: { check: boolean; seconds?: number }): Promise<never> {
  const net = await createNetwork({ hosts: TOPOLOGY, preferX: 0 });
  const runDir = join(ROOT, '.demo-hosts', net.tag);
  const s: Started = { net, zk: null, zkConnect: [], daemons: [], haproxyDirs: [], apps: [], runs: new Map(), runDir };
  let stopping: Promise<never> | null = null;
  const stop = (code: number) => (stopping ??= teardown(s).then(() => process.exit(code)));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    const t0 = Date.now();
    const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    await start(s);
    process.stdout.write(`ZooKeeper and every node started (${since()}); waiting until every example answers through the client\n`);
    const ctx: CheckContext = { net, apps: s.apps, proxy: 'proxy01', partner: { name: 'partnerapi', port: PARTNER_PORT }, socket: (n) => join(runDir, n, 'config/haproxy.sock') };
    const report = await checkHosts(ctx, 120_000);
    if (!report.ok) {
      process.stderr.write(`${report.lines.join('\n')}\nthe multi-host demo did not come up; logs in ${runDir}/NODE/logs\n`);
      return await stop(1);
    }
    process.stdout.write(`every example answers (${since()})\n${banner(s)}`);
    if (opts.check) {
      process.stdout.write(`${report.lines.join('\n')}\ncheck ok: every example reached through the client's HAProxy\n`);
      return await stop(0);
    }
    if (opts.seconds) setTimeout(() => void stop(0), opts.seconds * 1000);
    else process.stdout.write('Ctrl-C stops everything and removes the namespaces.\n');
    return await new Promise<never>(() => {});
  } catch (err) {
    process.stderr.write(`multi-host demo failed: ${(err as Error).stack ?? String(err)}\n`);
    return await stop(1);
  }
}

async function start(s: Started): Promise<void> {
  const { net } = s;
  await rm(s.runDir, { recursive: true, force: true });
  const zkHosts = TOPOLOGY.filter((n) => n.name.startsWith('zk')).map((n) => net.host(n.name));
  process.stdout.write(`network ${net.tag}: ${net.subnet} on bridge ${net.bridge} (this machine ${net.gateway}); starting ZooKeeper ${zkHosts.map((h) => h.ip).join(', ')} and the nodes\n`);
  if ((await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(() => '0')).trim() === '1') {
    // br_netfilter: bridged packets pass iptables' FORWARD chain, whose policy Docker sets to DROP
    process.stdout.write(`note: traffic on the bridge passes iptables; if hosts cannot reach each other: iptables -I FORWARD -i ${net.bridge} -o ${net.bridge} -j ACCEPT\n`);
  }
  // the nodes start while ZooKeeper does: the daemons connect once it answers
  s.zkConnect = zkHosts.map((h) => `${h.ip}:${ZK_PORTS.client}`);
  const ensemble = startEnsemble({
    size: zkHosts.length,
    addresses: zkHosts.map((h) => h.ip),
    wraps: zkHosts.map((h) => h.wrap),
    ports: zkHosts.map(() => ZK_PORTS),
    tickTime: 500,
    readyTimeoutMs: 120_000, // three JVMs starting at once on a busy machine
  });
  ensemble.catch(() => {}); // awaited below; a teardown meanwhile ends its JVMs
  for (const spec of TOPOLOGY) {
    const host = net.host(spec.name);
    const logs = join(s.runDir, spec.name, 'logs');
    await mkdir(logs, { recursive: true });
    const config = spec.example ? await nodeConfig(spec, s) : null;
    if (spec.redis) {
      const port = String((await servicePorts(config!))[0]);
      await proc(s, host, logs, 'redis', 'redis-server', ['--port', port, '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no']);
    }
    if (spec.app) {
      const ports = spec.app === 'partner' ? [PARTNER_PORT] : await servicePorts(config!);
      await proc(s, host, logs, 'app', process.execPath, [APP], { APP: spec.app, NAME: spec.name, PORTS: ports.join(',') });
      s.apps.push({ name: spec.name, app: spec.app, ports });
    }
    if (!config) continue;
    const env = { LIGHTHOUSE_ADVERTISE_HOST: spec.name, LIGHTHOUSE_ADVERTISE_IP: host.ip };
    // the installed programs (bin/ runs the build in dist/), as users run them
    if ((await servicePorts(config)).length) await proc(s, host, logs, 'lighthouse-reporter', process.execPath, [join(ROOT, 'bin/lighthouse-reporter.js'), config], env);
    if (spec.writer) {
      s.haproxyDirs.push(config);
      await proc(s, host, logs, 'lighthouse-writer', process.execPath, [join(ROOT, 'bin/lighthouse-writer.js'), config], env);
    }
  }
  s.zk = await ensemble;
}

/** The example's config dir, copied for this node: discovery pointed at the ensemble, the
 * client's frontends open to the bridge, the partner proxy's upstream at the partner's host. */
async function nodeConfig(spec: NodeSpec, s: Started): Promise<string> {
  const dir = join(s.runDir, spec.name, 'config');
  await cp(join(ROOT, 'config-examples', spec.example!), dir, { recursive: true, filter: (src) => !/\.(cfg|sock|pid)$|haproxy-server-state$/.test(src) });
  await edit(join(dir, 'discovery/zookeeper.yaml'), (doc) => doc.set('hosts', s.zkConnect));
  const balancer = (await exists(join(dir, 'balancers/haproxy.yaml'))) ? join(dir, 'balancers/haproxy.yaml') : join(dir, 'haproxy.yaml');
  if (spec.name === 'client') await edit(balancer, (doc) => doc.set('bind_address', '0.0.0.0'));
  if (spec.example === 'partner-proxy') {
    await edit(balancer, (doc) => doc.setIn(['proxies', 'business_partner', 'upstreams', 0, 'host'], s.net.host('partnerapi').ip));
  }
  return dir;
}

async function edit(file: string, change: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const doc = parseDocument(await readFile(file, 'utf8'));
  change(doc);
  await writeFile(file, doc.toString());
}

/** Ports of the services in a config dir (`port` or `ports` of services/*.yaml). */
async function servicePorts(config: string): Promise<number[]> {
  const dir = join(config, 'services');
  const files = await readdir(dir).catch(() => [] as string[]);
  const ports: number[] = [];
  for (const f of files.filter((n) => /\.ya?ml$/.test(n))) {
    const svc = parseDocument(await readFile(join(dir, f), 'utf8')).toJS() as { port?: number; ports?: number[] };
    ports.push(...(svc.ports ?? (svc.port ? [svc.port] : [])));
  }
  return ports;
}

async function proc(s: Started, host: NetHost, logs: string, label: string, cmd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const log = await open(join(logs, `${label}.log`), 'w');
  const child = host.spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', log.fd, log.fd] });
  await log.close(); // the child has its own copy of the descriptor
  if (label.startsWith('lighthouse-')) s.daemons.push(child);
  s.runs.set(host.name, [...(s.runs.get(host.name) ?? []), label]);
}

/** Daemons first (the reporters delete their znodes), then each writer's HAProxy by its pid file,
 * ZooKeeper, and last the network: what is left in a namespace by pid, then the names. */
async function teardown(s: Started): Promise<void> {
  const pids = new Set<number>();
  for (const h of s.net.hosts.values()) for (const pid of await nsPids(h)) pids.add(pid);
  const running = s.daemons.filter((d) => d.exitCode === null && d.signalCode === null);
  for (const d of running) d.kill('SIGTERM');
  await Promise.race([Promise.all(running.map((d) => new Promise((r) => d.once('exit', r)))), new Promise((r) => setTimeout(r, 10_000))]);
  for (const dir of s.haproxyDirs) await killHaproxy(join(dir, 'haproxy.pid'), join(dir, 'haproxy-master.sock'));
  await s.zk?.stop();
  await s.net.teardown();
  process.stdout.write(`teardown: ended pids ${[...pids].sort((a, b) => a - b).join(' ')}; removed namespaces ${[...s.net.hosts.values()].map((h) => h.ns).join(' ')} and bridge ${s.net.bridge}\n`);
}

function nsPids(h: NetHost): Promise<number[]> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'pids', h.ns], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d));
    c.on('close', () => resolve(out.split('\n').map(Number).filter((p) => p > 0)));
  });
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(() => true, () => false);
}

function banner(s: Started): string {
  const ip = (n: string) => s.net.host(n).ip;
  const rows = TOPOLOGY.map((n) => {
    const runs = n.name.startsWith('zk') ? 'ZooKeeper' : (s.runs.get(n.name) ?? []).map((r) => (r === 'app' ? `app ${n.app}` : r === 'lighthouse-writer' ? 'lighthouse-writer + HAProxy' : r)).join(', ');
    return `    ${n.name.padEnd(12)} ${ip(n.name).padEnd(12)} ${runs}${n.example ? ` (config-examples/${n.example})` : ''}`;
  });
  return `
Lighthouse multi-host demo is up: ${TOPOLOGY.length} hosts (network namespaces) on bridge ${s.net.bridge}, ${s.net.subnet}; this machine is ${s.net.gateway}

  through the client's HAProxy (client, ${ip('client')}):
    webapp: 3 instances on 2 hosts     curl http://${ip('client')}:18000/
    widgets API (widgets01, 02)        curl http://${ip('client')}:18080/api/widgets
                                       curl -XPOST -d widget=foo http://${ip('client')}:18080/api/widgets
    sprockets API (token via partner)  curl http://${ip('client')}:18080/api/sprockets
    HAProxy stats page                 http://${ip('client')}:19009/haproxy
  every node's HAProxy stats page:     http://ADDRESS:19009/haproxy  (nodes that run a writer)

  hosts:
${rows.join('\n')}

  ZooKeeper      ${s.zk!.connectString}   (znodes under /lighthouse/services)
  configs, logs  ${s.runDir}/NODE/config, ${s.runDir}/NODE/logs
  take a node off the network and watch it leave:  ip link set ${s.net.host('widgets01').veth} down   (widgets01; "up" brings it back)
  fail a health check (and heal):                  curl -XPOST http://${ip('app01')}:18100/toggle
  a shell on a node:                               ip netns exec ${s.net.host('app01').ns} bash

`;
}
