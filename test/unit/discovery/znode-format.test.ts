/**
 * The wire format against bytes printed by Python 3 (json.dumps(..., sort_keys=True)), so the
 * Python Lighthouse and this one write identical znodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeNode, encodeNode, pythonJsonDumps } from '../../../src/discovery/zookeeper/znode-format.js';
import { LighthouseError } from '../../../src/core/errors.js';
import type { ServiceNode } from '../../../src/core/node.js';

const app01: ServiceNode = {
  name: 'app01.example.com:8080',
  host: 'app01.example.com',
  ip: '10.0.0.5',
  port: 8080,
  metadata: { b: 1, a: 'x' },
  peer: { name: 'app01.example.com', ip: '10.0.0.5', port: 1024 },
};
const APP01 = String.raw`{"host": "app01.example.com", "ip": "10.0.0.5", "metadata": "{\"a\": \"x\", \"b\": 1}", "peer": "{\"ip\": \"10.0.0.5\", \"name\": \"app01.example.com\", \"port\": 1024}", "port": 8080}`;

describe('encodeNode', () => {
  it('writes exactly what Python Lighthouse writes', () => {
    assert.equal(encodeNode(app01), APP01);
  });

  it('escapes like ensure_ascii and nests metadata as a JSON string', () => {
    const node: ServiceNode = {
      name: 'héllo.example.com:80',
      host: 'héllo.example.com',
      ip: '10.0.0.6',
      port: 80,
      peer: { name: 'h', ip: '10.0.0.6', port: 1024 },
      metadata: {
        zone: 'b', tags: ['x', 'ü'], n: null, ok: true, f: 0.5, tiny: 1e-5, big: 12345678901234,
        nested: { z: 1, a: [] }, quote: 'a"b\\c\n\t\x01\x7f', emoji: '😀',
      },
    };
    // python3: json.dumps({... "metadata": json.dumps(md, sort_keys=True), "peer": json.dumps(peer, sort_keys=True)}, sort_keys=True)
    const py = String.raw`{"host": "h\u00e9llo.example.com", "ip": "10.0.0.6", "metadata": "{\"big\": 12345678901234, \"emoji\": \"\\ud83d\\ude00\", \"f\": 0.5, \"n\": null, \"nested\": {\"a\": [], \"z\": 1}, \"ok\": true, \"quote\": \"a\\\"b\\\\c\\n\\t\\u0001\\u007f\", \"tags\": [\"x\", \"\\u00fc\"], \"tiny\": 1e-05, \"zone\": \"b\"}", "peer": "{\"ip\": \"10.0.0.6\", \"name\": \"h\", \"port\": 1024}", "port": 80}`;
    assert.equal(encodeNode(node), py);
  });

  it('leaves out a missing peer (Python readers choke on null) and adds our keys only when set', () => {
    const node: ServiceNode = { ...app01, peer: null, metadata: {}, weight: 10, state: 'drain', labels: { az: 'b' } };
    assert.equal(
      encodeNode(node),
      String.raw`{"host": "app01.example.com", "ip": "10.0.0.5", "labels": {"az": "b"}, "metadata": "{}", "port": 8080, "state": "drain", "weight": 10}`,
    );
  });
});

describe('pythonJsonDumps', () => {
  it('prints floats like Python repr', () => {
    assert.equal(pythonJsonDumps([1.5e-7, 123.456, -0.25, 0.0001, 1e-5, 2.5e-300]), '[1.5e-07, 123.456, -0.25, 0.0001, 1e-05, 2.5e-300]');
    assert.equal(pythonJsonDumps([NaN, Infinity, -Infinity, -0, 3]), '[NaN, Infinity, -Infinity, 0, 3]');
  });
  it('sorts keys by code point, not UTF-16 unit', () => {
    assert.equal(
      pythonJsonDumps({ b: 1, B: 2, é: 3, '😀': 4, '\uffff': 5, '': 6 }),
      String.raw`{"": 6, "B": 2, "b": 1, "\u00e9": 3, "\uffff": 5, "\ud83d\ude00": 4}`,
    );
  });
  it('skips undefined values and prints empty containers compactly', () => {
    assert.equal(pythonJsonDumps({ a: undefined, b: {}, c: [] }), '{"b": {}, "c": []}');
  });
});

describe('decodeNode', () => {
  it('round-trips what encodeNode writes', () => {
    assert.deepEqual(decodeNode(Buffer.from(APP01), '/lh/web/app01.example.com:8080'), { ...app01, metadata: { a: 'x', b: 1 } });
    const full: ServiceNode = { ...app01, weight: 0, state: 'maint', labels: { a: 'b' } };
    assert.deepEqual(decodeNode(Buffer.from(encodeNode(full)), '/x'), full);
  });

  it('accepts peer and metadata as objects, a missing host and peer', () => {
    const n = decodeNode(Buffer.from('{"ip": "10.1.1.1", "port": 81, "metadata": {"k": "v"}}'), '/lh/a/x');
    assert.deepEqual(n, { name: '10.1.1.1:81', host: '10.1.1.1', ip: '10.1.1.1', port: 81, peer: null, metadata: { k: 'v' } });
    const p = decodeNode(Buffer.from('{"ip": "10.1.1.1", "host": "h", "port": 81, "peer": {"name": "h", "ip": "10.1.1.1"}}'), '/x');
    assert.deepEqual(p.peer, { name: 'h', ip: '10.1.1.1', port: 1024 });
    assert.equal(p.name, 'h:81');
    assert.equal(decodeNode(Buffer.from('{"ip": "1.2.3.4", "port": 1, "peer": null, "metadata": null}'), '/x').peer, null);
  });

  it("reads Nerve's format: host is the address, name goes to metadata", () => {
    const n = decodeNode(Buffer.from('{"host":"10.2.0.7","port":3000,"name":"i-abc","weight":5,"labels":{"az":"us-1a"}}'), '/nerve/svc/i-abc_0001');
    assert.deepEqual(n, {
      name: '10.2.0.7:3000', host: '10.2.0.7', ip: '10.2.0.7', port: 3000, peer: null,
      metadata: { name: 'i-abc' }, weight: 5, labels: { az: 'us-1a' },
    });
  });

  for (const [what, data, msg] of [
    ['empty data', '', /no data/],
    ['not JSON', '{nope', /not JSON/],
    ['not an object', '[1]', /not a JSON object/],
    ['no port', '{"ip": "1.2.3.4"}', /"port" missing/],
    ['bad port', '{"ip": "1.2.3.4", "port": 70000}', /"port" missing or not a port/],
    ['no ip nor host', '{"port": 80}', /neither "ip" nor "host"/],
    ['metadata string not JSON', '{"ip": "1.2.3.4", "port": 80, "metadata": "{x"}', /"metadata" is a string but not JSON/],
    ['peer without ip', '{"ip": "1.2.3.4", "port": 80, "peer": "{\\"name\\": \\"a\\"}"}', /"peer" needs/],
    ['weight out of range', '{"ip": "1.2.3.4", "port": 80, "weight": 300}', /"weight"/],
    ['unknown state', '{"ip": "1.2.3.4", "port": 80, "state": "down"}', /"state"/],
  ] as const) {
    it(`rejects ${what} with LH_ERR_ZNODE naming the znode`, () => {
      assert.throws(
        () => decodeNode(Buffer.from(data), '/lh/web/bad:1'),
        (err: unknown) => err instanceof LighthouseError && err.code === 'LH_ERR_ZNODE' && err.message.includes('/lh/web/bad:1') && msg.test(err.message),
      );
    });
  }
});
