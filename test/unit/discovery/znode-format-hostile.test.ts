/**
 * Znode data is hostile until proven otherwise: every value the decoder lets through is one the
 * validators accept (src/core/address.ts), and everything else is LH_ERR_ZNODE naming the znode.
 * Unit tests for each refused value of issue 19, then fast-check properties over arbitrary data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeNode, encodeNode } from '../../../src/discovery/zookeeper/znode-format.js';
import { ipLiteral, isHaproxyName, isHostname, isSafeWord } from '../../../src/core/address.js';
import { LighthouseError } from '../../../src/core/errors.js';
import type { ServiceNode } from '../../../src/core/node.js';
import { BAD_ADDRESSES, hostileChild, hostileString, hostileZnode, programPayload, serverPayload } from '../../helpers/hostile.js';

const ZNODE = '/lh/web/app01.example.com:8080';
const good = { host: 'app01.example.com', ip: '10.0.0.5', port: 8080, peer: JSON.stringify({ ip: '10.0.0.5', name: 'app01.example.com', port: 1024 }), metadata: '{}' };
const decode = (obj: Record<string, unknown>, child?: string) => decodeNode(Buffer.from(JSON.stringify(obj)), ZNODE, child);

function refused(obj: Record<string, unknown>, msg: RegExp, child?: string): void {
  assert.throws(
    () => decode(obj, child),
    (err: unknown) => err instanceof LighthouseError && err.code === 'LH_ERR_ZNODE' && err.message.startsWith(`znode ${ZNODE}: `) && msg.test(err.message),
    `${JSON.stringify(obj)} is refused with ${msg}`,
  );
}

describe('znode format: refused values', () => {
  it('the good sibling decodes', () => {
    assert.equal(decode(good).ip, '10.0.0.5');
  });

  it('issue 19 payloads in ip: a program section, an extra server line', () => {
    refused({ ...good, ip: programPayload('/tmp/x') }, /"ip" is not an IP address/);
    refused({ ...good, ip: serverPayload }, /"ip" is not an IP address/);
  });

  for (const bad of BAD_ADDRESSES) {
    it(`ip ${JSON.stringify(bad)}`, () => refused({ ...good, ip: bad }, /"ip" (is not|is an unspecified)/));
    it(`peer.ip ${JSON.stringify(bad)}`, () => refused({ ...good, peer: JSON.stringify({ ip: bad, name: 'p', port: 1024 }) }, /"peer.ip"/));
  }

  it('0.0.0.0 and :: say why: "this host" to HAProxy', () => {
    refused({ ...good, ip: '0.0.0.0' }, /unspecified address \(0\.0\.0\.0\)/);
    refused({ ...good, ip: '::' }, /unspecified address/);
    refused({ host: '0.0.0.0', port: 80 }, /"host" is an unspecified address/);
  });

  it('ip is an IP literal only: a host name is refused in the Lighthouse format', () => {
    refused({ ...good, ip: 'app01.example.com' }, /"ip" is not an IP address \(/);
  });

  it("Nerve's host-as-address: an IP or an RFC 1123 host name, nothing else", () => {
    assert.equal(decode({ host: 'app01.example.com', port: 80 }).ip, 'app01.example.com');
    assert.equal(decode({ host: '10.2.0.7', port: 80 }).ip, '10.2.0.7');
    for (const bad of BAD_ADDRESSES) refused({ host: bad, port: 80 }, /"host"/);
  });

  it('host (the node name): an IP or an RFC 1123 host name', () => {
    assert.equal(decode({ ...good, host: '10.0.0.5' }).name, '10.0.0.5:8080');
    for (const bad of ['app 01', 'a\nb', 'a;b', 'a#b', '999.1.1.1', 'app_01.example.com', 'x'.repeat(64)]) refused({ ...good, host: bad }, /"host"/);
  });

  it('peer name from the peer alphabet, peer port 1-65535', () => {
    for (const name of ['p q', 'p\n  peer evil 1.2.3.4:1', 'p;q', 'p#', '', 'p/q', 'x'.repeat(256)]) refused({ ...good, peer: { ip: '10.0.0.5', name, port: 1024 } }, /"peer.name"/);
    for (const port of [0, 65536, -1, 1.5, 'x', '80 ', true]) refused({ ...good, peer: { ip: '10.0.0.5', name: 'p', port } }, /"peer.port"/);
    assert.deepEqual(decode({ ...good, peer: { ip: '10.0.0.5', name: 'a-b_c.d:e' } }).peer, { ip: '10.0.0.5', name: 'a-b_c.d:e', port: 1024 });
  });

  it('port 1-65535, weight 0-256, integers', () => {
    for (const port of [0, 65536, -1, 1.5, '80 ', '8o', '', null, true, [80]]) refused({ ...good, port }, /"port"/);
    for (const weight of [257, -1, 1.5, '5', true]) refused({ ...good, weight }, /"weight"/);
    assert.equal(decode({ ...good, port: '8080' }).port, 8080);
  });

  it('labels: keys and values from the safe alphabet', () => {
    for (const labels of [{ 'a b': 'x' }, { a: 'x\ny' }, { a: 'x;y' }, { '': 'x' }, { a: 1 }, { a: 'é' }, ['x']]) refused({ ...good, labels }, /"labels"/);
    assert.deepEqual(decode({ ...good, labels: { 'topology.kubernetes.io/zone': 'us-1a', empty: '' } }).labels, { 'topology.kubernetes.io/zone': 'us-1a', empty: '' });
  });

  it("the znode's own name from the safe alphabet", () => {
    for (const child of ['a b:80', 'a\n:80', 'a;b', 'a#b', '', 'é:80']) refused(good, /znode name/, child);
    assert.equal(decode(good, 'app01.example.com:8080').name, 'app01.example.com:8080');
    assert.equal(decode({ host: '10.2.0.7', port: 3000 }, 'i-abc_0000000001').name, '10.2.0.7:3000', "Nerve's sequential names");
  });

  it('metadata stays opaque data (it reaches no template, line or command)', () => {
    const n = decode({ ...good, metadata: JSON.stringify({ evil: '\n\nglobal\n  master-worker', n: 1 }) });
    assert.deepEqual(n.metadata, { evil: '\n\nglobal\n  master-worker', n: 1 });
  });

  it('the message names the value escaped, and no more than a short excerpt of it', () => {
    assert.throws(() => decode({ ...good, ip: `1.2.3.4\n${'x'.repeat(500)}` }), (err: Error) => err.message.includes('"1.2.3.4\\nxxx') && err.message.length < 200);
  });
});

/** What every decoded node satisfies. */
function assertValid(n: ServiceNode, data: Record<string, unknown>): void {
  const nerve = data.ip === undefined;
  assert.ok(ipLiteral(n.ip) !== 0 || (nerve && isHostname(n.ip)), `address ${JSON.stringify(n.ip)}`);
  assert.ok(ipLiteral(n.host) !== 0 || isHostname(n.host), `host ${JSON.stringify(n.host)}`);
  assert.ok(Number.isInteger(n.port) && n.port >= 1 && n.port <= 65535, `port ${n.port}`);
  assert.equal(n.name, `${n.host}:${n.port}`);
  if (n.weight !== undefined) assert.ok(Number.isInteger(n.weight) && n.weight >= 0 && n.weight <= 256, `weight ${n.weight}`);
  if (n.state !== undefined) assert.ok(['up', 'drain', 'maint'].includes(n.state), `state ${n.state}`);
  if (n.peer) {
    assert.ok(isHaproxyName(n.peer.name), `peer name ${JSON.stringify(n.peer.name)}`);
    assert.ok(ipLiteral(n.peer.ip) !== 0, `peer ip ${JSON.stringify(n.peer.ip)}`);
    assert.ok(Number.isInteger(n.peer.port) && n.peer.port >= 1 && n.peer.port <= 65535, `peer port ${n.peer.port}`);
  }
  for (const [k, v] of Object.entries(n.labels ?? {})) assert.ok(isSafeWord(k) && isSafeWord(v, true), `label ${JSON.stringify([k, v])}`);
}

