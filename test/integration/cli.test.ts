/** Exit codes and messages of lighthousectl (validate) and plugin loading: 0 ok, 2 usage, 78 bad config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, testDir } from '../helpers/cli.js';

const ZK = 'discovery/zookeeper.yaml';
const ZK_YAML = 'hosts: ["127.0.0.1:2181"]\npath: /lighthouse\n';
const HAPROXY_YAML = 'config_file: /tmp/x.cfg\nsocket_file: /tmp/x.sock\nstats: {port: 9000}\n';

test('validate: a good dir exits 0', (t) => {
  const d = testDir(t, {
    'discovery/zookeeper.yaml': 'hosts: ["127.0.0.1:2181"]\npath: /lighthouse\n',
    'services/web.yaml': 'port: 8080\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  http: {uri: /health, rise: 2, fall: 1}\n',
    'clusters/web.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n',
    'balancers/haproxy.yaml': 'config_file: /tmp/x.cfg\nsocket_file: /tmp/x.sock\npid_file: /tmp/x.pid\n',
  });
  const r = run('lighthousectl', 'validate', d);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ok: 1 service\(s\), 1 cluster\(s\)/);
});

test('validate: every problem printed with file:line:col and path, exit 78', (t) => {
  const d = testDir(t, {
    'services/web.yaml': 'port: 8080\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  http: {uri: /health, rise: 0}\n',
    'clusters/web.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n  prot: 1\n',
  });
  const r = run('lighthousectl', 'validate', d);
  assert.equal(r.code, 78, r.out);
  assert.match(r.out, /^services\/web\.yaml:5:\d+ checks\.http\.rise: /m);
  assert.match(r.out, /^clusters\/web\.yaml:4:3 haproxy\.prot: unknown key 'prot'/m);
  assert.match(r.out, /2 problem\(s\) in 2 file\(s\)/);
});

test('validate: HAProxy directive lines are checked per section, with file:line:col and the section', (t) => {
  const d = testDir(t, {
    'discovery/zookeeper.yaml': 'hosts: ["127.0.0.1:2181"]\npath: /lighthouse\n',
    'clusters/x.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n  backend:\n    - "mode http"\n    - "bind :80"\n    - "stats socket /run/x.sock"\n',
    'balancers/haproxy.yaml': 'config_file: /tmp/x.cfg\nsocket_file: /tmp/x.sock\nglobal:\n  - "daemon"\n  - "balance roundrobin"\n',
  });
  const r = run('lighthousectl', 'validate', d);
  assert.equal(r.code, 78, r.out);
  assert.match(r.out, /^clusters\/x\.yaml:7:7 haproxy\.backend\.2: 'stats socket' is not valid in a backend section \(valid in: global\)$/m);
  assert.match(r.out, /^balancers\/haproxy\.yaml:5:5 global\.1: 'balance' is not valid in a global section/m);
  assert.match(r.out, /2 problem\(s\) in 2 file\(s\)/);
  // warnings alone do not fail
  writeFileSync(join(d, 'clusters/x.yaml'), 'discovery: zookeeper\nhaproxy:\n  port: 8000\n  backend: ["mode http", "maxconn 500", "bind :80"]\n');
  writeFileSync(join(d, 'balancers/haproxy.yaml'), 'config_file: /tmp/x.cfg\nsocket_file: /tmp/x.sock\n');
  const ok = run('lighthousectl', 'validate', d);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^clusters\/x\.yaml:4:26 haproxy\.backend\.1: warning: 'maxconn' has no effect in a backend section.*use 'fullconn'/m);
  // HAProxy ignores `bind` in a backend too (a warning of its own): reported, not fatal
  assert.match(ok.out, /^clusters\/x\.yaml:4:41 haproxy\.backend\.2: warning: 'bind' has no effect in a backend section/m);
  assert.match(ok.out, /ok: 0 service\(s\), 1 cluster\(s\), 1 discovery, 1 balancer\(s\), 2 warning\(s\)/);
});

test('usage errors exit 2 and point to --help; a missing config dir exits 78', () => {
  assert.equal(run('lighthousectl').code, 2);
  // unknown command, missing argument, unknown option, one argument too many
  for (const args of [['lighthousectl', 'frobnicate'], ['lighthouse-reporter'], ['lighthouse-writer', '--frobnicate', '/tmp', 'b']]) {
    const r = run(args[0], ...args.slice(1));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, new RegExp(`run ${args[0]} --help for usage`), args.join(' '));
  }
  const r = run('lighthouse-writer', '/nonexistent/lighthouse');
  assert.equal(r.code, 78, r.out);
  assert.match(r.out, /\/nonexistent\/lighthouse.*does not exist/);
});

test('third-party plugins named in plugins.yaml are loaded from npm packages', (t) => {
  const d = testDir(t, {
    'plugins.yaml': 'plugins: ["lighthouse-check-file"]\n',
    // a plugin package as npm would install it next to the config
    'node_modules/lighthouse-check-file/package.json': '{"name": "lighthouse-check-file", "version": "1.0.0", "type": "module", "main": "index.js"}',
    'node_modules/lighthouse-check-file/index.js': `import { access } from 'node:fs/promises';
const schema = { safeParse: (v) => (typeof v?.path === 'string' && Object.keys(v).length === 1 ? { success: true, data: v } : { success: false, error: { issues: [{ code: 'custom', path: ['path'], message: 'path (string) is required' }] } }) };
export default { kind: 'check', name: 'file', schema, create: (c) => ({ run: () => access(c.path).then(() => ({ ok: true }), (e) => ({ ok: false, detail: e.message })) }) };`,
    'discovery/zookeeper.yaml': 'hosts: ["127.0.0.1:2181"]\npath: /lighthouse\n',
    'services/web.yaml': 'port: 8080\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  file: {path: /etc/hostname}\n',
  });
  const ok = run('lighthousectl', 'validate', d);
  assert.equal(ok.code, 0, ok.out);
  writeFileSync(join(d, 'services/web.yaml'), 'port: 8080\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  file: {}\n');
  const bad = run('lighthousectl', 'validate', d);
  assert.equal(bad.code, 78, bad.out);
  assert.match(bad.out, /services\/web\.yaml:\d+:\d+ checks\.file\.path: path \(string\) is required/);
  writeFileSync(join(d, 'plugins.yaml'), 'plugins: ["no-such-lighthouse-plugin"]\n');
  const missing = run('lighthousectl', 'validate', d);
  assert.equal(missing.code, 78, missing.out);
  assert.match(missing.out, /cannot find npm package 'no-such-lighthouse-plugin'/);
});

test('a daemon logs an unhandled promise rejection and keeps running (node would exit 1)', () => {
  const script = `
    import { guardRejections } from '${ROOT}src/cli/common.ts';
    import { createLogger } from '${ROOT}src/core/logger.ts';
    guardRejections(createLogger({ level: 'info', format: 'json' }));
    Promise.reject(new Error('nobody listens'));
    setTimeout(() => { console.log('still running'); process.exit(0); }, 50);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  const logged = lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : null)).find((l) => l?.err);
  assert.ok(logged, `the rejection was logged:\n${r.stdout}`);
  assert.match(logged.msg, /unhandled promise rejection/);
  assert.match(logged.err.stack, /nobody listens/);
  assert.equal(lines.at(-1), 'still running');
});


test('validate: references and clashes between files, each at its file:line:col with the other file named', (t) => {
  const d = testDir(t, {
    [ZK]: ZK_YAML,
    'balancers/haproxy.yaml': HAPROXY_YAML,
    'clusters/a.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n',
    'clusters/b.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n',
    'clusters/ab.yaml': 'name: "a b"\ndiscovery: zookeeper\nhaproxy:\n  port: 9000\n',
    'clusters/a_b.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8001\n',
    'clusters/m.yaml': 'discovery: zk\nmeta_cluster: nope\nhaproxy:\n  acl: "path_beg /m"\n',
    'services/s.yaml': 'port: 8080\ndiscovery: zk2\nchecks:\n  interval: 2\n  tcp: {}\n',
  });
  const r = run('lighthousectl', 'validate', d);
  assert.equal(r.code, 78, r.out);
  for (const line of [
    /^clusters\/m\.yaml:1:12 discovery: discovery 'zk' is not configured: no valid discovery\/zk\.yaml \(configured: zookeeper\)$/m,
    /^services\/s\.yaml:2:12 discovery: discovery 'zk2' is not configured/m,
    /^clusters\/m\.yaml:2:15 meta_cluster: meta cluster 'nope' is not defined in balancers\/haproxy\.yaml/m,
    /^clusters\/a\.yaml:3:9 haproxy\.port: port 8000 is also bound by cluster 'b' \(clusters\/b\.yaml\)/m,
    /^clusters\/b\.yaml:3:9 haproxy\.port: port 8000 is also bound by cluster 'a' \(clusters\/a\.yaml\)/m,
    /^clusters\/ab\.yaml:4:9 haproxy\.port: port 9000 is also bound by the stats page \(balancers\/haproxy\.yaml\)/m,
    /^balancers\/haproxy\.yaml:3:15 stats\.port: port 9000 is also bound by cluster 'a b' \(clusters\/ab\.yaml\)/m,
    /^clusters\/ab\.yaml:1:1 cluster 'a b' and cluster 'a_b' \(clusters\/a_b\.yaml\) have one name in HAProxy, 'a_b'/m,
    /^clusters\/a_b\.yaml:1:1 cluster 'a_b' and cluster 'a b' \(clusters\/ab\.yaml\) have one name in HAProxy, 'a_b'/m,
    /^9 problem\(s\) in 7 file\(s\)$/m,
  ]) assert.match(r.out, line);
});

test('validate: the rendered HAProxy config goes through haproxy -c; its alert comes back to the cluster file\'s line', (t) => {
  const d = testDir(t, {
    [ZK]: ZK_YAML,
    'balancers/haproxy.yaml': HAPROXY_YAML,
    'clusters/web.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8000\n  backend:\n    - "mode http"\n    - "balance nonsense"\n',
    'clusters/api.yaml': 'discovery: zookeeper\nhaproxy:\n  port: 8001\n',
  });
  const r = run('lighthousectl', 'validate', d);
  assert.equal(r.code, 78, r.out);
  assert.match(r.out, /^clusters\/web\.yaml:6:7 haproxy\.backend\.1: haproxy -c: balance only supports .* \(rendered line: balance nonsense\)$/m);
  assert.match(r.out, /^1 problem\(s\) in 1 file\(s\)$/m);
  // HAProxy not installed: the render is checked, haproxy -c is skipped, and says so
  writeFileSync(join(d, 'clusters/web.yaml'), 'discovery: zookeeper\nhaproxy:\n  port: 8000\n');
  writeFileSync(join(d, 'balancers/haproxy.yaml'), `${HAPROXY_YAML}haproxy_bin: /nonexistent/haproxy\n`);
  const skipped = run('lighthousectl', 'validate', d);
  assert.equal(skipped.code, 0, skipped.out);
  assert.match(skipped.out, /^note: haproxy: haproxy -c not run \(cannot run \/nonexistent\/haproxy/m);
});
