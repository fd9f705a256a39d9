/**
 * docker/: no Docker engine here, so nothing is built or run; what the files reference is
 * checked instead. Every Dockerfile's sources exist in its build context (and are not
 * .dockerignored), its stages and its non-root user; the agent image runs the npm package's
 * bins under tini and checks health with a script it copies; compose.yaml's build contexts,
 * mounts and service references exist; every node's effective config dir (the example's, with
 * the files mounted over it) passes `lighthousectl validate` (the built bin); the apps listen on
 * the ports their reporters check; HAProxy's files go where the image lets the writer write.
 * The healthcheck script itself runs against real processes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { haproxySchema } from '../../src/balancers/haproxy/config/schema.js';
import { copyOf, dockerignore, ignored, parseDockerfile, type Stage } from '../helpers/dockerfile.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER = join(ROOT, 'docker');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  network_mode?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
  ports?: string[];
}
const compose = parse(readFileSync(join(DOCKER, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const agents = services.filter(([, s]) => s.command?.[0]?.startsWith('lighthouse'));

/** Each Dockerfile a compose build names, with its context (paths relative to docker/). */
const builds = new Map<string, string>();
for (const [, s] of services) {
  if (!s.build) continue;
  const context = resolve(DOCKER, s.build.context);
  builds.set(resolve(context, s.build.dockerfile ?? 'Dockerfile'), context);
}
const stagesOf = (file: string): Stage[] => parseDockerfile(readFileSync(file, 'utf8'));
const AGENT = join(DOCKER, 'Dockerfile');

/** Files of the npm package (`npm pack --dry-run --json`). */
let packFiles: string[] = [];
before(async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
  packFiles = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
});

describe('Dockerfiles', () => {
  test('compose builds every Dockerfile under docker/, the agent image from the repo root', () => {
    const found = (function walk(d: string): string[] {
      return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name === 'Dockerfile' ? [join(d, e.name)] : []));
    })(DOCKER);
    assert.deepEqual([...builds.keys()].sort(), found.sort(), 'each Dockerfile is built by compose.yaml');
    assert.equal(builds.get(AGENT), ROOT.replace(/\/$/, ''), 'the agent image: context = repo root');
  });

  for (const [file, context] of builds) {
    const name = file.slice(ROOT.length);
    test(`${name}: every COPY/ADD source is in the context, every stage it copies from exists, it runs as a non-root user`, () => {
      const stages = stagesOf(file);
      const ignore = dockerignore(context);
      for (const [k, stage] of stages.entries()) {
        for (const ins of stage.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
          const where = `${name}:${ins.line}`;
          if (ins.flags.from !== undefined) {
            assert.ok(stages.slice(0, k).some((s) => s.name === ins.flags.from), `${where}: --from=${ins.flags.from} names an earlier stage`);
            continue;
          }
          for (const src of copyOf(ins).sources) {
            assert.ok(existsSync(join(context, src)), `${where}: ${src} exists in the context ${context}`);
            assert.equal(ignored(src, ignore), false, `${where}: ${src} is not left out by .dockerignore`);
          }
        }
      }
      const last = stages.at(-1)!;
      const user = last.instructions.filter((i) => i.op === 'USER').at(-1)?.args[0];
      assert.ok(user && !/^(root|0)(:|$)/.test(user), `${name}: the final stage runs as a non-root user (got ${user})`);
      assert.ok(last.instructions.some((i) => i.op === 'CMD'), `${name}: has a CMD`);
    });
  }

  test('agent image: Node 20 slim, HAProxy and tini from Debian, tini as PID 1, a HEALTHCHECK script it copies', () => {
    const stages = stagesOf(AGENT);
    const last = stages.at(-1)!;
    assert.match(last.from, /^node:20(\.\d+)*-(bookworm-)?slim$/, 'Node 20 slim');
    const installs = last.instructions.filter((i) => i.op === 'RUN').map((i) => i.raw).join(' ');
    assert.match(installs, /apt-get install[^&]*\bhaproxy\b/, "HAProxy from Debian's packages");
    assert.match(installs, /apt-get install[^&]*\btini\b/, 'tini');
    const entry = last.instructions.find((i) => i.op === 'ENTRYPOINT');
    assert.deepEqual(entry?.args, ['/usr/bin/tini', '--'], 'tini is the entrypoint');
    assert.equal(entry?.exec, true, 'exec form: tini is PID 1, not a shell');
    const health = last.instructions.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(health, 'a HEALTHCHECK');
    const script = health.args.find((a) => a.endsWith('.mjs'))!;
    const copied = last.instructions.filter((i) => i.op === 'COPY' && !i.flags.from).map(copyOf).find((c) => c.dest === script);
    assert.ok(copied && existsSync(join(ROOT, copied.sources[0])), `the healthcheck ${script} is copied from the repo`);
  });

  test("agent image: the programs it runs are the npm package's bins, and it holds every file of the package", () => {
    const last = stagesOf(AGENT).at(-1)!;
    const links = new Map<string, string>();
    for (const m of last.instructions.filter((i) => i.op === 'RUN').map((i) => i.raw).join(' ').matchAll(/ln -s (\S+) \/usr\/local\/bin\/(\S+)/g)) links.set(m[2], m[1]);
    const programs = new Set([last.instructions.find((i) => i.op === 'CMD')!.args[0], ...agents.map(([, s]) => s.command![0])]);
    for (const p of programs) {
      const target = links.get(p) ?? '';
      assert.ok(target.startsWith('/app/'), `${p} is linked into /usr/local/bin from /app`);
      assert.ok(packFiles.includes(target.slice('/app/'.length)), `${target} is a file of the npm package (${target.slice(5)})`);
    }
    // every top-level entry of the package lands in /app (copied from the context or the build stage)
    const dests = last.instructions.filter((i) => i.op === 'COPY').map((i) => copyOf(i).dest);
    const tops = new Set(packFiles.map((f) => f.split('/')[0]).filter((t) => !/^(README|LICENSE)/i.test(t)));
    for (const t of tops) assert.ok(dests.includes(`/app/${t}`) || (dests.includes('/app') && existsSync(join(ROOT, t))), `package entry ${t} is copied to /app/${t}`);
    assert.ok(tops.has('bin') && tops.has('dist'), `the package has bin/ and dist/ (npm test builds dist): ${[...tops].join(', ')}`);
  });
});

