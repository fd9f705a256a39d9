import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import table from '../../../../../src/balancers/haproxy/config/directives.json' with { type: 'json' };
import { directiveIssues, keywordOf, validateLines, type Section } from '../../../../../src/balancers/haproxy/config/directives.js';

const SECTIONS: Section[] = ['global', 'defaults', 'frontend', 'listen', 'backend', 'peers'];
const PROXIES: Section[] = ['defaults', 'frontend', 'listen', 'backend'];

describe('directives: keywordOf', () => {
  const cases: [string, string][] = [
    ['daemon', 'daemon'],
    ['  maxconn 40000', 'maxconn'],
    ['option httplog', 'option httplog'],
    ['no option httplog', 'option httplog'],
    ['default option redispatch', 'option redispatch'],
    ['timeout connect 10s', 'timeout connect'],
    ['tcp-request content accept if { req.ssl_hello_type 1 }', 'tcp-request content'],
    ['stats uri /haproxy_stats', 'stats uri'],
    ['stats socket /run/haproxy.sock level admin', 'stats socket'],
    ['capture request header Host len 20', 'capture request header'],
    ['http-request set-header X-Forwarded-Proto https', 'http-request'],
    ['http-check expect status 200', 'http-check expect'],
    ['http-check set-var(check.port) int(80)', 'http-check set-var'],
    ['persist rdp-cookie(mstshash)', 'persist rdp-cookie'],
    ['stick on src', 'stick on'],
    ['stick-table type ip size 1m', 'stick-table'],
    ['default_backend web', 'default_backend'],
    ['default-server inter 2s', 'default-server'],
    ['tune.ssl.default-dh-param 2048', 'tune.ssl.default-dh-param'],
    ['option bogus', 'option bogus'],
    ['timeout bogus 1s', 'timeout bogus'],
    ['', ''],
    ['   ', ''],
    ['# a comment', ''],
  ];
  for (const [line, keyword] of cases) {
    it(`${JSON.stringify(line)} -> ${JSON.stringify(keyword)}`, () => assert.equal(keywordOf(line), keyword));
  }
});

