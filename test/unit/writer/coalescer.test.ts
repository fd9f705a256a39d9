import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../../src/writer/coalescer.js';

test('a burst of triggers becomes one run; triggers during a run become exactly one more', async () => {
  let runs = 0;
  let release!: () => void;
  let gate = Promise.resolve();
  const c = new Coalescer(async () => {
    runs++;
    await gate;
  });
  for (let i = 0; i < 100; i++) c.trigger();
  await c.settled();
  assert.equal(runs, 1);

  gate = new Promise<void>((r) => (release = r));
  c.trigger();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, 2, 'second run started');
  for (let i = 0; i < 50; i++) c.trigger(); // arrive while running
  release();
  gate = Promise.resolve();
  await c.settled();
  assert.equal(runs, 3, 'folded into one more run');
});