/** The container's /etc/lighthouse: the example dir read-only, the files mounted over it. */
function effectiveConfig(s: Service, into: string): string {
  const mounts = (s.volumes ?? []).map((v) => v.split(':')).filter(([, target]) => target?.startsWith('/etc/lighthouse'));
  const base = mounts.find(([, t]) => t === '/etc/lighthouse');
  assert.ok(base, 'a config dir is mounted at /etc/lighthouse');
  cpSync(resolve(DOCKER, base[0]), into, { recursive: true, filter: (src) => statSync(src).isDirectory() || /\.ya?ml$/.test(src) });
  for (const [src, target] of mounts.filter((m) => m !== base)) {
    const at = join(into, posix.relative('/etc/lighthouse', target));
    // a file mounted into a read-only bind mount needs its mount point there already
    assert.ok(existsSync(at), `${target} exists in ${base[0]} (a mount point)`);
    writeFileSync(at, readFileSync(resolve(DOCKER, src)));
  }
  return into;
}

function yamlIn(dir: string, sub: string): Record<string, unknown>[] {
  const d = join(dir, sub);
  return existsSync(d) ? readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).map((f) => parse(readFileSync(join(d, f), 'utf8')) as Record<string, unknown>) : [];
}

function haproxyConfig(dir: string) {
  const file = ['balancers/haproxy.yaml', 'haproxy.yaml'].map((f) => join(dir, f)).find(existsSync)!;
  return haproxySchema.parse(parse(readFileSync(file, 'utf8')));
}

