/**
 * The action service without HTTP: what it refuses before anything runs (scope, unknown,
 * confirmation, execute bit, concurrency), the variant for the node's ranks, events, audit
 * lines; and the example actions of config-examples/features run as shipped.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ConfigStore } from '../../../src/config/store.js';
import { builtinRegistry } from '../../../src/plugins.js';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import { ActionService, isRefusal, type Accepted, type RunEvent } from '../../../src/actions/service.js';
import type { TokenClaims } from '../../../src/actions/tokens.js';
import { EXAMPLES_DIR } from '../../helpers/examples.js';
import { waitFor } from '../../helpers/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'lh-action-svc-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const claims = (actions: string[], sub = 'alice'): TokenClaims => ({ sub, jti: 'tok-0123456789', iat: 0, exp: 9e9, actions });

async function service(dir: string, node = { name: 'node01', ranks: ['aws'], metadata: { ec2_id: 'i-1' } }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(...String(c).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)), cb()) });
  const logger = createLogger({ level: 'silent', destination: sink });
  const store = new ConfigStore({ dir, registry: builtinRegistry(), logger: silentLogger() });
  const { config, problems } = await store.load();
  assert.deepEqual(problems, []);
  const svc = new ActionService({ configDir: dir, logger, clock: systemClock, env: {} });
  svc.configure(config.actions, config.revokedTokens, node);
  return { svc, audit: () => lines.filter((l) => l.component === 'audit') };
}

async function run(a: Accepted): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  await a.run((e) => events.push(e), new AbortController().signal);
  return events;
}

test('the shipped examples: uptime runs and prints the node; service-restart picks aws.sh and asks for confirmation', async () => {
  const { svc, audit } = await service(join(EXAMPLES_DIR, 'features'));
  const up = await svc.prepare('uptime', claims(['*']), { args: [], confirmed: false });
  assert.ok(!isRefusal(up), JSON.stringify(up));
  const events = await run(up as Accepted);
  assert.deepEqual(events[0], { event: 'start', node: 'node01', action: 'uptime', variant: 'default' });
  assert.match(JSON.stringify(events[1]), /"text":"node01 \(aws\): .*load average/);
  assert.equal((events.at(-1) as { exit_code: number }).exit_code, 0);
  const restart = await svc.prepare('service-restart', claims(['*']), { args: ['x'], confirmed: false });
  assert.equal(isRefusal(restart) && restart.status, 428);
  const list = await svc.list(claims(['uptime']));
  assert.deepEqual(list.map((a) => [a.name, a.variant, a.in_scope, a.confirm]), [['service-restart', 'aws', false, true], ['uptime', 'default', true, false]]);
  // who, what, args, node, exit code, duration; and the refusal
  const [ran, refused] = audit();
  const keys = ['audit', 'who', 'token', 'action', 'args', 'node', 'variant', 'exit_code', 'timed_out'];
  assert.deepEqual(Object.fromEntries(keys.map((k) => [k, ran[k]])), {
    audit: 'run', who: 'alice', token: 'tok-0123456789', action: 'uptime', args: [], node: 'node01', variant: 'default', exit_code: 0, timed_out: false,
  });
  assert.equal(typeof ran.duration_ms, 'number');
  assert.equal(refused.audit, 'refused');
  assert.equal(refused.status, 428);
});

test('refusals before anything runs: out of scope 403, unknown 404, already running 409 (concurrency 1), not executable 409', async () => {
  const dir = join(tmp, 'refusals');
  const files: Record<string, [string, number]> = {
    'actions/slow/metadata.yaml': ['summary: Slow\n', 0o644],
    'actions/slow/default.sh': ['#!/bin/sh\necho started\nwhile [ ! -e "$1" ]; do sleep 0.02; done\n', 0o755],
    'actions/two/metadata.yaml': ['summary: Two at a time\nconcurrency: 2\n', 0o644],
    'actions/two/default.sh': ['#!/bin/sh\nwhile [ ! -e "$1" ]; do sleep 0.02; done\n', 0o755],
    'actions/noexec/metadata.yaml': ['summary: Not executable on aws\n', 0o644],
    'actions/noexec/default.sh': ['#!/bin/sh\necho fine\n', 0o755],
    'actions/noexec/aws.sh': ['#!/bin/sh\necho never\n', 0o644],
  };
  for (const [rel, [text, mode]] of Object.entries(files)) {
    const p = join(dir, rel);
    await import('node:fs/promises').then((f) => f.mkdir(join(p, '..'), { recursive: true }));
    writeFileSync(p, text, { mode });
  }
  const { svc } = await service(dir);
  const status = (name: string, c: TokenClaims, args: string[] = []) => svc.prepare(name, c, { args, confirmed: false });
  const code = async (p: ReturnType<typeof status>) => {
    const r = await p;
    return isRefusal(r) ? r.status : 200;
  };
  assert.equal(await code(status('slow', claims(['two']))), 403);
  assert.equal(await code(status('missing', claims(['*']))), 404);
  const n = await status('noexec', claims(['*']));
  assert.equal(isRefusal(n) && n.status, 409);
  assert.match(isRefusal(n) ? n.message : '', /actions\/noexec\/aws\.sh is not executable on node01/);
  const flag = join(tmp, 'go');
  const first = (await status('slow', claims(['*']), [flag])) as Accepted;
  const events: RunEvent[] = [];
  const running = first.run((e) => events.push(e), new AbortController().signal);
  await waitFor(() => events.some((e) => e.event === 'line'), 'the first run started');
  const second = await status('slow', claims(['*']), [flag]);
  assert.equal(isRefusal(second) && second.status, 409);
  assert.match(isRefusal(second) ? second.message : '', /already running on node01 \(1 of 1/);
  const a = (await status('two', claims(['*']), [flag])) as Accepted;
  const b = (await status('two', claims(['*']), [flag])) as Accepted;
  assert.equal(await code(status('two', claims(['*']), [flag])), 409, 'a third of two at a time');
  b.release(); // never run: its slot comes back
  const c = (await status('two', claims(['*']), [flag])) as Accepted;
  assert.ok(!isRefusal(c), 'the released slot is free');
  writeFileSync(flag, '');
  await Promise.all([running, run(a), run(c)]);
  assert.ok(!isRefusal(await status('slow', claims(['*']), [flag])), 'free again after the run');
});
