/**
 * Fault: a ZooKeeper ensemble of three on loopback loses its leader (SIGKILL), then a follower,
 * under traffic and membership churn (a backend failing its check, then passing again).
 * Traffic never fails. While two members remain (a quorum) churn still converges; with one
 * left there is no quorum and HAProxy keeps the last members, past the daemons' session
 * timeout; once the two are restarted, churn converges again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
after(() => s?.stop());

/** silent past its session timeout: it reconnects to the same session until a server answers */
const sessionSilent = (d: Daemon, what: string) => d.waitForLog((l) => /no contact with zookeeper|session lost/.test(String(l.msg)), what, 30_000);

test('ZooKeeper ensemble: leader then follower killed under traffic and churn; no request fails', async () => {
  s = await FaultStack.start('zk-ensemble', { ensemble: 3, sessionTimeoutMs: 4000 });
  try {
    const ens = s.ensemble!;
    const { load, reporter, writer } = await s.serveWeb({ web: ['b1', 'b2', 'b3'] });
    const b3 = s.backends.get('b3')!;

    const leader = await ens.leader();
    assert.ok(leader >= 0, 'the ensemble has a leader');
    let t0 = load.mark('leader SIGKILL, b3 unhealthy');
    process.kill(ens.members[leader].pid, 'SIGKILL');
    b3.healthy = false;
    await s.converge('b3 out, leader killed', ['b1', 'b2'], t0);
    t0 = load.mark('b3 healthy');
    b3.healthy = true;
    await s.converge('b3 back, leader killed', ['b1', 'b2', 'b3'], t0);

    const { next } = await waitFor(async () => {
      const l = await ens.leader();
      return l >= 0 && l !== leader ? { next: l } : null;
    }, 'the two remaining members elect a leader', 30_000);
    const follower = [0, 1, 2].find((i) => i !== leader && i !== next)!;
    load.mark('follower SIGKILL, b3 unhealthy');
    process.kill(ens.members[follower].pid, 'SIGKILL');
    // no quorum: a change cannot reach the writer; HAProxy keeps the last members past the
    // session timeout of both daemons
    b3.healthy = false;
    await Promise.all([sessionSilent(writer, 'the writer past its session timeout'), sessionSilent(reporter.daemon, 'the reporter past its session timeout')]);
    const noQuorum = await load.next(100);
    assert.deepEqual([...new Set(noQuorum.map((o) => o.id))].sort(), ['b1', 'b2', 'b3'], 'without a quorum HAProxy keeps the last members');

    t0 = load.mark('restarting both');
    const restarted = Promise.all(
      [leader, follower].map(async (i) => {
        await ens.members[i].stopServer(); // reaps the killed JVM
        await ens.members[i].startAgain();
      }),
    );
    await waitFor(async () => (await ens.leader()) >= 0, 'a leader again', 60_000);
    load.mark('quorum back');
    await restarted;
    await s.converge('b3 out, quorum back', ['b1', 'b2'], t0, 60_000);
    t0 = load.mark('b3 healthy again');
    b3.healthy = true;
    await s.converge('b3 back, full ensemble', ['b1', 'b2', 'b3'], t0);
    await load.next(100);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `no request failed: ${stats.errors.join(', ')}`);
  } finally {
    s.report('leader, then a follower SIGKILL');
  }
});
