import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, httpMode, maskMembership, peerModels } from '../../../../../src/balancers/haproxy/config/model.js';
import { Builder } from '../../../../../src/balancers/haproxy/config/model-builder.js';
import { createRenderer } from '../../../../../src/balancers/haproxy/config/render.js';
import { haproxySchema } from '../../../../../src/balancers/haproxy/config/schema.js';
import { checkConfig } from '../../../../../src/balancers/haproxy/config/check.js';
import { LighthouseError } from '../../../../../src/core/errors.js';
import type { Peer, ServiceNode } from '../../../../../src/core/node.js';
import type { DesiredState } from '../../../../../src/core/plugin.js';
import { cluster, node } from '../../../../helpers/haproxy.js';

const config = haproxySchema.parse({
  config_file: '/tmp/lh-render/haproxy.cfg',
  socket_file: '/tmp/lh-render/admin.sock',
  pid_file: '/tmp/lh-render/haproxy.pid',
  global: ['maxconn 4000'],
  defaults: ['mode http', 'timeout connect 5s', 'timeout client 30s', 'timeout server 30s'],
  stats: { port: 9009, uri: '/haproxy', timeouts: { connect: 4000, server: '30s' } },
  proxies: { partner: { port: 1100, upstreams: [{ host: '127.0.0.1', port: 88, max_conn: 400 }], options: ['mode tcp'] } },
  meta_clusters: { webapi: { port: 8888, frontend: ['mode http'] } },
  slots: { min: 4, ratio: 0.5 },
});

const state = (webNodes = [node(9001), node(9002, { weight: 5 }), node(9003, { state: 'maint' })], webBackend = ['balance roundrobin']): DesiredState => ({
  clusters: [
    cluster('web', { port: 8000, frontend: ['option httplog'], backend: webBackend, server_options: 'check inter 2s' }, webNodes),
    cluster('widgets', { acl: 'path_beg /api/widgets', backend: ['mode http'] }, [node(9101)], 'webapi'),
    cluster('sprockets', { acl: "hdr(host) -i a&b.example && path_beg '/api/sprockets'", backend: ['mode http'] }, [node(9201, { host: '::1' })], 'webapi'),
    cluster('orphan', { acl: 'path_beg /x' }, [], 'nometa'),
  ],
});

