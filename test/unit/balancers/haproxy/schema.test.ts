import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyClusterSchema, haproxySchema } from '../../../../src/balancers/haproxy/schema.js';

const required = { config_file: '/etc/haproxy/haproxy.cfg', socket_file: '/run/haproxy.sock', pid_file: '/run/haproxy.pid' };

describe('haproxy balancer schema', () => {
  it('fills defaults', () => {
    const c = haproxySchema.parse(required);
    assert.equal(c.master_socket, '/etc/haproxy/haproxy-master.sock');
    assert.equal(c.server_state_file, '/etc/haproxy/haproxy-server-state');
    assert.equal(c.haproxy_bin, 'haproxy');
    assert.equal(c.bind_address, '127.0.0.1');
    assert.equal(c.restart_interval, 2);
    assert.deepEqual(c.slots, { min: 16, ratio: 0.5 });
    assert.deepEqual(c.global, []);
    assert.equal(c.defaults.length, 3);
    assert.deepEqual(c.proxies, {});
    assert.deepEqual(c.meta_clusters, {});
    assert.equal(c.stats, undefined);
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

  it('cluster section: server_options as a string or a list', () => {
    assert.equal(haproxyClusterSchema.parse({ port: 8000, server_options: ['check', 'inter 2s'] }).server_options, 'check inter 2s');
    assert.equal(haproxyClusterSchema.parse({ server_options: 'slowstart 10s' }).server_options, 'slowstart 10s');
    const d = haproxyClusterSchema.parse({});
    assert.deepEqual(d, { frontend: [], backend: [], server_options: '' });
    assert.equal(haproxyClusterSchema.safeParse({ port: 8000, nope: 1 }).success, false);
  });
});
