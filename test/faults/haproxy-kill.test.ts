/**
 * Fault: HAProxy SIGKILLed (master and workers, by pid) under traffic. This removes the
 * serving process, so requests fail until the writer notices and starts it again: the
 * scenario prints how many, and asserts the recovery (a new master serving every member, and
 * no failure once it does).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
after(() => s?.stop());

test('HAProxy SIGKILL: the writer starts it again and every member serves', async () => {
  s = await FaultStack.start('haproxy-kill');
  let extra = '';
  try {
    const { load } = await s.serveWeb({ web: ['b1', 'b2'] });
    const before = await waitFor(() => s!.proc(), 'HAProxy master answers');
    await load.next(50); // traffic flowing before the kill
    const t0 = load.mark('SIGKILL');
    for (const pid of [before.masterPid, ...before.workers]) process.kill(pid, 'SIGKILL');
    const after = await waitFor(async () => {
      const p = await s!.proc();
      return p && p.masterPid !== before.masterPid && p.workers.length ? p : null;
    }, 'a new HAProxy master with a worker', 30_000, () => s!.problems());
    await s.converge('serving again', ['b1', 'b2'], t0);
    const gap = load.stats();
    extra = `master ${before.masterPid} -> ${after.masterPid}`;
    await load.next(100);
    const stats = await load.stop();
    assert.equal(stats.failed, gap.failed, `no failure once HAProxy serves again: ${stats.errors.join(', ')}`);
  } finally {
    s.report('master + workers SIGKILL', extra);
  }
});
