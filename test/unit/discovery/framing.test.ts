/**
 * guardFraming (framing.ts): the socket's bytes cut into ZooKeeper frames before
 * node-zookeeper-client sees them, exactly one whole frame per call, whatever the reads' sizes.
 * The library's handlers are replaced by recorders here (the real ones: test/integration).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guardFraming } from '../../../src/discovery/zookeeper/framing.js';

function frameOf(body: Buffer): Buffer {
  const f = Buffer.alloc(4 + body.length);
  f.writeInt32BE(body.length, 0);
  body.copy(f, 4);
  return f;
}

function harness(opts: { throwOn?: number } = {}) {
  const seen: Buffer[] = [];
  const errors: Error[] = [];
  let destroyed = 0;
  interface Cm {
    pendingBuffer: Buffer | null;
    socket: { destroyed: boolean; destroy(): void };
    onSocketData(b: Buffer): void;
    onSocketClosed(): void;
  }
  const cm: Cm = {
    pendingBuffer: null,
    socket: { destroyed: false, destroy: () => void destroyed++ },
    onSocketData(this: Cm, b: Buffer) {
      assert.equal(this.pendingBuffer, null, 'the library never buffers');
      assert.equal(b.length, 4 + b.readInt32BE(0), 'one whole frame per call');
      if (seen.length === opts.throwOn) throw new Error('cannot decode');
      seen.push(Buffer.from(b));
    },
    onSocketClosed() {},
  };
  guardFraming({ connectionManager: cm }, (e) => errors.push(e));
  return { cm, seen, errors, destroyed: () => destroyed };
}

/** a deterministic sequence of chunk sizes */
function* sizes(seed: number): Generator<number> {
  let x = seed;
  for (;;) yield 1 + ((x = (x * 1103515245 + 12345) % 2 ** 31) % 700);
}

describe('ZooKeeper framing', () => {
  const bodies = Array.from({ length: 300 }, (_, i) => Buffer.alloc(i % 7 === 0 ? 5000 : (i * 37) % 300, i));
  const stream = Buffer.concat(bodies.map(frameOf));

  for (const seed of [1, 2, 3, 42]) {
    it(`300 frames in reads of random sizes (seed ${seed}) arrive whole, in order`, () => {
      const h = harness();
      const gen = sizes(seed);
      for (let at = 0; at < stream.length; ) {
        const n = gen.next().value as number;
        h.cm.onSocketData(stream.subarray(at, at + n));
        at += n;
      }
      assert.equal(h.seen.length, bodies.length);
      h.seen.forEach((f, i) => assert.deepEqual(f.subarray(4), bodies[i]));
    });
  }

  it('one byte at a time, and everything in one read', () => {
    for (const step of [1, stream.length]) {
      const h = harness();
      for (let at = 0; at < stream.length; at += step) h.cm.onSocketData(stream.subarray(at, at + step));
      assert.equal(h.seen.length, bodies.length);
    }
  });

  it('a frame larger than many reads is put together once', () => {
    const big = frameOf(Buffer.alloc(1_000_000, 7));
    const h = harness();
    for (let at = 0; at < big.length; at += 65536) h.cm.onSocketData(big.subarray(at, at + 65536));
    assert.equal(h.seen.length, 1);
    assert.equal(h.seen[0].length, big.length);
  });

  it('bytes of a half frame are dropped with their connection', () => {
    const h = harness();
    h.cm.onSocketData(stream.subarray(0, frameOf(bodies[0]).length + 3)); // one frame and 3 bytes
    h.cm.onSocketClosed();
    h.cm.onSocketData(frameOf(Buffer.from('next connection')));
    assert.deepEqual(h.seen.map((f) => f.subarray(4).toString()), [bodies[0].toString(), 'next connection']);
  });

  it('a frame the library cannot decode drops the connection, not the process; the rest of that read is not fed', () => {
    const h = harness({ throwOn: 1 });
    h.cm.onSocketData(stream);
    assert.equal(h.seen.length, 1);
    assert.equal(h.errors.length, 1);
    assert.equal(h.destroyed(), 1);
  });

  for (const len of [-4, -1, 0x7fffffff]) {
    it(`a frame length no server sends (${len}) drops the connection instead of looping`, () => {
      const h = harness();
      const bad = Buffer.alloc(12);
      bad.writeInt32BE(len, 0);
      h.cm.onSocketData(Buffer.concat([frameOf(Buffer.from('ok')), bad]));
      assert.equal(h.seen.length, 1);
      assert.equal(h.errors.length, 1);
      assert.match(h.errors[0].message, /bad ZooKeeper frame length/);
      assert.equal(h.destroyed(), 1);
      // split: the length arrives in pieces
      const g = harness();
      g.cm.onSocketData(bad.subarray(0, 2));
      g.cm.onSocketData(bad.subarray(2));
      assert.equal(g.errors.length, 1);
    });
  }
});
