/** Inventory records read from discovery: safe shapes only (they reach URLs and terminals). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointUrl, parseNodeRecord } from '../../../src/core/node-record.js';
import { encodeNodeRecord } from '../../../src/discovery/zookeeper/inventory.js';

const good = { name: 'node01.example.com', host: 'node01.example.com', ip: '10.0.0.5', ranks: ['aws'], metadata: { ec2_id: 'i-1', n: 3, on: true, odd: "$(x); 'q'\nz" }, endpoint: { url: 'https://10.0.0.5:10101', tls: true } };

test('a record round-trips through its znode encoding (keys sorted), hostile metadata values kept as data', () => {
  const text = encodeNodeRecord(good);
  assert.ok(text.startsWith('{"endpoint":{"tls":true,"url":"https://10.0.0.5:10101"},"host":'), text);
  assert.deepEqual(parseNodeRecord(JSON.parse(text)).record, good);
  assert.equal(endpointUrl('::1', 10101, false), 'http://[::1]:10101');
  assert.deepEqual(parseNodeRecord(JSON.parse(encodeNodeRecord({ ...good, endpoint: { url: endpointUrl('::1', 1, false), tls: false } }))).record?.endpoint, { url: 'http://[::1]:1', tls: false });
});

test('refused: names that are not host names, URLs with paths, credentials or other schemes, NUL in metadata, odd ranks', () => {
  for (const [what, bad] of [
    ['a name with a space', { ...good, name: 'node 01' }],
    ['a name with a newline', { ...good, name: 'node01\nx' }],
    ['an ip that is a name', { ...good, ip: 'node01' }],
    ['a URL with a path', { ...good, endpoint: { url: 'https://10.0.0.5:10101/x', tls: true } }],
    ['a URL with credentials', { ...good, endpoint: { url: 'https://u:p@10.0.0.5:10101', tls: true } }],
    ['a file URL', { ...good, endpoint: { url: 'file:///etc/passwd', tls: false } }],
    ['a URL without port', { ...good, endpoint: { url: 'https://10.0.0.5', tls: true } }],
    ['NUL in metadata', { ...good, metadata: { a: 'x\0y' } }],
    ['an object in metadata', { ...good, metadata: { a: { b: 1 } } }],
    ['a rank with a slash', { ...good, ranks: ['../x'] }],
  ] as const) {
    const r = parseNodeRecord(bad);
    assert.equal(r.record, undefined, what);
    assert.ok(r.problem, what);
  }
});
