import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyClusterSchema, haproxyClusterWarnings, haproxyConfigWarnings, haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';

const required = { config_file: '/etc/haproxy/haproxy.cfg', socket_file: '/run/haproxy.sock', pid_file: '/run/haproxy.pid' };

describe('haproxy balancer schema', () => {
  it('fills defaults', () => {
    const c = haproxySchema.parse(required);
    assert.equal(c.master_socket, '/etc/haproxy/haproxy-master.sock');
    assert.equal(c.server_state_file, '/etc/haproxy/haproxy-server-state');
    assert.equal(c.haproxy_bin, 'haproxy');
    assert.equal(c.bind_address, undefined); // frontends 127.0.0.1, stats and proxies every interface (model.ts)
    assert.equal(c.restart_interval, 2);
    assert.deepEqual(c.slots, { min: 16, ratio: 0.5 });
    assert.deepEqual(c.global, []);
    assert.equal(c.defaults.length, 3);
    assert.deepEqual(c.proxies, {});
    assert.deepEqual(c.meta_clusters, {});
    assert.equal(c.stats, undefined);
    assert.equal(c.peer_name, undefined, 'derived at start (local-peer.ts)');
  });

  it('peer_name: a name HAProxy takes for -L', () => {
    assert.equal(haproxySchema.parse({ ...required, peer_name: 'app01.example.com' }).peer_name, 'app01.example.com');
    const bad = haproxySchema.safeParse({ ...required, peer_name: 'a b' });
    assert.equal(bad.success, false);
    assert.match(String(bad.error), /peer name/);
  });

  it('accepts the Python Lighthouse example configs', () => {
    const c = haproxySchema.parse({
      ...required,
      bind_address: '0.0.0.0',
      global: ['daemon', 'maxconn 40000', 'user haproxy'],
      defaults: ['balance roundrobin', 'timeout connect 10s'],
      stats: { port: 9009, uri: '/haproxy', timeouts: { connect: 4000, server: 30000 } },
      proxies: { business_partner: { port: 1100, upstreams: [{ host: 'b2b.partner.com', port: 88, max_conn: 400 }], options: ['mode http'] } },
      meta_clusters: { webapi: { port: 8888, frontend: ['mode http'] } },
      meta_cluster_ports: { other: 8889 },
    });
    assert.equal(c.stats?.timeouts.connect, 4000);
    assert.equal(c.proxies.business_partner.upstreams[0].max_conn, 400);
  });

  it('rejects unknown keys, missing required keys and multi-line directives', () => {
    assert.equal(haproxySchema.safeParse({ ...required, bogus: 1 }).success, false);
    assert.equal(haproxySchema.safeParse({ config_file: '/x' }).success, false);
    assert.equal(haproxySchema.safeParse({ ...required, global: ['daemon\nuser root'] }).success, false);
    assert.equal(haproxySchema.safeParse({ ...required, stats: { port: 70000 } }).success, false);
    assert.equal(haproxySchema.safeParse({ ...required, proxies: { p: { port: 1, upstreams: [] } } }).success, false);
  });

  it('values that become one word of a line are validated: addresses, paths, uri, server_options', () => {
    const bad = (v: Record<string, unknown>) => assert.equal(haproxySchema.safeParse({ ...required, ...v }).success, false, JSON.stringify(v));
    const proxy = (host: string) => ({ proxies: { p: { port: 1, upstreams: [{ host, port: 88 }] } } });
    for (const host of ['127.0.0.1\n  server evil 1.2.3.4:1', '10.0.0.1 backup', '999.1.1.1', '0.0.0.0', 'a_b.example']) bad(proxy(host));
    assert.equal(haproxySchema.parse({ ...required, ...proxy('b2b.partner.com') }).proxies.p.upstreams[0].host, 'b2b.partner.com');
    for (const bind_address of ['127.0.0.1 ssl', '1.2.3.4\n', 'a;b']) bad({ bind_address });
    for (const bind_address of ['0.0.0.0', '::', 'localhost', '10.0.0.1']) assert.equal(haproxySchema.parse({ ...required, bind_address }).bind_address, bind_address);
    bad({ stats: { port: 9000, uri: '/a b' } });
    bad({ stats: { port: 9000, uri: '/a\nprogram x' } });
    bad({ socket_file: '/run/a b.sock' });
    bad({ server_state_file: '/run/state\n' });
    bad({ config_file: '/etc/my haproxy/haproxy.cfg' }); // server_state_file defaults to its directory
    assert.equal(haproxySchema.safeParse({ ...required, config_file: '/etc/my haproxy/haproxy.cfg', server_state_file: '/run/state' }).success, true);
    for (const server_options of ['check; shutdown sessions', 'check # weight 0', 'check\u0000']) assert.equal(haproxyClusterSchema.safeParse({ server_options }).success, false, server_options);
  });

  it('cluster section: server_options as a string or a list', () => {
    assert.equal(haproxyClusterSchema.parse({ port: 8000, server_options: ['check', 'inter 2s'] }).server_options, 'check inter 2s');
    assert.equal(haproxyClusterSchema.parse({ server_options: 'slowstart 10s' }).server_options, 'slowstart 10s');
    const d = haproxyClusterSchema.parse({});
    assert.deepEqual(d, { frontend: [], backend: [], server_options: '' });
    assert.equal(haproxyClusterSchema.safeParse({ port: 8000, nope: 1 }).success, false);
  });

  it("pid_file is optional: the Python Lighthouse's own examples/configs/haproxy.yaml has none", () => {
    const c = haproxySchema.parse({
      config_file: '/etc/haproxy.cfg',
      socket_file: '/var/run/haproxy.sock',
      meta_clusters: { stuff_api: { port: 8080, frontend: ['mode http'] } },
      global: ['daemon', 'maxconn 4000', 'log /dev/log local0', 'log /dev/log local1 notice'],
      defaults: ['balance roundrobin', 'timeout connect 10s', 'timeout client 20s', 'timeout server 20s'],
      stats: { port: 9009, uri: '/haproxy', timeouts: { connect: 4000, server: 30000 } },
    });
    assert.equal(c.pid_file, '/etc/haproxy.pid');
    assert.equal(haproxySchema.parse(required).pid_file, '/run/haproxy.pid', 'a given one is kept');
  });
});