describe('directives: valid lines pass', () => {
  // the Python Lighthouse documentation's examples
  const examples: [Section, string[]][] = [
    ['global', ['daemon', 'maxconn 40000', 'user haproxy', 'log /var/run/syslog local2']],
    ['defaults', ['balance roundrobin', 'timeout connect 10s', 'timeout client 20s', 'timeout server 20s']],
    ['frontend', ['log global', 'mode http']],
    ['backend', ['mode http', 'option httpchk GET /health', 'http-check expect status 200', 'cookie SERVERID insert indirect nocache', 'balance leastconn']],
    ['listen', ['mode http']],
  ];
  for (const [section, lines] of examples) {
    it(`Lighthouse docs example: ${section}`, () => assert.deepEqual(validateLines(section, lines), []));
  }

  it("Lighthouse docs example 'maxconn 500' in a backend: HAProxy ignores it there, so a warning", () => {
    // haproxy 2.6: "'maxconn' ignored because backend 'b' has no frontend capability. Maybe you
    // want 'fullconn' instead ?"; the Python Lighthouse dropped the line (its table had no
    // backend maxconn): the config works either way, so it must not be an error
    assert.deepEqual(validateLines('backend', ['mode http', 'maxconn 500']), [
      {
        index: 1,
        line: 'maxconn 500',
        message: "'maxconn' has no effect in a backend section, HAProxy ignores it there (valid in: defaults, frontend, listen); use 'fullconn', or 'maxconn' on the server lines",
        severity: 'warning',
      },
    ]);
  });

  it('real-world lines in each section', () => {
    const lines: Record<Section, string[]> = {
      global: [
        'chroot /var/lib/haproxy', 'pidfile /run/haproxy.pid', 'nbthread 4',
        'stats socket /run/haproxy.sock mode 660 level admin', 'stats timeout 30s', 'tune.bufsize 32768',
        'tune.some-future-knob 1', 'ssl-default-bind-ciphers ECDHE+AESGCM', 'ca-base /etc/ssl/certs',
        'crt-base /etc/ssl/private', 'lua-load /etc/haproxy/x.lua', 'master-worker', 'ulimit-n 65536',
        'spread-checks 5', 'server-state-file /var/lib/haproxy/state',
        'server-state-base /var/lib/haproxy', 'localpeer me', 'hard-stop-after 30s', 'presetenv A b',
        'setenv A b', 'no busy-polling',
      ],
      defaults: [
        'mode http', 'log global', 'option httplog', 'option dontlognull', 'no option http-server-close',
        'option forwardfor except 127.0.0.0/8', 'option redispatch', 'retries 3',
        'timeout http-request 10s', 'timeout queue 1m', 'timeout check 10s', 'maxconn 3000',
        'errorfile 503 /etc/haproxy/errors/503.http', 'default-server inter 3s fall 3',
      ],
      frontend: [
        'bind :80', 'acl is_api path_beg /api', 'use_backend api if is_api', 'default_backend web',
        'http-request set-header X-Forwarded-Proto http', 'tcp-request inspect-delay 5s',
        'tcp-request content accept if { req.ssl_hello_type 1 }', 'capture request header Host len 20',
        'option forwardfor', 'stats uri /stats', 'monitor-uri /health',
      ],
      listen: [
        'bind 127.0.0.1:9000', 'stats enable', 'stats uri /', 'server a 10.0.0.1:80 check',
        'stick-table type ip size 1m expire 30m', 'stick on src', 'option tcplog', 'balance source',
      ],
      backend: [
        'server web1 10.0.0.1:80 check', 'server-template web 5 web.example.com:80 check',
        'hash-type consistent', 'fullconn 1000', 'option tcp-check', 'tcp-check connect',
        'compression algo gzip', 'filter compression', 'http-reuse safe', 'description the web tier',
        'id 42', 'disabled', 'enabled', 'no log',
      ],
      peers: [
        'peer a 10.0.0.1:1024', 'server b 10.0.0.2:1024', 'table t1 type ip size 10k', 'disabled',
        'enabled',
      ],
    };
    for (const section of SECTIONS) assert.deepEqual(validateLines(section, lines[section]), [], section);
  });

  it('blank lines and comments pass anywhere', () => {
    for (const section of SECTIONS) assert.deepEqual(validateLines(section, ['', '  ', '# nothing', '  # indented']), []);
  });
});