describe('compose.yaml', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lh-compose-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const configs = new Map<string, string>();
  const configOf = (name: string) => {
    if (!configs.has(name)) configs.set(name, effectiveConfig(compose.services[name], join(tmp, name)));
    return configs.get(name)!;
  };

  test('every build context, Dockerfile, mounted path and referenced service exists', () => {
    for (const [name, s] of services) {
      if (s.build) assert.ok(existsSync(resolve(DOCKER, s.build.context, s.build.dockerfile ?? 'Dockerfile')), `${name}: its Dockerfile`);
      for (const v of s.volumes ?? []) assert.ok(existsSync(resolve(DOCKER, v.split(':')[0])), `${name}: mounted ${v.split(':')[0]} exists`);
      const shared = /^service:(.+)$/.exec(s.network_mode ?? '')?.[1];
      if (s.network_mode) assert.ok(shared && compose.services[shared], `${name}: network_mode ${s.network_mode} names a service`);
      for (const d of s.depends_on ?? []) assert.ok(compose.services[d], `${name}: depends_on ${d} is a service`);
      assert.ok(s.image || s.build, `${name}: an image`);
    }
    for (const [name, s] of agents) assert.equal(resolve(DOCKER, s.build!.context, s.build!.dockerfile!), AGENT, `${name}: the agent image`);
  });

  test("every node's config dir (the example's, with docker/examples/ files mounted over it) passes lighthousectl validate", async () => {
    const seen = new Map<string, string>();
    for (const [name, s] of agents) if (![...seen.keys()].includes(JSON.stringify(s.volumes))) seen.set(JSON.stringify(s.volumes), name);
    const results = await Promise.all(
      [...seen.values()].map((name) => run(process.execPath, [join(ROOT, 'bin/lighthousectl.js'), 'validate', configOf(name)]).then(
        (r) => ({ name, code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ name, code: e.code, out: e.stdout }),
      )),
    );
    for (const r of results) assert.equal(r.code, 0, `${r.name}: ${r.out}`);
    assert.ok(seen.size >= 7, `the seven kinds of node (${[...seen.values()].join(', ')})`);
  });

  test('a three-member ZooKeeper ensemble, which every node discovers through', () => {
    const zks = services.filter(([, s]) => s.image?.startsWith('zookeeper:'));
    assert.deepEqual(zks.map(([, s]) => s.environment?.ZOO_MY_ID).sort(), ['1', '2', '3'], 'three members, ids 1-3');
    for (const [name, s] of zks) for (const [other] of zks) assert.match(s.environment!.ZOO_SERVERS, new RegExp(`=${other}:2888:3888;2181`), `${name} knows ${other}`);
    for (const [name] of agents) {
      const hosts = (yamlIn(configOf(name), 'discovery')[0].hosts as string[]).slice().sort();
      assert.deepEqual(hosts, zks.map(([n]) => `${n}:2181`).sort(), `${name}: discovery hosts are the ensemble`);
    }
  });

  test('each app listens on the ports its reporter checks; the redis nodes on the cache port', () => {
    const defaults = JSON.parse(/const DEFAULT_PORT = (\{[^}]+\})/.exec(readFileSync(join(DOCKER, 'examples/app/server.mjs'), 'utf8'))![1].replace(/(\w+):/g, '"$1":')) as Record<string, number>;
    let checked = 0;
    for (const [name, s] of agents.filter(([, a]) => a.command![0] === 'lighthouse-reporter')) {
      const app = compose.services[/^service:(.+)$/.exec(s.network_mode ?? '')?.[1] ?? ''];
      if (!app || app.command?.[0]?.startsWith('lighthouse')) continue; // the proxy's reporter checks its own HAProxy's listen
      const wanted = yamlIn(configOf(name), 'services').flatMap((svc) => (svc.ports as number[] | undefined) ?? [svc.port as number]);
      const env = app.environment ?? {};
      const listens = app.command?.[0] === 'redis-server' ? [Number(app.command[app.command.indexOf('--port') + 1])] : (env.PORTS ?? String(defaults[env.APP])).split(',').map(Number);
      assert.deepEqual(listens.sort(), wanted.sort(), `${name}: app listens where the reporter checks`);
      checked++;
    }
    assert.ok(checked >= 8, `every app node checked (${checked})`);
  });

  test("writers put HAProxy's files where the image lets user lighthouse write; healthchecks watch that HAProxy", () => {
    const writable = [...readFileSync(AGENT, 'utf8').matchAll(/install -d [^\n]*?((?:\s+\/\S+)+)\s*$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    assert.ok(writable.length >= 2, `the image creates the writable dirs (${writable.join(' ')})`);
    for (const [name, s] of agents.filter(([, a]) => a.command![0] === 'lighthouse-writer')) {
      const c = haproxyConfig(configOf(name));
      for (const f of [c.config_file, c.socket_file, c.pid_file, c.master_socket, c.server_state_file]) {
        assert.ok(writable.includes(dirname(f)), `${name}: ${f} is in a dir the image makes writable`);
      }
      assert.equal(s.environment?.LIGHTHOUSE_HEALTH_HAPROXY_PID, c.pid_file, `${name}: the healthcheck watches its HAProxy`);
    }
  });

  test("the client publishes its frontends and stats page; the proxy's upstream is the partner's service", () => {
    const c = haproxyConfig(configOf('client'));
    const published = (compose.services.client.ports ?? []).map((p) => Number(p.split(':').at(-1)));
    const frontends = [c.stats!.port, ...Object.values(c.meta_clusters).map((m) => m.port!), ...yamlIn(configOf('client'), 'clusters').flatMap((k) => ((k.haproxy as { port?: number }).port ? [(k.haproxy as { port: number }).port] : []))];
    assert.deepEqual(published.sort(), frontends.sort(), 'every frontend and the stats page published');
    assert.equal(c.bind_address, '0.0.0.0', 'bound where published ports arrive');
    const upstreams = Object.values(haproxyConfig(configOf('proxy01')).proxies).flatMap((p) => p.upstreams.map((u) => u.host));
    for (const u of upstreams) {
      assert.ok(compose.services[u], `upstream ${u} is a service`);
      assert.ok(compose.services.proxy01.depends_on?.includes(u), `proxy01 starts after ${u} (HAProxy resolves it at start)`);
    }
  });
});

