/**
 * Fault: the writer SIGKILLed under traffic (keep-alive connections, as applications hold
 * them), membership changed while it is dead, then the writer started again. HAProxy is a
 * process of its own: it keeps serving throughout (zero failed requests), the new writer adopts
 * it (same master) and applies the changes made while it was away, still without a failed
 * request.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { zkProbe } from '../helpers/zk-probe.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
after(() => s?.stop());

test('writer SIGKILL: HAProxy keeps serving, the restarted writer adopts it and applies what changed meanwhile', async () => {
  s = await FaultStack.start('writer-kill');
  try {
    const { load, writer: first } = await s.serveWeb({ web: ['b1', 'b2', 'b3'], spare: ['b4'], load: { keepAlive: true } });
    const before = await waitFor(() => s!.proc(), 'HAProxy master answers');

    load.mark('writer SIGKILL');
    await first.stop('SIGKILL');
    // while the writer is dead: b2 fails its check, b4 joins (the reporter's config edit)
    s.backends.get('b2')!.healthy = false;
    await s.publish('node-a', 'web', ['b1', 'b2', 'b3', 'b4']);
    const probe = await zkProbe(s.connectString);
    const znodes = (ids: string[]) => ids.map((id) => `node-a:${s!.backends.get(id)!.port}`).sort().join(',');
    try {
      await waitFor(async () => (await probe.children(`${s!.path}/web`)).sort().join(',') === znodes(['b1', 'b3', 'b4']), 'ZooKeeper lists b1, b3, b4');
    } finally {
      probe.close();
    }
    const dead = await load.next(100);
    assert.deepEqual([...new Set(dead.map((o) => o.id))].sort(), ['b1', 'b2', 'b3'], 'HAProxy keeps serving the last members while no writer runs');

    const t0 = load.mark('writer started');
    const second = s.startWriter();
    await second.waitForLog((l) => l.msg === 'adopted running HAProxy', 'the new writer adopts the running HAProxy', 60_000);
    await s.converge('changes applied after restart', ['b1', 'b3', 'b4'], t0, 60_000);
    await load.next(100);
    assert.equal((await s.proc())?.masterPid, before.masterPid, 'the same HAProxy master: adopted, not restarted');
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `no request failed: ${stats.errors.join(', ')}`);
  } finally {
    s.report('keep-alive traffic');
  }
});
