/**
 * Fault: the writer (re)started while ZooKeeper is down: a reboot during an outage (HAProxy
 * stopped too), or a writer restart (upgrade, crash loop) with HAProxy still running. Until a
 * cluster has been heard from ZooKeeper, the writer keeps what the running HAProxy or the
 * config on disk serves: zero failed requests on the cluster port during the outage (watched
 * past the writer's start-up wait and its session timeout) and after ZooKeeper is back, when
 * membership changes flow again.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { killHaproxy } from '../helpers/haproxy.js';
import { FaultStack } from './stack.js';

/** from the writer's start: past its start-up wait (5 s), and past the reporter's session
 * timeout (4 s, counted from ZooKeeper's stop, a little earlier) */
const OUTAGE_MS = 7_500;

let s: FaultStack | undefined;
afterEach(() => s?.stop());

/** web served by b1, b2 through a writer and its HAProxy; the writer then stopped */
async function servingThenWriterStopped(stack: FaultStack): Promise<number> {
  const { port, load } = await stack.serveWeb({ web: ['b1', 'b2'] });
  await load.stop();
  await stack.writer!.stop('SIGTERM');
  return port;
}

/** the outage (traffic watched from the writer's start, ended early by a failure), ZooKeeper
 * back, then churn */
async function outageThenBack(stack: FaultStack): Promise<void> {
  const load = stack.load!;
  await stack.writer!.waitForLog((l) => l.msg === 'writer starting', 'the writer starts', 60_000);
  load.mark('writer running');
  await load.observe(OUTAGE_MS, (o) => o.id === null);
  assert.equal(load.stats().failed, 0, `no request fails while ZooKeeper is down: ${load.stats().errors.join(', ')}${stack.problems()}`);
  const back = load.mark('ZooKeeper started again');
  await stack.zk!.startAgain();
  await stack.converge('ZooKeeper back', ['b1', 'b2'], back);
  await stack.writer!.waitForLog((l) => l.msg === 'zookeeper session established', 'the writer has a session', 60_000);
  const t0 = load.mark('b2 unhealthy');
  stack.backends.get('b2')!.healthy = false;
  await stack.converge('b2 out after the outage', ['b1'], t0);
  await load.next(100);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `no request failed: ${stats.errors.join(', ')}`);
}

test('reboot during a ZooKeeper outage (writer and HAProxy stopped, then the writer started): the clusters keep serving', async () => {
  const stack = (s = await FaultStack.start('zk-outage-reboot'));
  try {
    const port = await servingThenWriterStopped(stack);
    await killHaproxy(stack.hap.pidFile, stack.hap.masterSocket);
    await stack.zk!.stopServer();
    stack.startWriter();
    // counted from HAProxy serving again: before that the node was down
    await stack.loadWhenServed(port, ['b1', 'b2']);
    await outageThenBack(stack);
  } finally {
    stack.report('writer + HAProxy stopped, ZooKeeper down, writer started');
  }
});

test('writer restarted during a ZooKeeper outage, HAProxy running: the clusters keep serving', async () => {
  const stack = (s = await FaultStack.start('zk-outage-restart'));
  try {
    const port = await servingThenWriterStopped(stack);
    const load = await stack.loadWhenServed(port, ['b1', 'b2']);
    load.mark('ZooKeeper stopped');
    await stack.zk!.stopServer();
    stack.startWriter();
    await outageThenBack(stack);
  } finally {
    stack.report('writer stopped, ZooKeeper down, writer started, HAProxy running');
  }
});
