import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseReader } from '../../../src/checks/http-response.js';

interface Outcome {
  done: boolean;
  status: number;
  keepAlive: boolean;
  bodyBytes: number;
}

/** Feed `raw` cut into pieces at `cuts`; report the state where the reader said done (or at the end). */
function read(raw: string, cuts: number[] = [], isHead = false): Outcome {
  const r = new ResponseReader();
  r.reset(isHead);
  const buf = Buffer.from(raw, 'latin1');
  const bounds = [0, ...cuts, buf.length];
  let done = false;
  for (let k = 0; k < bounds.length - 1 && !done; k++) done = r.feed(buf.subarray(bounds[k], bounds[k + 1]));
  return { done, status: r.status, keepAlive: r.keepAlive, bodyBytes: r.bodyBytes };
}

/** The same answer however the bytes are split into packets: every single cut, and byte by byte. */
function readEverySplit(raw: string, isHead = false): Outcome {
  const whole = read(raw, [], isHead);
  for (let c = 1; c < raw.length; c++) assert.deepEqual(read(raw, [c], isHead), whole, `split at ${c}`);
  assert.deepEqual(read(raw, Array.from({ length: raw.length - 1 }, (_, i) => i + 1), isHead), whole, 'byte by byte');
  return whole;
}

test('content-length body', () => {
  const res = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello';
  assert.deepEqual(readEverySplit(res), { done: true, status: 200, keepAlive: true, bodyBytes: 5 });
  assert.equal(read(res.slice(0, -1)).done, false, 'one byte short is not done');
});

test('chunked body with extensions and trailers', () => {
  const res = 'HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\ndown\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n';
  assert.deepEqual(readEverySplit(res), { done: true, status: 503, keepAlive: true, bodyBytes: 14 });
  assert.equal(read(res.slice(0, -2)).done, false, 'not done before the final empty line');
});

test('interim 1xx responses are skipped', () => {
  const res = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n';
  assert.deepEqual(readEverySplit(res), { done: true, status: 204, keepAlive: true, bodyBytes: 0 });
});

test('no body: HEAD, 204, 304 even with a Content-Length', () => {
  assert.deepEqual(readEverySplit('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', true), { done: true, status: 200, keepAlive: true, bodyBytes: 0 });
  assert.equal(read('HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n').done, true);
});

test('connection reuse: Connection: close, HTTP/1.0, close-delimited bodies', () => {
  assert.equal(read('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
  assert.equal(read('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
  assert.equal(read('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
  const eof = new ResponseReader();
  eof.reset(false);
  assert.equal(eof.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\nbody until close')), false);
  assert.equal(eof.endsAtClose, true, 'the close will end it');
  assert.equal(eof.keepAlive, false);
  assert.equal(eof.status, 200);
});

test('bare LF line endings are accepted', () => {
  assert.deepEqual(readEverySplit('HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno'), { done: true, status: 404, keepAlive: true, bodyBytes: 2 });
});

test('bytes after the response make the connection unusable', () => {
  const r = new ResponseReader();
  r.reset(false);
  assert.equal(r.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n')), true);
  assert.equal(r.feed(Buffer.from('x')), true);
  assert.equal(r.keepAlive, false);
});

test('malformed responses throw', () => {
  const bad = [
    'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    'HTTP/2 200\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
  ];
  for (const res of bad) assert.throws(() => read(res), Error, JSON.stringify(res));
  assert.throws(() => read(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(20_000)}`), /larger than/);
});

test('reset makes the reader reusable', () => {
  const r = new ResponseReader();
  r.reset(false);
  assert.equal(r.feed(Buffer.from('HTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx')), true);
  r.reset(false);
  assert.equal(r.status, 0);
  assert.equal(r.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), true);
  assert.equal(r.status, 200);
});
