/**
 * Availability states: which one is in force (a service's own wins over the node's), changes
 * persisted before they apply (and refused whole when they cannot be), the state file read back
 * at start and never guessed when damaged; availability.yaml validated with positions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Availability } from '../../../src/control/availability.js';
import { availabilitySchema } from '../../../src/control/schema.js';
import { ConfigStore } from '../../../src/config/store.js';
import { builtinRegistry } from '../../../src/plugins.js';
import { FakeClock } from '../../../src/core/clock.js';
import { formatProblem, LighthouseError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';

/** run `fn` with a fresh temp dir, removed after */
async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lh-avail-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function open(dir: string, yaml: Record<string, unknown> = {}, clock = new FakeClock()) {
  return Availability.open({ config: availabilitySchema.parse({ state_file: 'state/availability.json', ...yaml }), configDir: dir, logger: silentLogger(), clock });
}

const code = (c: string) => (err: unknown) => err instanceof LighthouseError && err.code === c;

test('defaults: enabled until changed; a change is written to the state file, then read back at start', () =>
  inTemp(async (dir) => {
    const clock = new FakeClock();
    clock.advance(Date.UTC(2026, 4, 4, 10));
    const a = await open(dir, {}, clock);
    assert.equal(a.node().name, 'enabled');
    assert.equal(a.node().scope, 'default');
    assert.equal(a.effectFor('web'), 'up');
    assert.deepEqual(await a.set({ state: 'disabled', reason: 'kernel upgrade', by: 'local:alice' }), { changed: true });
    assert.equal(a.effectFor('web'), 'drain');
    const file = JSON.parse(await readFile(join(dir, 'state/availability.json'), 'utf8'));
    assert.deepEqual(file.node, { state: 'disabled', reason: 'kernel upgrade', by: 'local:alice', since: '2026-05-04T10:00:00.000Z', code: 404, message: 'node is unavailable', effect: 'drain' });
    assert.deepEqual(await readdir(join(dir, 'state')), ['availability.json'], 'no temp file left behind');
    const again = await open(dir);
    assert.deepEqual(again.node(), { ...a.node() }, 'the same state after a restart');
    assert.equal(again.effectFor('web'), 'drain');
    // the same state again changes nothing; a new reason is recorded, `since` kept
    assert.deepEqual(await a.set({ state: 'disabled', by: 'local:bob' }), { changed: false });
    clock.advance(60_000);
    assert.deepEqual(await a.set({ state: 'disabled', reason: 'and firmware', by: 'local:bob' }), { changed: true });
    assert.equal(a.node().since, '2026-05-04T10:00:00.000Z');
    assert.equal(a.node().by, 'local:bob');
  }));

test("a service's own state wins over the node's; clearing it follows the node again", () =>
  inTemp(async (dir) => {
    const a = await open(dir);
    await a.set({ state: 'offline', by: 'local:alice' });
    await a.set({ state: 'enabled', service: 'api', by: 'local:alice' });
    assert.equal(a.effectFor('web'), 'withdraw');
    assert.equal(a.effectFor('api'), 'up');
    assert.equal(a.effective('api').scope, 'service');
    await a.set({ state: null, service: 'api', by: 'local:alice' });
    assert.equal(a.effectFor('api'), 'withdraw');
    assert.deepEqual(Object.keys(a.services()), []);
    await assert.rejects(a.set({ state: null, by: 'local:alice' }), code('LH_ERR_STATE'), 'the node always has a state');
  }));

test('an unknown state is refused, naming the valid ones; nothing is written', () =>
  inTemp(async (dir) => {
    const a = await open(dir, { states: { maintenance: { code: 503, message: 'maintenance', effect: 'withdraw' } } });
    await assert.rejects(a.set({ state: 'bogus', by: 'local:alice' }), (err: Error) => code('LH_ERR_STATE')(err) && /unknown state 'bogus' \(valid: enabled, disabled, offline, maintenance\)/.test(err.message));
    await assert.rejects(readFile(join(dir, 'state/availability.json')), /ENOENT/);
    await a.set({ state: 'maintenance', by: 'local:alice' });
    assert.equal(a.effectFor('web'), 'withdraw');
  }));