describe('directives: invalid lines fail with a clear message', () => {
  it('unknown keyword', () => {
    assert.deepEqual(validateLines('backend', ['mode http', 'bogus 1']), [
      { index: 1, line: 'bogus 1', message: "'bogus' is not a valid keyword in a backend section", severity: 'error' },
    ]);
    assert.equal(validateLines('frontend', ['option bogus'])[0].message, "'option bogus' is not a valid keyword in a frontend section");
  });

  it('typos get a suggestion', () => {
    assert.equal(validateLines('frontend', ['option httplgo'])[0].message, "'option httplgo' is not a valid keyword in a frontend section; did you mean 'option httplog'?");
    assert.equal(validateLines('global', ['deamon'])[0].message, "'deamon' is not a valid keyword in a global section; did you mean 'daemon'?");
  });

  it('keyword of another section', () => {
    assert.deepEqual(validateLines('frontend', ['server a 1.2.3.4:80']), [
      { index: 0, line: 'server a 1.2.3.4:80', message: "'server' is not valid in a frontend section (valid in: listen, backend)", severity: 'error' },
    ]);
    assert.equal(validateLines('backend', ['daemon'])[0].message, "'daemon' is not valid in a backend section (valid in: global)");
    assert.equal(validateLines('global', ['mode http'])[0].message, "'mode' is not valid in a global section (valid in: defaults, frontend, listen, backend)");
    assert.equal(validateLines('peers', ['timeout connect 1s'])[0].message, "'timeout connect' is not valid in a peers section (valid in: defaults, listen, backend)");
    assert.equal(validateLines('defaults', ['use_backend x'])[0].message, "'use_backend' is not valid in a defaults section (valid in: frontend, listen)");
  });

  it('a proxy keyword without the capability of its frontend/backend is a warning, as in HAProxy', () => {
    assert.deepEqual(validateLines('backend', ['bind :80']), [
      { index: 0, line: 'bind :80', message: "'bind' has no effect in a backend section, HAProxy ignores it there (valid in: frontend, listen)", severity: 'warning' },
    ]);
    assert.equal(validateLines('frontend', ['balance roundrobin'])[0].severity, 'warning');
    assert.equal(validateLines('backend', ['option httplog'])[0].severity, 'warning');
    // what HAProxy refuses stays an error
    for (const [section, line] of [['frontend', 'server a 1.2.3.4:80'], ['frontend', 'default-server inter 1s'], ['backend', 'tcp-request connection reject'], ['backend', 'declare capture request len 10']] as const) {
      assert.equal(validateLines(section, [line])[0].severity, 'error', `${section}: ${line}`);
    }
    // other sections never ignore: unknown there is refused
    assert.equal(validateLines('defaults', ['use_backend x'])[0].severity, 'error');
    assert.equal(validateLines('global', ['mode http'])[0].severity, 'error');
    assert.equal(validateLines('backend', ['daemon'])[0].severity, 'error');
  });

  it('removed keywords name the version', () => {
    assert.deepEqual(validateLines('backend', ['reqadd X-Foo:\\ bar']), [
      { index: 0, line: 'reqadd X-Foo:\\ bar', message: "'reqadd' was removed in HAProxy 2.1; use 'http-request add-header' instead", severity: 'error' },
    ]);
    assert.match(validateLines('frontend', ['rspadd X-Foo:\\ bar'])[0].message, /^'rspadd' was removed in HAProxy 2\.1/);
    assert.match(validateLines('frontend', ['block if TRUE'])[0].message, /^'block' was removed in HAProxy 2\.1/);
    assert.match(validateLines('defaults', ['option forceclose'])[0].message, /^'option forceclose' was removed in HAProxy 2\.0/);
    assert.match(validateLines('defaults', ['contimeout 5s'])[0].message, /^'contimeout' was removed in HAProxy 2\.1; use 'timeout connect'/);
    // removed everywhere: reported as removed even in a section that never had it
    assert.match(validateLines('defaults', ['reqadd X-Foo:\\ bar'])[0].message, /^'reqadd' was removed/);
  });

  it('versions: removed after 2.4 depends on the HAProxy in use', () => {
    // without a version a keyword passes if some supported version (2.4+) has it
    assert.deepEqual(validateLines('global', ['nbproc 2']), []);
    assert.deepEqual(validateLines('global', ['nbproc 2'], { haproxyVersion: '2.4.22' }), []);
    assert.equal(validateLines('global', ['nbproc 2'], { haproxyVersion: '2.6.12' })[0].message, "'nbproc' was removed in HAProxy 2.5; use 'nbthread' instead");
    assert.deepEqual(validateLines('backend', ['bind-process 1'], { haproxyVersion: '2.6' }), []);
    assert.match(validateLines('backend', ['bind-process 1'], { haproxyVersion: '3.0' })[0].message, /^'bind-process' was removed in HAProxy 2\.7/);
    // removed from proxies only: the global keyword stays
    assert.match(validateLines('backend', ['grace 10s'], { haproxyVersion: '2.6' })[0].message, /^'grace' was removed in HAProxy 2\.5/);
    assert.deepEqual(validateLines('global', ['grace 10s'], { haproxyVersion: '2.6' }), []);
  });

  it('versions: newer keywords', () => {
    assert.deepEqual(validateLines('backend', ['guid web'], { haproxyVersion: '3.0.5' }), []);
    assert.equal(validateLines('backend', ['guid web'], { haproxyVersion: '2.6.12' })[0].message, "'guid' requires HAProxy 3.0 or newer (configured: 2.6.12)");
    assert.deepEqual(validateLines('backend', ['guid web']), [], 'no version: valid in some supported version');
    assert.match(validateLines('peers', ['shards 3'], { haproxyVersion: '2.6' })[0].message, /requires HAProxy 2\.8/);
    assert.throws(() => validateLines('global', ['daemon'], { haproxyVersion: 'latest' }), /invalid HAProxy version 'latest'/);
  });

  it("'no' only for negatable keywords", () => {
    assert.deepEqual(validateLines('frontend', ['no option dontlognull', 'no log']), []);
    assert.equal(validateLines('frontend', ['no option httplog'])[0].message, "'option httplog' does not accept the 'no' prefix");
    assert.equal(validateLines('frontend', ['no timeout client'])[0].message, "'timeout client' does not accept the 'no' prefix");
  });

  it('rules that need a named defaults section', () => {
    assert.equal(validateLines('defaults', ['http-request deny'])[0].message, "'http-request' is only allowed in a named defaults section");
    assert.deepEqual(validateLines('defaults', ['http-request deny', 'acl a src 10.0.0.0/8'], { namedDefaults: true }), []);
  });

  it('directiveIssues: paths point at the offending list item, one severity at a time', () => {
    const lines = ['mode http', 'bind :80', 'daemon'];
    assert.deepEqual(directiveIssues('backend', lines, ['haproxy', 'backend']), [
      { path: ['haproxy', 'backend', 2], message: "'daemon' is not valid in a backend section (valid in: global)" },
    ]);
    assert.deepEqual(directiveIssues('backend', lines, ['haproxy', 'backend'], { severity: 'warning' }), [
      { path: ['haproxy', 'backend', 1], message: "'bind' has no effect in a backend section, HAProxy ignores it there (valid in: frontend, listen)" },
    ]);
  });
});

