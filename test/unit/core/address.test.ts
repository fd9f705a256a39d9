/** The shared validators (src/core/address.ts) and the last-line guards. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BlockList, isIP } from 'node:net';
import { addressProblem, integer, ipLiteral, isHaproxyName, isHostname, isSafeCommand, isToken, token } from '../../../src/core/address.js';
import { LighthouseError } from '../../../src/core/errors.js';
import { hostileString } from '../../helpers/hostile.js';

describe('address validators', () => {
  it('ipLiteral: IPv4 / IPv6 literals naming one host', () => {
    for (const ok of ['10.0.0.5', '127.0.0.1', '255.255.255.254', '1.0.0.0', '::1', '2001:db8::7', '::ffff:10.0.0.1', 'fe80::1']) assert.notEqual(ipLiteral(ok), 0, ok);
    for (const bad of ['0.0.0.0', '0.255.1.1', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0', 'fe80::1%eth0', '999.1.1.1', '010.1.1.1', '1.2.3', ' 1.2.3.4', '1.2.3.4 ', 'localhost', '']) assert.equal(ipLiteral(bad), 0, bad);
  });

  it('property: ipLiteral refuses exactly 0.0.0.0/8, :: and their IPv4-mapped forms (as BlockList has them)', () => {
    const ref = new BlockList();
    ref.addSubnet('0.0.0.0', 8, 'ipv4');
    ref.addAddress('::', 'ipv6');
    const low = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }));
    const v4 = fc.tuple(low, low, low, low).map((o) => o.join('.'));
    const v6 = fc.oneof(fc.ipV6(), v4.map((a) => `::ffff:${a}`), v4.map((a) => `0:0:0:0:0:FFFF:${a}`), fc.constantFrom('::', '0::0', '::0', '0:0:0:0:0:0:0:0', '::ffff:0:1', '::ffff:ff:1', '::ffff:100:1'));
    fc.assert(
      fc.property(fc.oneof(v4, fc.ipV4(), v6), (a) => {
        const v = isIP(a);
        assert.equal(ipLiteral(a) !== 0, v !== 0 && !ref.check(a, v === 4 ? 'ipv4' : 'ipv6'), a);
      }),
      { numRuns: 3000 },
    );
  });

  it('isHostname: strict RFC 1123', () => {
    for (const ok of ['a', 'localhost', 'app01.example.com', 'A-1.b-2.C', '3com.example', 'x'.repeat(63) + '.example', 'a1']) assert.equal(isHostname(ok), true, ok);
    for (const bad of ['', '999.1.1.1', '1.2.3.4', '12345', 'a..b', '.a', 'a.', '-a', 'a-', 'a_b', 'a b', 'a\nb', 'é.example', 'x'.repeat(64), `${'a.'.repeat(127)}ab`]) assert.equal(isHostname(bad), false, bad);
  });

  it('addressProblem: host names only where allowed, unspecified never', () => {
    assert.equal(addressProblem('app01.example.com', true), null);
    assert.match(addressProblem('app01.example.com', false)!, /is not an IP address \("app01/);
    assert.match(addressProblem('0.0.0.0', true)!, /unspecified/);
    assert.match(addressProblem(5, true)!, /not a non-empty string/);
    assert.match(addressProblem('127.0.0.1 backup', true)!, /not an IP address or an RFC 1123 host name \("127.0.0.1 backup"\)/);
  });

  it('isHaproxyName: letters, digits and _ . : -', () => {
    assert.equal(isHaproxyName('app01.example.com:8080'), true);
    for (const bad of ['a b', 'a/b', 'a;b', 'a#b', '', 'é', 'x'.repeat(256), 5]) assert.equal(isHaproxyName(bad), false, String(bad));
  });
});

describe('last-line guards', () => {
  it('token: one printable word, else LH_ERR_UNSAFE_VALUE naming what', () => {
    assert.equal(token('127.0.0.1', 'server address'), '127.0.0.1');
    for (const bad of ['', 'a b', 'a\nb', 'a\rb', 'a\tb', 'a;b', 'a#b', 'a\u0000', 'a\u007f', 'é', 'a\u2028']) {
      assert.throws(() => token(bad, 'server address'), (e: unknown) => e instanceof LighthouseError && e.code === 'LH_ERR_UNSAFE_VALUE' && e.message.startsWith('refusing server address '), JSON.stringify(bad));
    }
  });

  it('integer: within its range', () => {
    assert.equal(integer(80, 1, 65535, 'port'), 80);
    for (const bad of [0, 65536, 1.5, NaN, Infinity, '80' as unknown as number]) assert.throws(() => integer(bad, 1, 65535, 'port'), /refusing port/);
  });

  it('isSafeCommand: no line break, ; or control character anywhere', () => {
    assert.equal(isSafeCommand('set server web/a:1 addr 10.0.0.5 port 80'), true);
    for (const bad of ['show info\nshutdown', 'show info;shutdown', 'set server a/b state ready\r', 'x\u0000', '']) assert.equal(isSafeCommand(bad), false, JSON.stringify(bad));
  });

  it('property: whatever passes the guards splits into the words it was made of', () => {
    fc.assert(
      fc.property(fc.array(hostileString, { minLength: 1, maxLength: 4 }), (words) => {
        if (!words.every(isToken)) return;
        const line = `server ${words.join(' ')}`;
        assert.deepEqual(line.split(/\s+/).slice(1), words);
        assert.equal(isSafeCommand(line), true);
        assert.doesNotMatch(line, /[\n\r;#]/);
      }),
      { numRuns: 1000 },
    );
  });
});
