/**
 * Hosts on one machine: Linux network namespaces on a private bridge, for the multi-host demo and
 * the tests that need several hosts (the same port on two of them; a host whose network goes
 * away). Root only.
 *
 * A network takes a /24 in 10.77.0.0/16 that exists only on the bridge it creates and inside its
 * namespaces: the bridge (this machine) is 10.77.X.1, each host 10.77.X.N on its own veth pair.
 * X is claimed with an atomic mkdir under /run/lighthouse-netns, so networks of concurrent runs
 * never share a subnet or a name; a claim left by a run that died (its owner pid gone) is taken
 * over and whatever that run left (its processes, by pid, its namespaces and links, by name) is
 * removed first. Names carry the claim: namespaces `lhX-NAME`, bridge `lhX-br`, veths `lhX-vN`.
 *
 *   const net = await createNetwork({ hosts: [{ name: 'app01' }, { name: 'app02' }] });
 *   net.host('app01').spawn('node', ['server.mjs'], { stdio: 'ignore' });
 *   await net.host('app01').linkDown();       // its network disappears
 *   await net.teardown();                      // processes by pid, then namespaces, then the bridge
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive } from '../../src/balancers/haproxy/process/process.js';

const run = promisify(execFile);
const CLAIMS = '/run/lighthouse-netns';

export interface NetHost {
  readonly name: string;
  /** the namespace's name (`ip netns exec NS ...`) */
  readonly ns: string;
  readonly ip: string;
  /** the veth end on the bridge, in this machine's namespace */
  readonly veth: string;
  /** a command prefix that runs a program in this host's namespace (it execs the program, so a
   * child's pid is the program's) */
  readonly wrap: string[];
  /** Start `cmd` in the namespace; the network ends it by pid at teardown. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Run `cmd` in the namespace to completion; its stdout. */
  exec(cmd: string, args: string[]): Promise<string>;
  /** Take the host off the network (its veth down on the bridge side) / put it back. */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
}

export interface Network {
  /** "lhX": the prefix of every name this network created */
  readonly tag: string;
  /** "10.77.X.0/24" */
  readonly subnet: string;
  readonly bridge: string;
  /** this machine's address on the bridge, 10.77.X.1 */
  readonly gateway: string;
  readonly hosts: ReadonlyMap<string, NetHost>;
  host(name: string): NetHost;
  /** pids of the processes started through a host's spawn() that still run */
  readonly pids: ReadonlySet<number>;
  /** End every process started here (SIGTERM, bounded wait, SIGKILL), then any process left in
   * the namespaces (a daemon that detached), by pid; delete the namespaces, the bridge, the claim. */
  teardown(): Promise<void>;
}

export interface HostSpec {
  name: string;
  /** last octet of the address, default 10 + its index */
  octet?: number;
}

/** Why namespaces cannot be used here, or null when they can. Installs iproute2 with apt-get when
 * `ip` is missing and we are root (as scripts/ensure-deps.sh does for HAProxy), and proves the
 * kernel lets us create a namespace (a container may refuse it even to root). */
