/**
 * Loaded into the built writer by bench/writer-process-scale.ts (`node --import`): the writer's
 * CPU on the path of each change, from the ZooKeeper event reaching the session (dispatch) to
 * the `set server` commands written to HAProxy's admin socket (RuntimeApi.execute), from
 * process.cpuUsage() (every thread of the process, user + system). One line per change, in
 * microseconds, appended to $LH_BENCH_CRITICAL_FILE. Measurement only: the product has no hook.
 * Work the change queues for later (the config-file write, deferred 1 s) is not on the path;
 * the bench's /proc figure counts it.
 */
import { appendFileSync } from 'node:fs';

const out = process.env.LH_BENCH_CRITICAL_FILE;
if (out && process.argv[1]?.includes('lighthouse-writer')) {
  const { RecursiveWatches } = await import(new URL('../dist/discovery/zookeeper/recursive-watches.js', import.meta.url));
  const { RuntimeApi } = await import(new URL('../dist/balancers/haproxy/runtime/api.js', import.meta.url));
  let t0 = null;
  let at = 0;
  const dispatch = RecursiveWatches.prototype.dispatch;
  RecursiveWatches.prototype.dispatch = function (event) {
    const now = performance.now();
    if (t0 === null || now - at > 500) (t0 = process.cpuUsage()), (at = now); // the first event of a change
    return dispatch.call(this, event);
  };
  const execute = RuntimeApi.prototype.execute;
  RuntimeApi.prototype.execute = function (commands) {
    const done = execute.call(this, commands); // writes to the socket before its first await
    if (t0 !== null && commands.some((c) => c.startsWith('set server'))) {
      const d = process.cpuUsage(t0);
      t0 = null;
      appendFileSync(out, `${d.user + d.system}\n`);
    }
    return done;
  };
}
