/**
 * Hostile znode data for tests: the injection payloads of issue 19 (seen to run a command as
 * root through haproxy.cfg) and fast-check arbitraries that mix them with random strings,
 * control characters, `;`, `#`, spaces and addresses HAProxy would take as "this host".
 */
import fc from 'fast-check';

/** an `ip` that writes a `program` section running a command (HAProxy master-worker) */
export const programPayload = (marker: string) => `127.0.0.1\n\nglobal\n  master-worker\n\nprogram pwn\n  command /bin/sh -c "touch ${marker}"\n`;
/** an `ip` that adds a server of its own to the backend */
export const serverPayload = '127.0.0.1\n  server evil 127.0.0.1:1';

/** Values every address field must refuse (a node, a peer). */
export const BAD_ADDRESSES = [
  programPayload('/tmp/lh-never'),
  serverPayload,
  '127.0.0.1 backup',
  '127.0.0.1;shutdown',
  '127.0.0.1#',
  '999.1.1.1',
  '1.2.3',
  '010.1.1.1',
  '0.0.0.0',
  '0.1.2.3',
  '::',
  '0:0::0',
  '::ffff:0.0.0.0',
  'fe80::1%eth0',
  ' 10.0.0.1',
  '10.0.0.1\n',
  '10.0.0.1\r',
  '10.0.0.1\u0000',
  '',
  '[::1]',
  'app 01.example.com',
  'app01.example.com.',
  '-app.example.com',
  'app_01.example.com',
  'é.example.com',
];

/** Words that pieces of hostile strings are made of. */
const FRAGMENTS = ['127.0.0.1', '10.0.0.5', '::1', '0.0.0.0', '::', 'app01.example.com', 'a', '-', '.', ':', '_', '%eth0', '999', '\n', '\r\n', '\r', ' ', '\t', ';', '#', '\0', '\x7f', '\u2028', 'é', 'global', 'server evil 1.2.3.4:80', 'program pwn', 'backup', '[', ']', '/', '"', '\\'];

/** strings that are sometimes valid, mostly hostile */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 6 }).map((a) => a.join('')),
  fc.constantFrom(...BAD_ADDRESSES),
);

/** any JSON value a field may hold, hostile strings first */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 70_000 }) },
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

/** mostly `valid`, now and then `hostile`: a znode with one or two bad fields among good ones */
export const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown> = hostileValue) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });

const address = fc.constantFrom('10.0.0.5', '192.168.1.200', '::1', '2001:db8::7');
const port = mostly(fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }).map(String)));
const peerObject = fc.record({ name: mostly(fc.constantFrom('app01.example.com', 'p-1_x.y:z'), hostileString), ip: mostly(address, hostileString), port }, { requiredKeys: ['name', 'ip'] });
const word = fc.stringMatching(/^[a-z0-9._-]{1,12}$/);

/** A znode's data object: Lighthouse's keys (or Nerve's: no `ip`), now and then a hostile value. */
export const hostileZnode: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    ip: mostly(address, hostileString),
    host: mostly(fc.oneof(address, fc.constantFrom('app01.example.com', 'h', 'a-b.c')), hostileString),
    port,
    weight: mostly(fc.integer({ min: 0, max: 256 }), fc.oneof(fc.integer({ min: -2, max: 300 }), hostileValue)),
    state: mostly(fc.constantFrom('up', 'drain', 'maint')),
    peer: mostly(fc.oneof(peerObject, peerObject.map((p) => JSON.stringify(p)))),
    labels: mostly(fc.dictionary(word, fc.oneof(word, fc.constant(''))), fc.dictionary(hostileString, fc.oneof(hostileString, hostileValue), { maxKeys: 3 })),
    metadata: mostly(fc.dictionary(hostileString, hostileValue, { maxKeys: 3 }).chain((m) => fc.constantFrom(m, JSON.stringify(m)))),
    name: hostileValue,
  },
  { requiredKeys: ['host', 'port'] },
);

/** A znode's own name: HOST:PORT, now and then hostile. */
export const hostileChild: fc.Arbitrary<string> = mostly(fc.constantFrom('app01.example.com:8080', '10.0.0.5:80', 'i-abc_0000000001'), hostileString) as fc.Arbitrary<string>;