describe('znode format: properties', () => {
  it('arbitrary data: decoded fields satisfy the validators, or LH_ERR_ZNODE names the znode', () => {
    let decoded = 0;
    fc.assert(
      fc.property(hostileZnode, hostileChild, (data, child) => {
        let n: ServiceNode;
        try {
          n = decodeNode(Buffer.from(JSON.stringify(data)), ZNODE, child);
        } catch (err) {
          assert.ok(err instanceof LighthouseError && err.code === 'LH_ERR_ZNODE' && err.message.startsWith(`znode ${ZNODE}: `), String(err));
          return;
        }
        decoded++;
        assert.ok(isSafeWord(child), `child ${JSON.stringify(child)}`);
        assertValid(n, data);
      }),
      { numRuns: 2000 },
    );
    assert.ok(decoded > 100, `enough generated znodes decode for the property to say something (${decoded})`);
  });

  it('arbitrary bytes: decode never throws anything but LH_ERR_ZNODE', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), hostileString.map((s) => Buffer.from(s))), (buf) => {
        try {
          assertValid(decodeNode(buf, ZNODE), JSON.parse(buf.toString()));
        } catch (err) {
          assert.ok(err instanceof LighthouseError && err.code === 'LH_ERR_ZNODE', String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('what a reporter writes from valid values decodes to the same node', () => {
    const valid = fc.record({
      host: fc.constantFrom('app01.example.com', 'h', '10.0.0.5', '::1'),
      ip: fc.constantFrom('10.0.0.5', '::1', '192.168.1.200'),
      port: fc.integer({ min: 1, max: 65535 }),
      weight: fc.option(fc.integer({ min: 0, max: 256 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(valid, (v) => {
        const n: ServiceNode = { name: `${v.host}:${v.port}`, host: v.host, ip: v.ip, port: v.port, peer: { name: 'p.example', ip: v.ip, port: 1024 }, metadata: { a: '\n' }, ...(v.weight !== undefined && { weight: v.weight }) };
        assert.deepEqual(decodeNode(Buffer.from(encodeNode(n)), ZNODE), n);
      }),
      { numRuns: 300 },
    );
  });
});