describe('directives: the table', () => {
  type Entry = { in: string[]; since?: string | Record<string, string>; removed?: string | Record<string, string> };
  const keywords = table.keywords as Record<string, Entry>;
  const version = /^\d+\.\d+$/;
  const versions = (v: Entry['since']) => (v === undefined ? [] : typeof v === 'string' ? [v] : Object.values(v));

  it('has the expected shape', () => {
    assert.deepEqual(table.sections, SECTIONS);
    for (const [k, e] of Object.entries({ ...keywords, ...(table.prefixes as Record<string, Entry>) })) {
      assert.ok(e.in.length && e.in.every((s) => SECTIONS.includes(s as Section)), k);
      for (const v of [...versions(e.since), ...versions(e.removed)]) assert.match(v, version, k);
    }
  });

  it('covers the keyword matrix (2.6) and the usual global and peers keywords', () => {
    const count = (s: Section) => Object.values(keywords).filter((e) => e.in.includes(s) && typeof e.removed !== 'string').length;
    for (const s of PROXIES) assert.ok(count(s) > 100, `${s}: ${count(s)}`);
    assert.ok(count('global') > 200, 'global keywords from the docs');
    assert.ok(count('peers') >= 10, 'peers keywords from the docs');
  });
});

// --- the table against the real HAProxy -------------------------------------------------------

/** One sample line per keyword (args HAProxy 2.6 accepts); `[line, group]` puts lines that must
 * not share a proxy (two log formats, two health-check types) into proxy number `group`. */
