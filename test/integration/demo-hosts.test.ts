/**
 * `npm run demo -- --hosts --check`: the documented examples on their own hosts (network
 * namespaces) come up and answer through the client's HAProxy, and the demo then leaves no
 * namespace, link or process behind (Ctrl-C: demo-hosts-interrupt.test.ts). Runs the built
 * bins (dist/, as `npm test` builds it). Root only: skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailable } from '../../scripts/lib/netns.js';
import { assertNothingLeft, demo, netNames } from '../helpers/demo-hosts.js';

const unavailable = await netnsUnavailable();
if (unavailable) process.stdout.write(`# multi-host demo tests skipped: ${unavailable}\n`);
const skip = unavailable ?? false;

test('npm run demo -- --hosts --check: every example answers through the client; nothing is left behind', { skip, timeout: 180_000 }, async () => {
  const before = netNames();
  const d = demo(['--hosts', '--check']);
  const code = await d.exit;
  const out = d.output();
  assert.equal(code, 0, out);
  assert.match(out, /check ok: every example reached through the client's HAProxy/);
  for (const what of ['webapp through', 'each node at its own address', 'widgets through', 'sprockets through', 'the partner']) {
    assert.match(out, new RegExp(`^ {2}ok {4}${what}`, 'm'), `check '${what}' passed`);
  }
  const pids = /^teardown: ended pids ([\d ]*);/m.exec(out)?.[1].split(' ').filter(Boolean) ?? [];
  assert.ok(pids.length >= 30, `the processes of 14 hosts were listed (${pids.length})`);
  assertNothingLeft(out, before);
});