describe('docker/healthcheck.mjs', () => {
  let parent: ChildProcess;
  let daemon: number;
  const dir = mkdtempSync(join(tmpdir(), 'lh-health-'));
  const check = async (env: Record<string, string> = {}) =>
    run(process.execPath, [join(DOCKER, 'healthcheck.mjs')], { env: { ...process.env, LIGHTHOUSE_HEALTH_PARENT: String(parent.pid), LIGHTHOUSE_HEALTH_READY: 'off', ...env } }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

  before(async () => {
    // a parent (tini's place) whose child runs as the daemon does: node with the bin's path
    parent = spawn('sh', ['-c', `"${process.execPath}" -e "setInterval(() => {}, 1000)" /usr/local/bin/lighthouse-writer /etc/lighthouse & wait`], { stdio: 'ignore' });
    daemon = await waitFor(() => Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(' ')[0]) || null, 'the daemon under its parent');
  });
  after(() => {
    for (const pid of [daemon, parent.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ready: healthy on 200, unhealthy with the reason on 503 or when nothing listens', async () => {
    let ready = false;
    const srv = createHttpServer((req, res) => void (req.url === '/ready' && ready ? res.writeHead(200).end('ready\n') : res.writeHead(503).end('no ZooKeeper session yet\n')));
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/ready`;
    try {
      const down = await check({ LIGHTHOUSE_HEALTH_READY: url });
      assert.deepEqual([down.code, /503: no ZooKeeper session yet/.test(down.out)], [1, true], down.out);
      ready = true;
      assert.equal((await check({ LIGHTHOUSE_HEALTH_READY: url })).code, 0, 'ready');
    } finally {
      await new Promise((ok) => srv.close(ok));
    }
    const none = await check({ LIGHTHOUSE_HEALTH_READY: url });
    assert.deepEqual([none.code, /ECONNREFUSED/.test(none.out)], [1, true], none.out);
  });

  test('healthy while the daemon runs; not while it is stopped, nor when its HAProxy is gone; not once it exits', async () => {
    assert.equal((await check()).code, 0, 'daemon running');
    process.kill(daemon, 'SIGSTOP');
    const stopped = await check();
    process.kill(daemon, 'SIGCONT');
    assert.deepEqual([stopped.code, /stopped/.test(stopped.out)], [1, true], `stopped daemon: ${stopped.out}`);
    writeFileSync(join(dir, 'alive.pid'), `${parent.pid}\n`);
    writeFileSync(join(dir, 'dead.pid'), '999999999\n');
    assert.equal((await check({ LIGHTHOUSE_HEALTH_HAPROXY_PID: join(dir, 'alive.pid') })).code, 0, 'HAProxy master alive');
    assert.equal((await check({ LIGHTHOUSE_HEALTH_HAPROXY_PID: join(dir, 'dead.pid') })).code, 1, 'HAProxy master gone');
    assert.equal((await check({ LIGHTHOUSE_HEALTH_HAPROXY_PID: join(dir, 'missing.pid') })).code, 1, 'no pid file');
    process.kill(daemon, 'SIGKILL');
    await waitFor(async () => (await check()).code === 1, 'unhealthy once the daemon is gone', 5000);
  });

});