const PROXY_SAMPLES: (string | [string, number])[] = [
  // rules in evaluation order (HAProxy warns about a tcp-request rule after an http-request one)
  'tcp-request connection accept', 'tcp-request session accept', 'tcp-request content accept', 'tcp-request inspect-delay 1s',
  'tcp-response content accept', 'tcp-response inspect-delay 1s', 'monitor fail if FALSE',
  'acl is_local src 127.0.0.1', 'backlog 100', 'balance roundrobin', 'bind 127.0.0.1:{port}',
  'capture cookie SRV len 32', 'capture request header Host len 20', 'capture response header Server len 20',
  'clitcpka-cnt 3', 'clitcpka-idle 10s', 'clitcpka-intvl 5s', 'compression algo gzip', 'compression type text/html',
  'cookie SERVERID insert indirect nocache', 'declare capture request len 10', 'default-server inter 2s',
  'description a sample proxy', 'disabled', 'enabled',
  'email-alert mailers mailers_1', 'email-alert from a@example.com', 'email-alert to b@example.com',
  'email-alert level notice', 'email-alert myhostname lb1', 'errorfile 503 {dir}/503.http', 'errorfiles errors_1',
  'errorloc 500 http://example.com/500', 'errorloc302 502 http://example.com/502', 'errorloc303 504 http://example.com/504',
  'error-log-format %ci', 'force-persist if TRUE', 'filter compression', 'fullconn 100', 'hash-type consistent',
  'hash-balance-factor 150', 'http-after-response set-header X-A 1', 'http-error status 429',
  'http-request set-header X-Req 1', 'http-response set-header X-Res 1', 'http-reuse safe', 'http-send-name-header X-Srv',
  'id {id}', 'ignore-persist if FALSE', 'load-server-state-from-file none', 'log global', 'log-tag tag1',
  'max-keep-alive-queue 10', 'max-session-srv-conns 5', 'maxconn 100', 'mode http', 'monitor-uri /_mon',
  'option abortonclose', 'option accept-invalid-http-request', 'option accept-invalid-http-response', 'option allbackups',
  'option checkcache', 'option clitcpka', 'option contstats', 'option disable-h2-upgrade', 'option dontlog-normal',
  'option dontlognull', 'option forwardfor', 'option http-buffer-request', 'option http-ignore-probes',
  'option http-keep-alive', 'option http-no-delay', 'option http-pretend-keepalive', 'option http-restrict-req-hdr-names preserve',
  'option http-use-proxy-header', 'option httplog', 'option idle-close-on-response', 'option independent-streams',
  'option log-health-checks', 'option log-separate-errors', 'option logasap', 'option nolinger', 'option originalto',
  'option persist', 'option prefer-last-server', 'option redispatch', 'option socket-stats', 'option splice-auto',
  'option splice-request', 'option splice-response', 'option srvtcpka', 'option tcp-smart-accept', 'option tcp-smart-connect',
  'option tcpka', 'no option dontlognull', 'persist rdp-cookie', 'rate-limit sessions 10',
  'redirect prefix /x if FALSE', 'retries 3', 'retry-on conn-failure', 'server s1 127.0.0.1:9', 'server-state-file-name use-backend-name',
  'server-template srv 2 127.0.0.1:9', 'source 0.0.0.0', 'srvtcpka-cnt 3', 'srvtcpka-idle 10s', 'srvtcpka-intvl 5s',
  'stats enable', 'stats admin if FALSE', 'stats auth admin:secret', 'stats hide-version',
  'stats realm Stats', 'stats refresh 5s', 'stats scope .', 'stats show-desc', 'stats show-legends', 'stats show-modules',
  'stats show-node', 'stats uri /stats', 'stick-table type ip size 1k', 'stick match src', 'stick on src',
  'stick store-request src', 'stick store-response src',
  'timeout check 1s', 'timeout client 1s', 'timeout client-fin 1s', 'timeout connect 1s', 'timeout http-keep-alive 1s',
  'timeout http-request 1s', 'timeout queue 1s', 'timeout server 1s', 'timeout server-fin 1s', 'timeout tarpit 1s',
  'timeout tunnel 1s', 'unique-id-format %{+X}o\\ %ci', 'unique-id-header X-Id', 'use_backend backend_1 if FALSE',
  'use-server s1 if FALSE',
  ['option httpchk GET /health', 2], ['http-check comment c', 2], ['http-check connect', 2], ['http-check disable-on-404', 2],
  ['http-check send meth GET uri /', 2], ['http-check expect status 200', 2], ['http-check send-state', 2],
  ['http-check set-var(check.a) str(b)', 2], ['http-check set-var-fmt(check.b) %[str(c)]', 2], ['http-check unset-var(check.a)', 2],
  ['option tcplog', 2], ['log-format %ci', 3], ['log-format-sd [exampleSDID@1234\\ x=y]', 3], ['mode http', 4], ['option httpslog', 4],
  ['option tcp-check', 3], ['tcp-check comment c', 3], ['tcp-check connect', 3], ['tcp-check send ping', 3],
  ['tcp-check send-lf %[str(a)]', 3], ['tcp-check send-binary 50', 3], ['tcp-check send-binary-lf %[str(a),hex]', 3],
  ['tcp-check expect string ok', 3], ['tcp-check set-var(check.a) str(b)', 3], ['tcp-check set-var-fmt(check.b) %[str(c)]', 3],
  ['tcp-check unset-var(check.a)', 3], ['option ssl-hello-chk', 4], ['option smtpchk', 5], ['option mysql-check', 6],
  ['option pgsql-check user u', 7], ['option redis-check', 8], ['option ldap-check', 9], ['option spop-check', 10],
  ['option external-check', 11], ['external-check command /bin/true', 11], ['external-check path /bin', 11],
  ['option http-server-close', 12], ['option httpclose', 13],
  // these conflict with balance, stats auth, servers
  ['option transparent', 14], ['stats http-request allow', 14], ['default_backend backend_1', 14],
];

