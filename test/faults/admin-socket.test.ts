/**
 * Fault: HAProxy's admin socket file deleted (a tmp cleaner, an operator) while HAProxy runs.
 * Once the writer's open connection to it has closed (HAProxy ends idle CLI sessions after
 * `stats timeout`), nothing can connect to that path any more: the writer must notice and
 * recover (a reload re-creates the socket, or the master CLI reaches the worker), so a
 * membership change is still applied within a bounded time, without a failed request.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { waitFor } from '../helpers/wait.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
after(() => s?.stop());

/** connected (state 03) unix sockets bound to `path`: HAProxy's side of CLI connections.
 * HAProxy binds `PATH.PID.tmp` and renames it, and the kernel keeps the name it was bound to. */
function cliConnections(path: string): number {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[5] === '03' && f[7] !== undefined && (f[7] === path || (f[7].startsWith(`${path}.`) && /^\.\d+\.tmp$/.test(f[7].slice(path.length))))).length;
}

test('admin socket deleted: membership changes are still applied', async () => {
  // idle CLI sessions closed after 1 s, so the writer's connection goes soon after the delete
  s = await FaultStack.start('admin-socket', { global: ['stats timeout 1s'] });
  try {
    const { load } = await s.serveWeb({ web: ['b1', 'b2'] });

    load.mark('socket deleted');
    assert.ok(existsSync(s.hap.socketFile), 'the admin socket exists before it is deleted');
    rmSync(s.hap.socketFile);
    await waitFor(() => cliConnections(s!.hap.socketFile) === 0, "the writer's connection to the deleted socket has closed", 15_000);
    let t0 = load.mark('b2 unhealthy');
    s.backends.get('b2')!.healthy = false;
    await s.converge('b2 out, socket deleted', ['b1'], t0, 15_000);
    t0 = load.mark('b2 healthy');
    s.backends.get('b2')!.healthy = true;
    await s.converge('b2 back', ['b1', 'b2'], t0, 15_000);
    await load.next(100);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `no request failed: ${stats.errors.join(', ')}`);
  } finally {
    s.report('admin socket file deleted');
  }
});
