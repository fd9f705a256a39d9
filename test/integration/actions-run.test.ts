/**
 * Actions end to end, running them: two real reporters and ZooKeeper (test/helpers/actions.ts),
 * lighthousectl as its own process. -g with a range and --cluster, output tagged and streamed,
 * rank variants, metadata as env (hostile values unchanged, unexecuted), the timeout taking the
 * script's process group, audit lines, the inventory following node.yaml.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { N1, N2, NODES, useActionNodes } from '../helpers/actions.js';
import { waitFor } from '../helpers/wait.js';
import { alive } from '../helpers/processes.js';

const a = useActionNodes();

test('nodes: the inventory lists both with ranks, metadata and endpoints (https for node01)', async () => {
  const r = await a.ctl(['nodes', '--json']);
  assert.equal(r.code, 0, r.err);
  const { nodes } = JSON.parse(r.out) as { nodes: { name: string; ranks: string[]; metadata: Record<string, string>; endpoint: { url: string; tls: boolean } }[] };
  assert.deepEqual(nodes.map((n) => n.name), [N1, N2]);
  assert.deepEqual(nodes[0].ranks, ['gpu', 'aws']);
  assert.equal(nodes[0].metadata.subst, a.hostile.subst);
  assert.match(nodes[0].endpoint.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(nodes[1].endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('-g with a range: runs on both, output tagged by node; the rank variant on node01, the default on node02', async () => {
  const before = a.marks().length;
  const r = await a.ctl(['action', 'hello', '-g', 'node[01-02]', '--', 'a b', '$(id)']);
  assert.equal(r.code, 0, r.out + r.err);
  const lines = r.out.trim().split('\n').sort();
  assert.deepEqual(lines, [`${N1}: hello from ${N1} (aws i-0abc123) args: a b $(id)`, `${N2}: hello from ${N2} (default) args: a b $(id)`]);
  assert.match(r.err, /hello: 2 ok, 0 failed/);
  assert.equal(a.marks().length, before + 2);
});

test('--cluster web: every node serving the cluster; a failing node makes the exit code 1 with a summary', async () => {
  const r = await a.ctl(['action', 'fail', '--cluster', 'web']);
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, `${N1}: fine\n`);
  assert.match(r.err, new RegExp(`^${N2}: bad ${N2}$`, 'm'));
  assert.match(r.err, new RegExp(`fail: 1 ok, 1 failed \\(${N2}: exit 3\\)`));
});

test('output streams: the first line arrives while the script still waits', async () => {
  const flag = join(a.tmp, 'release');
  let sawFirst = false;
  const run = a.ctl(['action', 'wait', N2, '--', flag], {}, (out) => {
    if (out.includes(`${N2}: first\n`) && !sawFirst) {
      sawFirst = true;
      assert.equal(existsSync(flag), false, 'the script was still waiting');
      writeFileSync(flag, '');
    }
  });
  const r = await run;
  assert.equal(sawFirst, true, r.out + r.err);
  assert.equal(r.out, `${N2}: first\n${N2}: second\n`);
  assert.equal(r.code, 0);
});

test('metadata arrives as environment variables, hostile values unchanged and never executed', async () => {
  const r = await a.ctl(['action', 'env', 'node01']);
  assert.equal(r.code, 0, r.out + r.err);
  const got = Object.fromEntries(r.out.trim().split('\n').map((l) => l.slice(`${N1}: `.length).split('=')).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  assert.deepEqual(got, { ...a.hostile, weird_key: 'dash', _1st: 'digit' });
  for (const suffix of ['subst', 'tick', 'semi', 'nl']) assert.equal(existsSync(`${a.pwned}-${suffix}`), false, `${suffix}: nothing ran`);
});

test('a timed-out script: the run reports it, its process group is gone (background child too), audit lines written', async () => {
  const r = await a.ctl(['action', 'hang', N1]);
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, `${N1}: started\n`);
  assert.match(r.err, /timed out after \d+ ms/);
  const child = Number(readFileSync(join(a.tmp, `${N1}.child`), 'utf8'));
  const shell = Number(readFileSync(join(a.tmp, `${N1}.shell`), 'utf8'));
  await waitFor(() => !alive(child) && !alive(shell), 'the script and its background child are gone', 10_000);
  const line = await a.reporters[0].waitForLog((l) => l.component === 'audit' && l.audit === 'run' && l.action === 'hang', 'audit line of the timed-out run');
  assert.equal(line.who, 'alice');
  assert.equal(line.node, N1);
  assert.equal(line.timed_out, true);
  assert.equal(typeof line.duration_ms, 'number');
  const hello = a.reporters[1].logs.find((l) => l.component === 'audit' && l.audit === 'run' && l.action === 'hello' && l.who === 'alice');
  assert.deepEqual({ args: hello?.args, exit: hello?.exit_code, variant: hello?.variant }, { args: ['a b', '$(id)'], exit: 0, variant: 'default' });
});

test('the inventory follows node.yaml live; a record that does not parse is skipped with a warning; a stopped reporter leaves it', async () => {
  a.write(join(a.dirs[N2], 'node.yaml'), 'ranks: [aws]\nmetadata: {rack: r2, ec2_id: i-0def}\n');
  await waitFor(async () => JSON.parse(String((await a.suite.probe.get(`${NODES}/${N2}`))?.data)).ranks[0] === 'aws', 'new ranks published', 30_000);
  await a.suite.probe.create(`${NODES}/evil`, JSON.stringify({ name: 'evil host', host: 'x', ip: '1.2.3.4', endpoint: { url: 'file:///etc/passwd', tls: false } }));
  const r = await a.ctl(['action', 'hello', N2]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `${N2}: hello from ${N2} (aws i-0def) args: \n`, 'the aws variant now, with the new metadata');
  assert.match(r.err, /warning: znode \/lh-act-nodes\/evil: name: expected a host name/);
  await a.reporters[1].stop();
  await waitFor(async () => (await a.suite.probe.get(`${NODES}/${N2}`)) === null, 'the record goes with the reporter', 15_000);
});