const GLOBAL_SAMPLES = [
  'daemon', 'maxconn 40000', 'user haproxy', 'group haproxy', 'log /var/run/syslog local2', 'log-tag lh', 'log-send-hostname',
  'chroot /var/lib/haproxy', 'pidfile {dir}/haproxy.pid', 'nbthread 2', 'cpu-map 1/all 0', 'stats socket {dir}/admin.sock level admin',
  'stats timeout 30s', 'stats maxconn 10', 'tune.bufsize 32768', 'tune.maxrewrite 1024', 'tune.http.maxhdr 101',
  'tune.ssl.default-dh-param 2048', 'ssl-default-bind-ciphers ECDHE+AESGCM', 'ssl-default-bind-options ssl-min-ver TLSv1.2',
  'ssl-default-server-options ssl-min-ver TLSv1.2', 'ssl-server-verify none', 'ca-base /etc/ssl/certs', 'crt-base /etc/ssl/private',
  'lua-load {dir}/empty.lua', 'lua-prepend-path {dir}/?.lua', 'master-worker', 'ulimit-n 100000', 'spread-checks 5',
  'max-spread-checks 1s', 'server-state-file {dir}/state', 'server-state-base {dir}', 'localpeer local', 'hard-stop-after 30s',
  'presetenv LH_A b', 'setenv LH_B c', 'resetenv PATH', 'unsetenv LH_B', 'node lb1', 'description the balancer',
  'external-check', 'insecure-fork-wanted', 'unix-bind prefix {dir}/', 'maxconnrate 100', 'maxsessrate 100',
  'maxsslrate 100', 'maxcomprate 100', 'maxcompcpuusage 90', 'maxpipes 100', 'noepoll', 'nopoll', 'nosplice', 'nogetaddrinfo',
  'noreuseport', 'no busy-polling', 'set-dumpable', 'strict-limits', 'numa-cpu-mapping', 'grace 1s', 'close-spread-time 1s',
  'h1-case-adjust content-length Content-Length', 'mworker-max-reloads 5', 'set-var proc.a str(b)', 'profiling.tasks auto',
  'zero-warning', 'default-path config', 'issuers-chain-path {dir}/chain', 'busy-polling',
];

interface Sample {
  keyword: string;
  line: string;
  group: number;
}

function samples(): Sample[] {
  return PROXY_SAMPLES.map((s): [string, number] => (typeof s === 'string' ? [s, 1] : s)).map(([line, group]) => ({ keyword: keywordOf(line), line, group }));
}

const V26 = { haproxyVersion: '2.6.12', namedDefaults: true };
const validIn = (section: Section, line: string) => validateLines(section, [line], V26).length === 0;

