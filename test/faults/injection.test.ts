/**
 * Fault: hostile znodes written next to good ones, as anyone who can write under the discovery
 * path could: an `ip` that carries a `program` section (a command HAProxy's master would run as
 * its user) and one that carries an extra `server` line. The writer refuses them (the node is
 * skipped, its siblings serve): haproxy.cfg never holds an injected line, the command never
 * runs, the extra server never answers, and traffic to the good nodes never fails. A legitimate
 * change made afterwards (a node joins, a cluster is added: a reload) is still applied.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zkProbe, type ZkProbe } from '../helpers/zk-probe.js';
import { FaultStack } from './stack.js';

/** how long the command of an injected `program` section gets to run after the last reload */
const WATCH_MS = 4_000;

let s: FaultStack | undefined;
let probe: ZkProbe | undefined;
let markerDir = '';
afterEach(async () => {
  probe?.close();
  probe = undefined;
  await s?.stop();
  if (markerDir) await rm(markerDir, { recursive: true, force: true });
});

/** lines of haproxy.cfg that only an injection can have put there */
function injectedLines(cfg: string, markerDir: string): string[] {
  return cfg.split('\n').filter((l) => /^\s*(program\b|command\b|master-worker\b)|\bserver evil\b/.test(l) || l.includes(markerDir));
}

/** web (b1, b2) under traffic; a hostile znode (`ip` from `payload`) written beside them; then
 * legitimate changes: b3 joins web, a new cluster api (b4) is added (a reload, which writes and
 * checks the whole config) */
async function hostileBesideGood(name: string, payload: (marker: string, evilPort: number) => string): Promise<void> {
  const stack = (s = await FaultStack.start(name));
  let extra = '';
  try {
    markerDir = await mkdtemp(join(tmpdir(), 'lh-faults-marker-'));
    const marker = join(markerDir, 'MARKER');
    const { load } = await stack.serveWeb({ web: ['b1', 'b2'], spare: ['b3', 'b4', 'evil'] });
    const evil = stack.backends.get('evil')!.port;
    assert.deepEqual(injectedLines(readFileSync(stack.hap.configFile, 'utf8'), markerDir), [], 'a clean config to start from');

    load.mark('hostile znode');
    probe = await zkProbe(stack.connectString);
    await probe.create(`${stack.path}/web/${name}:${evil}`, JSON.stringify({ host: name, ip: payload(marker, evil), port: evil }), true);
    const t0 = load.mark('b3 joins');
    await stack.publish('node-a', 'web', ['b1', 'b2', 'b3']);
    const joined = await stack.converge('b3 joins beside the hostile node', ['b1', 'b2', 'b3'], t0).then(() => true, (err: Error) => err.message);
    load.mark('api added');
    const api = await stack.cluster('api');
    await stack.publish('node-a', 'api', ['b4']);
    const apiServed = await stack.serving(api, ['b4'], 20_000).then(() => ((stack.converged['api served'] = load.now() - t0), true), (err: Error) => err.message);

    // a command HAProxy's master would start runs within ~2 s of the reload that loads it
    const seen: string[] = [];
    await load.observe(WATCH_MS, () => {
      seen.push(...readdirSync(markerDir));
      return seen.length > 0;
    });
    const cfg = readFileSync(stack.hap.configFile, 'utf8');
    const stats = await load.stop();
    const evilServed = load.outcomes.filter((o) => o.id === 'evil').length;
    const warned = stack.writers.some((w) => w.logs.some((l) => Number(l.level) >= 40 && JSON.stringify(l).includes(`${name}:${evil}`)));
    extra = `injected lines in haproxy.cfg: ${injectedLines(cfg, markerDir).length}, marker files: ${seen.length}, answered by evil: ${evilServed}`;
    assert.deepEqual(seen, [], `the injected command ran: ${seen.join(', ')}`);
    assert.equal(existsSync(marker), false, 'no MARKER');
    assert.deepEqual(injectedLines(cfg, markerDir), [], 'haproxy.cfg holds no injected line');
    assert.equal(evilServed, 0, 'the injected server never answers');
    assert.equal(stats.failed, 0, `traffic to the good nodes never fails: ${stats.errors.join(', ')}`);
    assert.equal(joined, true, 'a node joining beside the hostile one is applied');
    assert.equal(apiServed, true, 'a cluster added after it is served');
    assert.ok(warned, `a warning names the hostile znode ${name}:${evil}${stack.problems()}`);
  } finally {
    stack.report('hostile ip beside good nodes', extra);
  }
}

/** what an attacker appends so that the rest of the server line, and the lines after it, land
 * in a section of their own and the whole file still passes `haproxy -c` (without it HAProxy
 * rejects the file and the command never runs: the test could not fail) */
const TAIL = '\n\nbackend lh_tail\n  server lh_tail 127.0.0.1';

test('an ip carrying a program section: no injected line, the command never runs, good nodes keep serving', async () => {
  await hostileBesideGood('pwn-program', (marker) => `127.0.0.1\n\nglobal\n  master-worker\n\nprogram pwn\n  command /bin/sh -c "touch ${marker}"${TAIL}`);
});

test('an ip carrying a server line: no injected line, the server never answers, good nodes keep serving', async () => {
  // (an ip with a ':' is rendered in brackets as IPv6, so this one makes the file fail `haproxy
  // -c`: what it must not do is block every later reload)
  await hostileBesideGood('pwn-server', (_marker, evil) => `127.0.0.1\n  server evil 127.0.0.1:${evil}`);
});
