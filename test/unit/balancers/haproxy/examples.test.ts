/**
 * Every dir in config-examples/ is a fixture: it loads through the config store with no problem
 * (the Python Lighthouse's keys, unchanged), renders with sample nodes to a complete HAProxy
 * config, and that config passes the real `haproxy -c`, with and without `-L` (this node's peer
 * name). Each dir's own pieces (peers, cookies, meta-cluster ACLs, proxies, stats) are asserted.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore, type LoadedConfig } from '../../../../src/config/store.js';
import { builtinRegistry } from '../../../../src/plugins.js';
import { silentLogger } from '../../../../src/core/logger.js';
import { EXAMPLES_DIR, PEERS, renderExample } from '../../../helpers/examples.js';
import { scriptFor } from '../../../../src/actions/definition.js';

const ROOT = EXAMPLES_DIR;
const HAPROXY = process.env.HAPROXY_BIN ?? 'haproxy';

/** `haproxy -c -f file [-L peer]`: exit code and what it printed */
function haproxyCheck(file: string, peer?: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(HAPROXY, ['-c', '-f', file, ...(peer ? ['-L', peer] : [])], (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

interface Rendered {
  snap: LoadedConfig;
  text: string;
  file: string;
}

const tmp = mkdtempSync(join(tmpdir(), 'lh-examples-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function render(name: string): Promise<Rendered> {
  const { snap, text } = await renderExample(name);
  const file = join(tmp, `${name}.cfg`);
  writeFileSync(file, text);
  return { snap, text, file };
}

/** the section starting with `header`, up to the next blank line */
function section(text: string, header: string): string {
  const start = text.indexOf(`\n${header}\n`);
  assert.ok(start >= 0, `no section '${header}' in:\n${text}`);
  const end = text.indexOf('\n\n', start + 1);
  return text.slice(start + 1, end < 0 ? undefined : end + 1);
}

const STATS = 'listen stats\n  bind :19009\n  mode http\n  stats enable\n  stats uri /haproxy\n  timeout connect 4000\n  timeout server 30000\n';
const CACHE_FRONTEND = 'frontend cache\n  bind 127.0.0.1:19999\n  option tcplog\n  log global\n  default_backend cache\n';
const PEERS_OF = (cluster: string) => `peers ${cluster}\n  peer app01.example.com 127.0.0.1:11024\n  peer app02.example.com 127.0.0.2:11024\n`;
/** server lines of the sample nodes of the cluster at position `i` (sorted by name) */
const servers = (i: number, extra: (name: string) => string) =>
  [0, 1].map((k) => `127.0.0.1:${20000 + i * 10 + k}`).concat(`127.0.0.2:${20000 + i * 10 + 2}`).map((n) => `  server ${n} ${n}${extra(n)}\n`).join('');

/** per example dir: what its rendered config must contain (beyond passing haproxy -c) */
const EXPECT: Record<string, (r: Rendered) => void> = {
  webapp: ({ text, snap }) => {
    assert.deepEqual([...snap.services.keys()], ['webapp']);
    assert.equal(section(text, 'listen stats'), STATS);
    assert.equal(section(text, 'frontend cache'), CACHE_FRONTEND);
    assert.ok(section(text, 'backend cache').startsWith(`backend cache\n  mode tcp\n  balance source\n${servers(0, () => '')}`), 'mode tcp: no cookies');
    assert.equal(section(text, 'peers cache'), PEERS_OF('cache'));
    assert.doesNotMatch(text, /frontend stuff_api/, 'a meta cluster without members has no frontend');
  },
  cache: ({ text, snap }) => {
    assert.deepEqual([...snap.clusters.keys()], []);
    assert.deepEqual([...snap.services.keys()], ['cache']);
    assert.equal(section(text, 'listen stats'), STATS);
    assert.doesNotMatch(text, /^(frontend|backend|peers) /m);
  },
  multiapp: ({ text, snap }) => {
    assert.deepEqual(snap.services.get('webapp')?.ports, [18101, 18102]);
    assert.equal(section(text, 'frontend cache'), CACHE_FRONTEND);
  },
  widgets: ({ text, snap }) => {
    assert.deepEqual([...snap.services.keys()], ['api_widgets']);
    assert.equal(section(text, 'peers cache'), PEERS_OF('cache'));
  },
  sprockets: ({ text }) => {
    assert.equal(section(text, 'frontend proxy'), 'frontend proxy\n  bind 127.0.0.1:17700\n  option tcplog\n  log global\n  default_backend proxy\n');
    assert.equal(section(text, 'peers proxy'), PEERS_OF('proxy'));
  },
  'partner-proxy': ({ text, snap }) => {
    assert.deepEqual([...snap.clusters.keys()], []);
    assert.equal(section(text, 'listen business_partner'), 'listen business_partner\n  bind :17777\n  mode http\n  server 127.0.0.1:18888 127.0.0.1:18888 maxconn 400\n');
  },
  client: ({ text }) => {
    assert.equal(
      section(text, 'frontend stuff_api'),
      'frontend stuff_api\n  bind 127.0.0.1:18080\n  mode http\n' +
        '  acl is_api_sprockets path_beg /api/sprockets\n  use_backend api_sprockets if is_api_sprockets\n' +
        '  acl is_api_widgets path_beg /api/widgets\n  use_backend api_widgets if is_api_widgets\n',
    );
    assert.equal(section(text, 'frontend webapp'), 'frontend webapp\n  bind 127.0.0.1:18000\n  default_backend webapp\n');
    // clusters sorted: api_sprockets 0, api_widgets 1, webapp 2 (sample ports follow load order)
    for (const [cluster, backend] of [['api_sprockets', 'backend api_sprockets'], ['api_widgets', 'backend api_widgets'], ['webapp', 'backend webapp']]) {
      const s = section(text, backend);
      assert.match(s, /^backend \S+\n  mode http\n/);
      const lines = s.split('\n').filter((l) => l.startsWith('  server '));
      assert.equal(lines.length, 3, s);
      for (const l of lines) assert.match(l, /^  server (\S+) \1 cookie \1$/, 'mode http: cookie NAME on every named server');
      assert.match(s, /\n  server-template lh_slot 1-16 0\.0\.0\.0:0 disabled\n/, 'slots carry no cookie');
      assert.equal(section(text, `peers ${cluster}`), PEERS_OF(cluster));
    }
    assert.equal(section(text, 'listen stats'), STATS);
  },
  features: ({ text, snap }) => {
    // the example actions: uptime (default only), service-restart with the aws variant this node's rank picks
    assert.deepEqual([...snap.actions!.keys()].sort(), ['service-restart', 'uptime']);
    assert.deepEqual(snap.node.ranks, ['aws']);
    assert.equal(scriptFor(snap.actions!.get('service-restart')!, snap.node.ranks ?? []).variant, 'aws');
    assert.equal(snap.actions!.get('service-restart')!.confirm, true);
    assert.deepEqual(Object.keys(snap.actions!.get('uptime')!.scripts), ['default']);
    assert.equal(
      section(text, 'frontend shop'),
      'frontend shop\n  bind 127.0.0.1:18280\n  mode http\n  option httplog\n' +
        '  acl is_carts path_beg /carts\n  use_backend carts if is_carts\n  acl is_orders path_beg /orders\n  use_backend orders if is_orders\n',
    );
    const web = section(text, 'backend web');
    assert.ok(web.startsWith('backend web\n  mode http\n  cookie SERVERID insert indirect nocache\n  stick-table type ip size 100k expire 30m peers web\n  stick on src\n'), web);
    assert.ok(web.includes(servers(2, (n) => ` cookie ${n} check inter 2s rise 2 fall 3`)), web);
    assert.match(section(text, 'backend carts'), /\n  server 127\.0\.0\.1:20000 127\.0\.0\.1:20000 cookie 127\.0\.0\.1:20000 check slowstart 10s\n/);
    assert.equal(section(text, 'peers web'), PEERS_OF('web'));
    assert.equal(
      section(text, 'listen partner'),
      'listen partner\n  bind 127.0.0.1:17877\n  mode http\n  option httpchk GET /status\n  server 127.0.0.1:18888 127.0.0.1:18888 maxconn 400\n  server 127.0.0.1:18889 127.0.0.1:18889\n',
    );
    assert.equal(section(text, 'listen stats'), 'listen stats\n  bind 127.0.0.1:19109\n  mode http\n  stats enable\n  stats uri /haproxy\n  timeout connect 4000\n  timeout client 30s\n  timeout server 30000\n');
  },
};

describe('config-examples/', () => {
  // systemd/ holds unit files, not a config dir (test/integration/systemd.test.ts)
  const dirs = readdirSync(ROOT, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'systemd').map((e) => e.name).sort();

  it('has the Python Lighthouse examples (plus features)', () => {
    assert.deepEqual(dirs, ['cache', 'client', 'features', 'multiapp', 'partner-proxy', 'sprockets', 'webapp', 'widgets']);
    assert.deepEqual(Object.keys(EXPECT).sort(), dirs, 'every dir has its assertions');
  });

  for (const name of dirs) {
    it(`${name}: loads, renders, passes haproxy -c (also with -L, the local peer)`, async () => {
      const r = await render(name);
      EXPECT[name](r);
      const plain = await haproxyCheck(r.file);
      assert.equal(plain.code, 0, plain.output);
      // as this node (app01) sees it: HAProxy keeps the peers sections (it is in them)
      const local = await haproxyCheck(r.file, PEERS[0].name);
      assert.equal(local.code, 0, local.output);
      assert.doesNotMatch(local.output, /Removing incomplete section 'peers/);
      if (/^peers /m.test(r.text)) assert.match(plain.output, /Removing incomplete section 'peers/, 'a node outside the peer set drops the sections (a warning, not an error)');
    });
  }

  it('the older root-level haproxy.yaml and a balancer file without pid_file both load', async () => {
    const store = new ConfigStore({ dir: join(ROOT, 'webapp'), registry: builtinRegistry(), logger: silentLogger() });
    const { config: snapshot } = await store.load();
    await store.close();
    const config = snapshot.balancers.get('haproxy') as { pid_file: string; config_file: string };
    assert.equal(config.config_file, 'haproxy.cfg');
    assert.equal(config.pid_file, 'haproxy.pid', 'default: beside config_file');
  });
});