/** Generated config: positive proxies (the table says every line is valid there), plus, when
 * `negatives`, one proxy per section with the lines the table rejects there. Returns the text
 * and, per config line number, the sample line and whether the table accepted it. */
function buildConfig(dir: string, negatives: boolean): { text: string; expect: Map<number, { line: string; valid: boolean; section: Section }> } {
  const out: string[] = [];
  const expect = new Map<number, { line: string; valid: boolean; section: Section }>();
  let port = 20000;
  let id = 1000;
  const push = (line: string, section?: Section, valid?: boolean) => {
    out.push(line.replaceAll('{dir}', dir).replaceAll('{port}', String(port++)).replaceAll('{id}', String(id++)));
    if (section) expect.set(out.length, { line, valid: valid!, section });
  };
  push('global');
  for (const line of GLOBAL_SAMPLES) push(`  ${line}`, 'global', validIn('global', line));
  push('mailers mailers_1');
  push('  mailer m1 127.0.0.1:25');
  push('http-errors errors_1');
  push(`  errorfile 503 ${dir}/503.http`);
  // peers: "peer" lines and "bind" lines may not share a section
  push('peers peers_1');
  for (const line of ['peer local 127.0.0.1:10001', 'peer other 127.0.0.1:10002', 'table t1 type ip size 1k', 'disabled', 'enabled', 'log global']) push(`  ${line}`, 'peers', validIn('peers', line));
  push('peers peers_2');
  for (const line of ['bind 127.0.0.1:10003', 'default-bind v4v6', 'default-server inter 1s', 'server local', 'server other 127.0.0.1:10004', 'table t2 type ip size 1k']) push(`  ${line}`, 'peers', validIn('peers', line));
  const all = samples();
  const groups = Math.max(...all.map((s) => s.group));
  for (const section of ['defaults', 'frontend', 'listen', 'backend'] as Section[]) {
    if (section === 'frontend') {
      // the last defaults section is the one the proxies below inherit: what they all need
      push('defaults base');
      for (const line of ['mode http', 'log global', 'timeout client 1s', 'timeout server 1s', 'timeout connect 1s']) push(`  ${line}`);
    }
    for (let g = 1; g <= groups; g++) {
      const lines = all.filter((s) => s.group === g && validIn(section, s.line));
      if (!lines.length) continue;
      // a named defaults section per group, used explicitly by nothing: its lines are parsed
      push(section === 'defaults' ? `defaults defaults_${g}` : `${section} ${section}_${g}`);
      if (section === 'frontend' || section === 'listen') {
        if (!lines.some((s) => s.keyword === 'bind')) push('  bind 127.0.0.1:{port}');
      }
      for (const s of lines) push(`  ${s.line}`, section, true);
    }
  }
  if (negatives) {
    // anonymous defaults last, so that it does not become the defaults of the proxies above
    for (const section of ['frontend', 'listen', 'backend', 'defaults'] as Section[]) {
      push(section === 'defaults' ? 'defaults' : `${section} neg_${section}`);
      const anonymous = { haproxyVersion: '2.6.12' };
      for (const s of all) if (validateLines(section, [s.line], anonymous).length) push(`  ${s.line}`, section, false);
    }
    push('backend neg_globals');
    for (const line of ['daemon', 'nbthread 2', 'stats socket /tmp/x.sock', 'tune.bufsize 1024']) push(`  ${line}`, 'backend', false);
  }
  return { text: out.join('\n') + '\n', expect };
}

function haproxyCheck(dir: string, text: string): { status: number | null; output: string } {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, text);
  const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** line number -> diagnostics (alerts and warnings) HAProxy gave for it */
function diagnostics(output: string): Map<number, string[]> {
  const byLine = new Map<number, string[]>();
  for (const l of output.split('\n')) {
    const m = /\[[^\]]*haproxy\.cfg:(\d+)\]/.exec(l);
    if (m && /ALERT|WARNING/.test(l)) byLine.set(Number(m[1]), [...(byLine.get(Number(m[1])) ?? []), l]);
  }
  return byLine;
}

