/**
 * Fault: a bad cluster file added while traffic flows through a good cluster: a directive
 * argument HAProxy rejects (`mode htp`), or a port another process already holds. The writer
 * leaves the bad file out, names it in its log, and goes on applying the rest: zero failed
 * requests on the good cluster, and a good cluster added after the bad one is served.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { freePort } from '../helpers/backends.js';
import { FaultStack } from './stack.js';

let s: FaultStack | undefined;
const servers: Server[] = [];
afterEach(async () => {
  for (const srv of servers.splice(0)) await new Promise((r) => srv.close(r));
  await s?.stop();
});

/** web (b1, b2) serving under traffic; then `bad` added, then the good cluster `api` (b3) */
async function badClusterBesideGood(name: string, bad: { port?: number; backend?: string[] }): Promise<void> {
  const stack = (s = await FaultStack.start(name));
  try {
    const { load } = await stack.serveWeb({ web: ['b1', 'b2'], spare: ['b3'], services: { bad: ['b3'], api: ['b3'] } });
    const seen = stack.writer!.logs.length;
    load.mark('bad file');
    await stack.cluster('bad', bad);
    // the writer has met the bad file once it says something about it (bounded: it may not)
    await stack.writer!.waitForLog((l) => stack.writer!.logs.indexOf(l) >= seen && Number(l.level) >= 40, 'a warning or error after the bad file', 10_000).catch(() => undefined);
    const t0 = load.mark('api file');
    const api = await stack.cluster('api');
    const apiServed = await stack.serving(api, ['b3'], 20_000).then(
      () => ((stack.converged['api served'] = load.now() - t0), true),
      (err: Error) => err.message,
    );
    const named = stack.writers.some((w) => w.logs.some((l) => Number(l.level) >= 40 && JSON.stringify(l).includes('clusters/bad.yaml')));
    await load.next(100);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `no request on the good cluster failed: ${stats.errors.join(', ')}${stack.problems()}`);
    assert.equal(apiServed, true, 'a good cluster added after the bad one is served');
    assert.ok(named, `the writer names clusters/bad.yaml in a warning or error${stack.problems()}`);
  } finally {
    stack.report(`bad cluster ${JSON.stringify(bad.backend ?? 'port in use')} beside web`);
  }
}

test('a cluster file with a directive HAProxy rejects (mode htp) costs the good cluster nothing', async () => {
  await badClusterBesideGood('bad-cluster-mode', { backend: ['mode htp'] });
});

test('a cluster file on a port another process holds costs the good cluster nothing', async () => {
  const holder = createServer();
  servers.push(holder);
  const port = await freePort();
  await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
  await badClusterBesideGood('bad-cluster-port', { port });
});