test('a change that cannot be persisted is refused and changes nothing', () =>
  inTemp(async (dir) => {
    const a = await open(dir);
    await writeFile(join(dir, 'state'), 'a file where the state directory should be');
    await assert.rejects(a.set({ state: 'offline', by: 'local:alice' }), (err: Error) => code('LH_ERR_STATE_FILE')(err) && err.message.includes(join(dir, 'state/availability.json')));
    assert.equal(a.node().name, 'enabled');
    assert.equal(a.effectFor('web'), 'up');
  }));

test('a damaged state file is an error at start, never a default state', () =>
  inTemp(async (dir) => {
    await mkdir(join(dir, 'state'));
    await writeFile(join(dir, 'state/availability.json'), '{"version": 1, "node": {"state": "disabled"');
    await assert.rejects(open(dir), (err: Error) => code('LH_ERR_STATE_FILE')(err) && /is damaged: not JSON.*remove it to start in the default state/.test(err.message));
    await writeFile(join(dir, 'state/availability.json'), '{"version": 1, "node": {"state": "Disabled!"}}');
    await assert.rejects(open(dir), (err: Error) => code('LH_ERR_STATE_FILE')(err) && /node\.state/.test(err.message));
  }));

test('a state no longer in availability.yaml keeps the definition it was set with', () =>
  inTemp(async (dir) => {
    const custom = { states: { maintenance: { code: 418, message: 'brewing', effect: 'drain' } } };
    const a = await open(dir, custom);
    await a.set({ state: 'maintenance', by: 'local:alice' });
    a.configure(availabilitySchema.parse({ state_file: 'state/availability.json' }));
    assert.deepEqual([a.node().code, a.node().effect], [418, 'drain']);
    const b = await open(dir);
    assert.deepEqual([b.node().name, b.node().code, b.node().message, b.node().effect], ['maintenance', 418, 'brewing', 'drain']);
    // a default state redefined applies live to the state in force
    b.configure(availabilitySchema.parse({ state_file: 'state/availability.json', states: { maintenance: { code: 503, message: 'm', effect: 'withdraw' } } }));
    assert.equal(b.effectFor('web'), 'withdraw');
  }));

test('availability.yaml and http.yaml problems name file:line:column and path', () =>
  inTemp(async (dir) => {
    await writeFile(join(dir, 'availability.yaml'), 'states:\n  disabled: {code: 200}\n  maintenance: {code: 503}\n  Bad: {code: 500, message: x, effect: up}\ndefault_state: nope\n');
    await writeFile(join(dir, 'http.yaml'), 'port: 70000\nbind_address: "not an address"\nsocket_mode: "0999"\nreporter: {tokenfile: x}\n');
    const store = new ConfigStore({ dir, registry: builtinRegistry(), logger: silentLogger() });
    const { problems, config } = await store.load();
    const lines = problems.map(formatProblem);
    for (const want of [
      /^availability\.yaml:3:16 states\.maintenance: 'message' is required for a state that is not one of the defaults/,
      /^availability\.yaml:3:16 states\.maintenance: 'effect' is required/,
      /^availability\.yaml:4:8 states\.Bad: expected a state name/,
      /^availability\.yaml:5:16 default_state: no state named 'nope' \(known: enabled, disabled, offline, maintenance, Bad\)/,
      /^http\.yaml:1:7 port: /,
      /^http\.yaml:2:15 bind_address: expected an IP address or a host name/,
      /^http\.yaml:3:14 socket_mode: expected an octal file mode/,
      /^http\.yaml:4:12 reporter\.tokenfile: unknown key 'tokenfile'/,
    ]) assert.ok(lines.some((l) => want.test(l)), `${want} in:\n${lines.join('\n')}`);
    assert.equal(config.availability, undefined, 'a bad file is not in force');
    // a good version: defaults merged, overrides applied
    await writeFile(join(dir, 'availability.yaml'), 'states:\n  disabled: {code: 200}\n');
    await writeFile(join(dir, 'http.yaml'), 'port: 8080\nsocket_mode: 0640\nwriter: {port: 8081}\n');
    const ok = await new ConfigStore({ dir, registry: builtinRegistry(), logger: silentLogger() }).load();
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.config.availability!.states.get('disabled'), { name: 'disabled', code: 200, message: 'node is unavailable', effect: 'drain' });
    assert.deepEqual(ok.config.http, { port: 8080, socket_mode: 0o640, writer: { port: 8081 } });
  }));
