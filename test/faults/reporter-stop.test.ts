/**
 * Fault: a reporter frozen (SIGSTOP) past its ZooKeeper session timeout. ZooKeeper expires the
 * session, its ephemeral znodes go, and the writer takes its nodes out of HAProxy; another
 * reporter's node keeps serving, so no request may fail. After SIGCONT the reporter finds its
 * session expired, registers again on a new one, and its nodes come back.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait.js';
import { zkProbe } from '../helpers/zk-probe.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
after(() => s?.stop());

test('reporter SIGSTOP past the session timeout: its nodes leave, the others serve; after SIGCONT it registers again', async () => {
  s = await FaultStack.start('reporter-stop', { sessionTimeoutMs: 2000 });
  try {
    for (const id of ['b1', 'b2', 'b3']) await s.backend(id);
    const port = await s.cluster('web');
    const frozen = await s.reporter('node-a', { web: ['b1', 'b2'] });
    await s.reporter('node-b', { web: ['b3'] });
    s.startWriter();
    const load = await s.loadWhenServed(port, ['b1', 'b2', 'b3']);
    const probe = await zkProbe(s.connectString);
    try {
      const znode = `${s.path}/web/node-a:${s.backends.get('b1')!.port}`;
      const owner = (await waitFor(() => probe.get(znode), 'node-a registered')).owner;
      const t0 = load.mark('SIGSTOP');
      process.kill(frozen.daemon.pid, 'SIGSTOP');
      try {
        await waitFor(async () => (await probe.get(znode)) === null, "ZooKeeper expires the frozen reporter's session", 20_000);
        await s.converge('nodes out after SIGSTOP', ['b3'], t0);
      } finally {
        process.kill(frozen.daemon.pid, 'SIGCONT');
      }
      await s.converge('nodes back after SIGCONT', ['b1', 'b2', 'b3'], load.mark('SIGCONT'));
      const again = await waitFor(() => probe.get(znode), 'node-a znode again');
      assert.notEqual(again.owner, owner, 're-registered on a new session');
    } finally {
      probe.close();
    }
    await frozen.daemon.waitForLog((l) => /session lost|expired/i.test(String(l.msg)), 'the reporter logs its lost session', 30_000);
    await load.next(100);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `b3 served throughout, no request may fail: ${stats.errors.join(', ')}`);
  } finally {
    s.report('node-a frozen past a 2 s session');
  }
});