describe('render', () => {
  const renderer = createRenderer();

  it('renders every section', () => {
    const { model, warnings } = buildModel(config, state());
    const text = renderer.render(model);
    const has = (line: string) => assert.ok(text.includes(line), `missing: ${line}\n---\n${text}`);
    has('global\n  stats socket /tmp/lh-render/admin.sock mode 600 level admin expose-fd listeners\n  stats timeout 2m\n  server-state-file /tmp/lh-render/haproxy-server-state\n  maxconn 4000\n');
    has('defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  load-server-state-from-file global\n');
    has('listen stats\n  bind :9009\n  mode http\n  stats enable\n  stats uri /haproxy\n  timeout connect 4000\n  timeout server 30s\n');
    has('frontend web\n  bind 127.0.0.1:8000\n  option httplog\n  default_backend web\n');
    has(
      'backend web\n  balance roundrobin\n' +
        '  server 127.0.0.1:9001 127.0.0.1:9001 check inter 2s\n' +
        '  server 127.0.0.1:9002 127.0.0.1:9002 check inter 2s weight 5\n' +
        '  server 127.0.0.1:9003 127.0.0.1:9003 check inter 2s disabled\n' +
        '  server-template lh_slot 1-4 0.0.0.0:0 check inter 2s disabled\n',
    );
    has(
      'frontend webapi\n  bind 127.0.0.1:8888\n  mode http\n' +
        "  acl is_sprockets hdr(host) -i a&b.example && path_beg '/api/sprockets'\n  use_backend sprockets if is_sprockets\n" +
        '  acl is_widgets path_beg /api/widgets\n  use_backend widgets if is_widgets\n',
    );
    has('backend sprockets\n  mode http\n  server ::1:9201 [::1]:9201 cookie ::1:9201\n');
    has('listen partner\n  bind :1100\n  mode tcp\n  server 127.0.0.1:88 127.0.0.1:88 maxconn 400\n');
    assert.doesNotMatch(text, /&amp;|&#x27;|\n\n\n/, 'no HTML escaping, no runs of blank lines');
    assert.deepEqual(warnings, ['meta cluster nometa: no port in meta_clusters or meta_cluster_ports: not rendered']);
  });

  it('is pure: same model, same text; the model is not touched', () => {
    const { model } = buildModel(config, state());
    const copy = structuredClone(model);
    assert.equal(renderer.render(model), renderer.render(model));
    assert.deepEqual(model, copy);
    assert.equal(renderer.render(buildModel(config, state()).model), renderer.render(model));
  });

  it('passes haproxy -c', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-render-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      writeFileSync(file, renderer.render(buildModel(config, state()).model));
      const res = await checkConfig('haproxy', file);
      assert.equal(res.ok, true, res.output.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a host-name server (Nerve) that does not resolve is disabled, not fatal: the config still passes haproxy -c', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-render-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      const text = renderer.render(buildModel(config, state([node(9001), node(9002, { host: 'nx.invalid' })])).model);
      assert.match(text, /\n {2}server nx\.invalid:9002 nx\.invalid:9002 init-addr last,libc,none check inter 2s\n/);
      assert.match(text, /\n {2}server 127\.0\.0\.1:9001 127\.0\.0\.1:9001 check inter 2s\n/, 'an IP server has no init-addr');
      writeFileSync(file, text);
      const res = await checkConfig('haproxy', file);
      assert.equal(res.ok, true, res.output.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('membership changes keep the structure; directives and clusters change it', () => {
    const structure = (d: DesiredState) => renderer.render(maskMembership(buildModel(config, d).model));
    const base = structure(state());
    const many = Array.from({ length: 40 }, (_, i) => node(10000 + i));
    assert.equal(structure(state([node(9001)])), base, 'nodes gone');
    assert.equal(structure(state(many)), base, 'nodes added (and more slots)');
    assert.equal(structure(state([node(9001, { weight: 0 }), node(9002, { state: 'drain' })])), base, 'weight, drain');
    assert.notEqual(structure(state(undefined, ['balance leastconn'])), base, 'directive');
    const more = { clusters: [...state().clusters, cluster('api', { port: 8001 }, [])] };
    assert.notEqual(structure(more), base, 'new cluster');
  });

  it('gives every node a stable, unique, HAProxy-safe server name', () => {
    // (names from other sources than the codec, which refuses such hosts; the addresses are IPs)
    const { model } = buildModel(config, state([node(1, { host: 'a b', ip: '127.0.0.1' }), node(1, { host: 'a_b', ip: '127.0.0.2' }), node(2, { host: 'h/x', ip: '127.0.0.3' })]));
    assert.deepEqual(model.backends.find((b) => b.name === 'web')!.servers.map((s) => s.name), ['a_b:1', 'a_b:1_2', 'h_x:2']);
  });

  it('sizes slots from the node count, within HAProxy limits', () => {
    const slotsOf = (n: number, slots: { min: number; ratio: number }) =>
      buildModel({ ...config, slots }, state(Array.from({ length: n }, (_, i) => node(10000 + i)))).model.backends.find((b) => b.name === 'web')!.slots?.count ?? 0;
    assert.equal(slotsOf(3, { min: 4, ratio: 0.5 }), 4);
    assert.equal(slotsOf(100, { min: 4, ratio: 0.5 }), 50);
    assert.equal(slotsOf(4090, { min: 4, ratio: 0.5 }), 5);
    assert.equal(slotsOf(3, { min: 0, ratio: 0 }), 0);
  });
});

describe('render: cookies and peers (as the Python Lighthouse writes them)', () => {
  const renderer = createRenderer();
  const peer = (name: string, ip: string, port = 1024): Peer => ({ name, ip, port });
  const on = (n: ServiceNode, p: Peer | null): ServiceNode => ({ ...n, peer: p });
  const web = (nodes: ServiceNode[], backend = ['mode http', 'cookie SERVERID insert indirect nocache']): DesiredState => ({
    clusters: [cluster('web', { port: 8000, backend, server_options: 'check' }, nodes)],
  });
  const backendText = (d: DesiredState) => {
    const text = renderer.render(buildModel(config, d).model);
    return text.slice(text.indexOf('\nbackend web\n') + 1);
  };

  it('mode http: every named server gets `cookie NAME` (before its options); slots none', () => {
    const text = backendText(web([node(9001), node(9002, { weight: 3 })]));
    assert.ok(
      text.startsWith(
        'backend web\n  mode http\n  cookie SERVERID insert indirect nocache\n' +
          '  server 127.0.0.1:9001 127.0.0.1:9001 cookie 127.0.0.1:9001 check\n' +
          '  server 127.0.0.1:9002 127.0.0.1:9002 cookie 127.0.0.1:9002 check weight 3\n' +
          '  server-template lh_slot 1-4 0.0.0.0:0 check disabled\n',
      ),
      text,
    );
  });

  it('no cookie unless the backend lines say mode http (the last mode line wins)', () => {
    assert.doesNotMatch(backendText(web([node(9001)], ['mode tcp'])), / cookie /);
    assert.doesNotMatch(backendText(web([node(9001)], [])), / cookie /, 'a mode http of the defaults is not enough (as in Lighthouse)');
    assert.equal(httpMode(['mode http', 'mode tcp']), false);
    assert.equal(httpMode(['  MODE   HTTP ']), true);
    assert.equal(httpMode(['option http-server-close']), false);
  });

  it('a cookie keeps to its node: the same name whatever the other members', () => {
    const cookieOf = (nodes: ServiceNode[]) => buildModel(config, web(nodes)).model.backends[0].servers.find((s) => s.port === 9002)!.cookie;
    assert.equal(cookieOf([node(9002)]), '127.0.0.1:9002');
    assert.equal(cookieOf([node(9001), node(9002), node(9003)]), '127.0.0.1:9002');
  });

  it('peers: one `peers CLUSTER` section of the distinct peers, by name; none without peers', () => {
    const a = peer('a.example', '10.0.0.1');
    const b = peer('b.example', '10.0.0.2');
    const text = backendText(web([on(node(9001), b), on(node(9002), a), on(node(9003), a), on(node(9004), null)]));
    assert.match(text, /\n\npeers web\n {2}peer a\.example 10\.0\.0\.1:1024\n {2}peer b\.example 10\.0\.0\.2:1024\n\n/);
    assert.doesNotMatch(backendText(web([node(9001)])), /peers/);
    // the Python Lighthouse's peer identity is IP:PORT; HAProxy also wants unique names
    assert.deepEqual(peerModels([on(node(1), a), on(node(2), peer('z.example', '10.0.0.1'))]), [{ name: 'a.example', address: '10.0.0.1:1024' }]);
    assert.deepEqual(peerModels([on(node(1), peer('a.example', '10.0.0.9', 2000)), on(node(2), a)]), [{ name: 'a.example', address: '10.0.0.1:1024' }]);
    assert.deepEqual(peerModels([on(node(1), peer('a b', '::1'))]), [{ name: 'a_b', address: '[::1]:1024' }]);
  });

  it('a new peer of a section a stick table uses is structural; the same peers, or fewer, are not', () => {
    const a = peer('a.example', '10.0.0.1');
    const b = peer('b.example', '10.0.0.2');
    const sticky = (nodes: ServiceNode[]) => web(nodes, ['mode http', 'stick-table type ip size 1k peers web', 'stick on src']);
    const structure = (d: DesiredState) => renderer.render(maskMembership(buildModel(config, d).model));
    const base = structure(sticky([on(node(9001), a), on(node(9002), a)]));
    assert.equal(structure(sticky([on(node(9001), a), on(node(9003), a), on(node(9004), a)])), base, 'members change, same peer');
    assert.notEqual(structure(sticky([on(node(9001), a), on(node(9002), b)])), base, 'a new peer');
    assert.notEqual(structure(sticky([])), base, 'peers gone');
    // no stick table names the section: HAProxy uses it for nothing, a new peer waits for a reload
    const plain = structure(web([on(node(9001), a)]));
    assert.equal(structure(web([on(node(9001), a), on(node(9002), b)])), plain, 'unused peers section');
    assert.equal(structure(web([])), plain);
    const unused = new Builder(config, renderer, () => {});
    const u1 = unused.build(web([on(node(9001), a)]));
    const u2 = unused.build(web([on(node(9001), a), on(node(9002), b)]));
    assert.equal(u2.models.shape, u1.models.shape, 'unused peers section: no new shape');
    assert.match(u2.text, /\npeers web\n {2}peer a\.example 10\.0\.0\.1:1024\n {2}peer b\.example/, 'but the file lists the peers');

    // the incremental builder the balancer uses agrees, and keeps the shape object when it can
    const builder = new Builder(config, renderer, () => {});
    const first = builder.build(sticky([on(node(9001), a), on(node(9002), a)]));
    const same = builder.build(sticky([on(node(9001), a), on(node(9003), a)]));
    assert.equal(same.models.shape, first.models.shape, 'membership only: same shape');
    const more = builder.build(sticky([on(node(9001), a), on(node(9003), b)]));
    assert.notEqual(more.models.shape, first.models.shape, 'peer set changed: new shape');
    assert.notEqual(more.structure, first.structure);
    assert.match(more.structure, /\npeers web\n {2}peer a\.example 10\.0\.0\.1:1024\n {2}peer b\.example 10\.0\.0\.2:1024\n/);
    assert.equal(more.text, renderer.render(buildModel(config, sticky([on(node(9001), a), on(node(9003), b)])).model), 'incremental = full build');
    // a peer gone is not structure (its line is harmless until a reload drops it), nor a
    // cluster whose nodes all leave for a moment
    const fewer = builder.build(sticky([on(node(9001), a), on(node(9004), a)]));
    assert.equal(fewer.models.shape, more.models.shape, 'a peer gone: same shape');
    assert.doesNotMatch(fewer.text, /peer b\.example/, 'the file lists current peers');
    assert.equal(builder.build(sticky([])).models.shape, more.models.shape, 'all nodes gone: same shape');
    assert.equal(builder.build(sticky([on(node(9005), b)])).models.shape, more.models.shape, 'a known peer back: same shape');
    // a structural change drops the gone peers from the structure (the reload it causes does)
    const other = builder.build({ clusters: [...sticky([on(node(9001), a)]).clusters, cluster('api', { port: 8001 }, [])] });
    assert.notEqual(other.models.shape, more.models.shape);
    assert.doesNotMatch(other.structure, /peer b\.example/);
  });

  it('mode http with cookies and a stick table shared over peers passes haproxy -c', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-render-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      const nodes = [on(node(9001), peer('a.example', '127.0.0.1', 10240)), on(node(9002), peer('b.example', '127.0.0.2', 10240))];
      writeFileSync(file, renderer.render(buildModel(config, web(nodes, ['mode http', 'cookie SERVERID insert indirect nocache', 'stick-table type ip size 1m peers web', 'stick on src'])).model));
      const res = await checkConfig('haproxy', file);
      assert.equal(res.ok, true, res.output.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('render: fast path', () => {
  const handlebars = createRenderer({ fast: false });

  it('the shipped templates run as generated functions, byte-identical to Handlebars', () => {
    const renderer = createRenderer();
    assert.deepEqual(renderer.slow, []);
    assert.deepEqual(handlebars.slow.length, handlebars.files.length);
    const odd = [node(1, { weight: 0 }), node(2, { weight: 256, state: 'drain' }), node(3, { host: '::1', state: 'maint' }), node(4, { host: 'a b', ip: '127.0.0.4' })];
    const peered = odd.map((n, i) => ({ ...n, peer: { name: `p${i % 2}`, ip: '10.0.0.1', port: 1024 + (i % 2) } }));
    for (const d of [state(), state([]), state(odd, []), state(peered, ['mode http']), { clusters: [] }]) {
      const { model } = buildModel(config, d);
      assert.equal(renderer.render(model), handlebars.render(model));
      assert.equal(renderer.render(maskMembership(model)), handlebars.render(maskMembership(model)));
    }
    const bare = buildModel(haproxySchema.parse({ config_file: '/tmp/x.cfg', socket_file: '/tmp/x.sock', pid_file: '/tmp/x.pid', defaults: [] }), state()).model;
    assert.equal(renderer.render(bare), handlebars.render(bare), 'no stats, no proxies, no defaults');
  });

  it('a backend is rendered again only as a new object (models are immutable)', () => {
    const renderer = createRenderer();
    const { model } = buildModel(config, state());
    const first = renderer.render(model);
    const web = model.backends.findIndex((b) => b.name === 'web');
    const changed = { ...model, backends: model.backends.map((b, i) => (i === web ? { ...b, servers: b.servers.slice(1) } : b)) };
    const second = renderer.render(changed);
    assert.notEqual(second, first);
    assert.equal(second, handlebars.render(changed));
    assert.equal(renderer.render(model), first);
  });

  it('renderParts: the same text in pieces, the cached backends\' texts as they are kept', () => {
    const renderer = createRenderer();
    const { model } = buildModel(config, state());
    const parts = renderer.renderParts(model);
    assert.equal(parts.join(''), renderer.render(model));
    assert.equal(parts.join(''), handlebars.render(model));
    assert.ok(parts.every((p) => !/[\u0000\u0001]/.test(p)), 'no marker left');
    const web = renderer.renderParts(model).find((p) => p.startsWith('backend web\n'));
    assert.ok(web, 'a backend is a piece of its own');
    assert.equal(renderer.renderParts(model).find((p) => p.startsWith('backend web\n')), web, 'the same kept string each time');
    assert.equal(renderer.render(maskMembership(model)), renderer.renderParts(maskMembership(model)).join(''));
  });

  it('renderParts: one piece when a cached partial is re-indented, or the main template is Handlebars', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-tpl-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg.hbs'), '{{header}}\n{{#each backends}}\n  {{> backend}}\n{{/each}}\n');
      const model = buildModel(config, state()).model;
      const indented = createRenderer({ templateDir: dir });
      assert.deepEqual(indented.renderParts(model), [indented.render(model)]);
      assert.match(indented.render(model), /\n {2}backend web\n {4}balance roundrobin\n/);
      writeFileSync(join(dir, 'haproxy.cfg.hbs'), '{{header}}\n{{#each backends}}\n{{> backend}}{{@index}}\n{{/each}}\n');
      const slow = createRenderer({ templateDir: dir });
      assert.deepEqual(slow.renderParts(model), [slow.render(model)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a template outside the subset runs through Handlebars, the others stay fast', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-tpl-'));
    try {
      mkdirSync(join(dir, 'partials'));
      const file = join(dir, 'partials', 'backend.hbs');
      writeFileSync(file, 'backend {{name}}\n{{#each servers}}\n  {{> server}}{{#if @last}}  # {{@index}} {{lookup ../this "cluster"}}\n{{/if}}\n{{/each}}\n');
      const r = createRenderer({ templateDir: dir });
      assert.deepEqual(r.slow, [file]);
      const text = r.render(buildModel(config, state()).model);
      assert.match(text, /\nbackend web\n {2}server 127\.0\.0\.1:9001 127\.0\.0\.1:9001 check inter 2s\n(.*\n){2} {2}# 2 web\n/);
      assert.equal(text, createRenderer({ templateDir: dir, fast: false }).render(buildModel(config, state()).model));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('render: user templates', () => {
  it('a template_dir partial overrides the shipped one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-tpl-'));
    try {
      mkdirSync(join(dir, 'partials'));
      writeFileSync(join(dir, 'partials', 'server.hbs'), 'server {{name}} {{address}} # custom\n');
      const text = createRenderer({ templateDir: dir }).render(buildModel(config, state()).model);
      assert.match(text, /\n {2}server 127\.0\.0\.1:9001 127\.0\.0\.1:9001 # custom\n/);
      assert.match(text, /\nfrontend web\n/, 'other partials still shipped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('errors name the template file (strict mode: a missing field is an error)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-tpl-'));
    try {
      mkdirSync(join(dir, 'partials'));
      writeFileSync(join(dir, 'partials', 'server.hbs'), 'server {{name}} {{nosuch}}\n');
      const r = createRenderer({ templateDir: dir });
      assert.throws(
        () => r.render(buildModel(config, state()).model),
        (err: LighthouseError) => err.code === 'LH_ERR_TEMPLATE' && err.message.includes(join(dir, 'partials', 'server.hbs')) && /nosuch/.test(err.message),
      );
      writeFileSync(join(dir, 'partials', 'server.hbs'), 'server {{#if name}}\n');
      assert.throws(() => createRenderer({ templateDir: dir }), (err: LighthouseError) => err.code === 'LH_ERR_TEMPLATE' && err.message.includes('server.hbs'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