const haveHaproxy = (() => {
  try {
    return /HAProxy version 2\.6\./.test(execFileSync('haproxy', ['-v'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
})();

describe('directives: the table agrees with haproxy -c (2.6)', { skip: haveHaproxy ? false : 'haproxy 2.6 not installed' }, () => {
  function withDir(fn: (dir: string) => void) {
    const dir = mkdtempSync(join(tmpdir(), 'lh-directives-'));
    try {
      writeFileSync(join(dir, '503.http'), 'HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndown\n');
      writeFileSync(join(dir, 'empty.lua'), '');
      writeFileSync(join(dir, 'state'), '1\n');
      mkdirSync(join(dir, 'chain'));
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('every sample the table accepts is accepted by haproxy, without a warning', () => {
    withDir((dir) => {
      const { text, expect } = buildConfig(dir, false);
      const { status, output } = haproxyCheck(dir, text);
      const diag = diagnostics(output);
      const complaints = [...expect].filter(([n, e]) => e.valid && diag.has(n)).map(([n, e]) => `${e.section}: ${e.line}\n    ${diag.get(n)!.join('\n    ')}`);
      assert.deepEqual(complaints, [], `haproxy disagrees with the table:\n${text}`);
      assert.equal(status, 0, output);
      // and the table did accept the samples it was meant to cover
      for (const section of SECTIONS) assert.ok([...expect.values()].filter((e) => e.section === section && e.valid).length >= 5, section);
    });
  });

  it('every sample the table rejects in a section is refused or ignored by haproxy there', () => {
    withDir((dir) => {
      const { text, expect } = buildConfig(dir, true);
      const diag = diagnostics(haproxyCheck(dir, text).output);
      const negatives = [...expect].filter(([, e]) => !e.valid);
      assert.ok(negatives.length > 100, `only ${negatives.length} negative samples`);
      // HAProxy 2.6 parses these without a capability check, though the manual (2.6 to 3.4) lists
      // them as not for that section and they have no effect there: the table follows the manual
      const manualOnly = ['frontend: hash-balance-factor', 'frontend: persist rdp-cookie', 'frontend: option external-check',
        'frontend: external-check command', 'frontend: external-check path', 'backend: unique-id-format', 'backend: unique-id-header'];
      const placement = /capability|not allowed|only allowed|only available|not available|ignored in|unknown keyword|unknown stats parameter|not supported in|is not a frontend/;
      const silent = negatives
        .filter(([n, e]) => !manualOnly.includes(`${e.section}: ${keywordOf(e.line)}`) && !(diag.get(n) ?? []).some((d) => placement.test(d)))
        .map(([, e]) => `${e.section}: ${e.line}`);
      assert.deepEqual(silent, [], 'the table rejects these lines but haproxy 2.6 takes them without a word about the section');
      // severity: an error is a line HAProxy refuses (ALERT), a warning one it ignores (WARNING)
      const anonymous = { haproxyVersion: '2.6.12' };
      // HAProxy only warns on the line itself but then fails: the server a use-server names is
      // not in a frontend; option external-check needs an external-check command, which a
      // frontend ignores; 2.6.12 warns about option httpslog in a backend, then crashes
      const refusedLater = ['frontend: use-server', 'frontend: option external-check', 'backend: option httpslog'];
      const disagree = negatives
        .filter(([, e]) => !refusedLater.includes(`${e.section}: ${keywordOf(e.line)}`))
        .filter(([n, e]) => {
          const severity = validateLines(e.section, [e.line], anonymous)[0].severity;
          const d = diag.get(n) ?? [];
          return severity === 'error' ? !d.some((x) => /ALERT/.test(x)) : d.some((x) => /ALERT/.test(x));
        })
        .map(([n, e]) => `${e.section}: ${e.line} (table: ${validateLines(e.section, [e.line], anonymous)[0].severity}; haproxy: ${(diag.get(n) ?? ['silent']).join(' / ')})`);
      assert.deepEqual(disagree, [], 'severity differs from what haproxy 2.6 does with the line');
    });
  });
});
