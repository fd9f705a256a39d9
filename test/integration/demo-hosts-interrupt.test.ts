/**
 * `npm run demo -- --hosts`, Ctrl-C while its nodes start (ZooKeeper still starting, daemons
 * half up): it ends every process and removes every namespace and link. Root only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { netnsUnavailable } from '../../scripts/lib/netns.js';
import { assertNothingLeft, demo, netNames, ROOT } from '../helpers/demo-hosts.js';
import { waitFor } from '../helpers/wait.js';

const unavailable = await netnsUnavailable();
if (unavailable) process.stdout.write(`# multi-host demo tests skipped: ${unavailable}\n`);
const skip = unavailable ?? false;

test('npm run demo -- --hosts: Ctrl-C while the nodes start ends everything', { skip, timeout: 180_000 }, async () => {
  const before = netNames();
  const d = demo(['--hosts']);
  // the last node's writer has been started: every kind of process is running or starting
  await waitFor(() => {
    const tag = /^network (lh\d+):/m.exec(d.output())?.[1];
    return tag && existsSync(join(ROOT, '.demo-hosts', tag, 'proxy01/logs/lighthouse-writer.log'));
  }, 'the demo to start its nodes', 150_000, () => d.output());
  d.child.kill('SIGINT');
  const code = await d.exit;
  assert.equal(code, 0, d.output());
  assertNothingLeft(d.output(), before);
});
