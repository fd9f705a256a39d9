/**
 * A draining node's znode (`"state": "drain"`, availability control) read by a Python
 * Lighthouse writer: it must read the same node as from the znode without the key. Python's
 * reader (Node.deserialize) takes `port`, `ip`, `host`, `peer` (json.loads of a string with
 * name, ip, port) and `metadata`, and nothing else; the script below reads them the same way in
 * python3 itself (json.loads, the same key lookups). With LIGHTHOUSE_PY_SRC set to a checkout of
 * the Python Lighthouse, its own `lighthouse.node.Node.deserialize` is used instead.
 * Consequence, documented in docs/AVAILABILITY.md: a Python writer keeps a draining node in
 * rotation (it does not know drain); `offline` (withdraw) takes the node out of every writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { encodeNode } from '../../../src/discovery/zookeeper/znode-format.js';
import type { ServiceNode } from '../../../src/core/node.js';

const READER = `
import json, os, sys
src = os.environ.get('LIGHTHOUSE_PY_SRC')
if src:
    sys.path.insert(0, src)
    from lighthouse.node import Node
    def read(raw):
        n = Node.deserialize(raw)
        return {'name': n.name, 'host': n.host, 'ip': n.ip, 'port': n.port, 'metadata': n.metadata,
                'peer': [n.peer.name, n.peer.ip, n.peer.port]}
else:
    def read(raw):
        d = json.loads(raw.decode())
        if 'port' not in d or 'ip' not in d:
            raise ValueError('port and ip are required')
        peer = json.loads(d['peer'])
        return {'name': d['host'] + ':' + str(d['port']), 'host': d['host'], 'ip': d['ip'], 'port': d['port'],
                'metadata': d.get('metadata'), 'peer': [peer['name'], peer['ip'], peer.get('port', 1024)]}
for line in sys.stdin.buffer.read().splitlines():
    print(json.dumps(read(line), sort_keys=True))
`;

const base: ServiceNode = { name: 'app01.example.com:8080', host: 'app01.example.com', ip: '10.0.0.5', port: 8080, peer: { name: 'app01.example.com', ip: '10.0.0.5', port: 1024 }, metadata: { zone: 'b' } };

test('a Python Lighthouse reader reads a draining node exactly as the same node without state', (t) => {
  const drain = encodeNode({ ...base, state: 'drain' });
  const plain = encodeNode(base);
  // the only difference on the wire: one extra key, in json.dumps(sort_keys=True) order
  assert.equal(drain, plain.replace(/}$/, ', "state": "drain"}'));
  const r = spawnSync('python3', ['-c', READER], { input: `${drain}\n${plain}\n`, encoding: 'utf8', timeout: 30_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('python3 is not installed');
  assert.equal(r.status, 0, r.stderr);
  const [fromDrain, fromPlain] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(fromDrain, fromPlain);
  assert.deepEqual(fromPlain, { name: 'app01.example.com:8080', host: 'app01.example.com', ip: '10.0.0.5', port: 8080, metadata: '{"zone": "b"}', peer: ['app01.example.com', '10.0.0.5', 1024] });
});