export async function netnsUnavailable(uid = process.getuid?.() ?? -1): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (uid !== 0) return 'network namespaces need root (ip netns add); run as root for separate hosts';
  if (!onPath('ip')) {
    if (!onPath('apt-get')) return "the 'ip' command (iproute2) is missing and there is no apt-get to install it";
    process.stderr.write('installing iproute2 from Debian\'s packages\n');
    try {
      await run('apt-get', ['update', '-qq'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      await run('apt-get', ['install', '-y', '-qq', 'iproute2'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch (err) {
      return `installing iproute2 failed: ${firstLine(err)}`;
    }
    if (!onPath('ip')) return "iproute2 installed but 'ip' is still not on PATH";
  }
  const probe = `lhprobe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace (${firstLine(err)}): a container without CAP_SYS_ADMIN?`;
  }
  await run('ip', ['netns', 'del', probe]).catch(() => {});
  return null;
}

/** A bridge and one namespace per host, each with its address and loopback up. On any failure
 * what was created is removed again before the error is thrown. */
export async function createNetwork(opts: { hosts: HostSpec[]; preferX?: number }): Promise<Network> {
  for (const [i, h] of opts.hosts.entries()) {
    const octet = h.octet ?? 10 + i;
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(h.name)) throw new Error(`host name '${h.name}': lower-case letters, digits and '-'`);
    if (octet < 2 || octet > 254) throw new Error(`host ${h.name}: octet ${octet} not in 2..254`);
  }
  const x = claimSubnet(opts.preferX ?? 1);
  const tag = `lh${x}`;
  const prefix = `10.77.${x}`;
  const bridge = `${tag}-br`;
  const pids = new Set<number>();
  const hosts = new Map<string, NetHost>();
  let down: Promise<void> | null = null;
  opts.hosts.forEach((h, i) => {
    const ns = `${tag}-${h.name}`;
    const veth = `${tag}-v${i}`;
    const ip = `${prefix}.${h.octet ?? 10 + i}`;
    const wrap = ['ip', 'netns', 'exec', ns];
    hosts.set(h.name, {
      name: h.name,
      ns,
      ip,
      veth,
      wrap,
      spawn(cmd, args, o = {}) {
        // a process started once teardown has begun could outlive it in a nameless namespace
        if (down) throw new Error(`network ${tag} is being torn down: not starting ${cmd}`);
        const child = spawn(wrap[0], [...wrap.slice(1), cmd, ...args], o);
        if (child.pid) {
          pids.add(child.pid);
          child.once('exit', () => pids.delete(child.pid!));
        }
        return child;
      },
      exec: async (cmd, args) => (await run(wrap[0], [...wrap.slice(1), cmd, ...args])).stdout,
      linkDown: async () => void (await run('ip', ['link', 'set', veth, 'down'])),
      linkUp: async () => void (await run('ip', ['link', 'set', veth, 'up'])),
    });
  });
  const onExit = () => teardownSync(tag, [...pids]);
  process.on('exit', onExit);
  const net: Network = {
    tag,
    subnet: `${prefix}.0/24`,
    bridge,
    gateway: `${prefix}.1`,
    hosts,
    pids,
    host(name) {
      const h = hosts.get(name);
      if (!h) throw new Error(`no host '${name}' in network ${tag}`);
      return h;
    },
    teardown() {
      down ??= (async () => {
        await endPids([...pids]);
        teardownSync(tag, []);
        process.off('exit', onExit);
      })();
      return down;
    },
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${net.gateway}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    let i = 0;
    for (const h of hosts.values()) {
      const peer = `${tag}-p${i++}`;
      await ip('netns', 'add', h.ns);
      await ip('link', 'add', h.veth, 'type', 'veth', 'peer', 'name', peer);
      await ip('link', 'set', peer, 'netns', h.ns);
      await ip('link', 'set', h.veth, 'master', bridge);
      await ip('link', 'set', h.veth, 'up');
      await ip('-n', h.ns, 'link', 'set', peer, 'name', 'eth0');
      await ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      await ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', h.ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    await net.teardown();
    throw err;
  }
  return net;
}

/** Names of namespaces and links that carry `tag` (what a network of that tag created). */
export function leftovers(tag: string): { namespaces: string[]; links: string[] } {
  const namespaces = listNamespaces().filter((n) => n.startsWith(`${tag}-`));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(`${tag}-`));
  return { namespaces, links };
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    throw new Error(`ip ${args.join(' ')}: ${firstLine(err)}`);
  }
}

function listNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
}

/** Claim 10.77.X.0/24: mkdir is atomic, so two runs never hold the same X. A claim whose owner
 * died is taken over after its leftovers are removed; an X some other interface of this machine
 * already uses is skipped. */
function claimSubnet(preferX: number): number {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o700 });
  for (let k = 0; k < 255; k++) {
    const x = (preferX + k) % 255;
    const dir = join(CLAIMS, String(x));
    if (!tryClaim(dir)) continue;
    // read after the claim: taking over a stale one has just removed its bridge's address
    const inUse = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
    if (new RegExp(`inet 10\\.77\\.${x}\\.`).test(inUse)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    return x;
  }
  throw new Error(`no free subnet in 10.77.0.0/16 (claims in ${CLAIMS})`);
}

/** mkdir DIR and write our pid into it; a claim whose owner is gone (or that never got its pid
 * file within a minute) is cleared with its leftovers and tried once more. */
function tryClaim(dir: string, again = true): boolean {
  try {
    mkdirSync(dir);
  } catch {
    const owner = Number(readText(join(dir, 'pid')));
    const young = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 60_000;
    if (!again || (owner > 0 ? pidAlive(owner) : young)) return false;
    teardownSync(`lh${basename(dir)}`, []);
    return tryClaim(dir, false);
  }
  writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
  return true;
}

/** Synchronous teardown of everything named `lhX-`: also the exit hook and the stale-claim path,
 * where nothing async can run. */
function teardownSync(tag: string, pids: number[]): void {
  for (const pid of pids) signal(pid, 'SIGKILL');
  let names: { namespaces: string[]; links: string[] };
  try {
    names = leftovers(tag);
  } catch {
    return; // no ip: nothing of ours can exist
  }
  for (const ns of names.namespaces) {
    for (const pid of nsPids(ns)) signal(pid, 'SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* gone already */
    }
  }
  for (const link of leftovers(tag).links) {
    try {
      execFileSync('ip', ['link', 'del', link], { stdio: 'ignore' });
    } catch {
      /* a veth goes with its peer's namespace */
    }
  }
  rmSync(join(CLAIMS, tag.slice(2)), { recursive: true, force: true });
}

function nsPids(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').map(Number).filter((p) => p > 0);
  } catch {
    return [];
  }
}

/** SIGTERM, a bounded wait, SIGKILL. */
async function endPids(pids: number[], timeoutMs = 5000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && pids.some(pidAlive)) await new Promise((r) => setTimeout(r, 20));
  for (const pid of pids) if (pidAlive(pid)) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n')[0];
}