describe('haproxy schema: directive lines per section', () => {
  const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
    (r.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

  it('a keyword HAProxy refuses in its section is an error at the line', () => {
    assert.deepEqual(issues(haproxyClusterSchema.safeParse({ port: 8000, backend: ['mode http', 'daemon'], frontend: ['server a 10.0.0.1:80'] })), [
      "frontend.0: 'server' is not valid in a frontend section (valid in: listen, backend)",
      "backend.1: 'daemon' is not valid in a backend section (valid in: global)",
    ]);
    assert.deepEqual(
      issues(haproxySchema.safeParse({
        ...required,
        global: ['daemon', 'mode http'],
        defaults: ['http-request deny'],
        meta_clusters: { api: { port: 8080, frontend: ['stick-tabel type ip size 1m'] } },
        proxies: { p: { port: 7777, upstreams: [{ host: 'x', port: 1 }], options: ['mode http', 'nbthread 4'] } },
      })),
      [
        "global.1: 'mode' is not valid in a global section (valid in: defaults, frontend, listen, backend)",
        "defaults.0: 'http-request' is only allowed in a named defaults section",
        "proxies.p.options.1: 'nbthread' is not valid in a listen section (valid in: global)",
        "meta_clusters.api.frontend.0: 'stick-tabel' is not a valid keyword in a frontend section; did you mean 'stick-table'?",
      ],
    );
  });

  it("a keyword HAProxy ignores there is a warning: the Lighthouse docs' 'maxconn 500' in a backend loads", () => {
    const section = haproxyClusterSchema.parse({ acl: 'path_beg /api/sprockets', backend: ['mode http', 'maxconn 500'] });
    assert.deepEqual(haproxyClusterWarnings(section), [
      { path: ['backend', 1], message: "'maxconn' has no effect in a backend section, HAProxy ignores it there (valid in: defaults, frontend, listen); use 'fullconn', or 'maxconn' on the server lines" },
    ]);
    const config = haproxySchema.parse({ ...required, proxies: { p: { port: 7777, upstreams: [{ host: 'x', port: 1 }] } }, meta_clusters: { api: { port: 8080, frontend: ['mode http', 'balance roundrobin'] } } });
    assert.deepEqual(haproxyConfigWarnings(config).map((w) => w.path), [['meta_clusters', 'api', 'frontend', 1]]);
    assert.deepEqual(haproxyClusterWarnings(haproxyClusterSchema.parse({ port: 1, backend: ['mode http'] })), []);
  });
});
