/** The environment of action scripts: node metadata under sanitised names, nothing else leaking. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitiseEnvName, scriptEnv, ENV_NAME } from '../../../src/actions/env.js';

test('names become [A-Za-z_][A-Za-z0-9_]*; values are kept as they are', () => {
  for (const [k, want] of [['ec2_id', 'ec2_id'], ['ec2-id', 'ec2_id'], ['1st', '_1st'], ['a.b c', 'a_b_c'], ['Zone', 'Zone'], ['ä', '_']]) {
    assert.equal(sanitiseEnvName(k), want, k);
    assert.match(sanitiseEnvName(k), ENV_NAME, k);
  }
  const weird = "$(touch /tmp/x); `id` 'q' \"dq\"\nline2";
  const { env } = scriptEnv({ name: 'node01', ranks: ['aws', 'metal'], metadata: { ec2_id: 'i-1', weird, port: 8080, on: true } }, 'restart', {});
  assert.equal(env.weird, weird);
  assert.equal(env.port, '8080');
  assert.equal(env.on, 'true');
  assert.equal(env.name, 'node01');
  assert.equal(env.ranks, 'aws metal');
  assert.equal(env.LIGHTHOUSE_ACTION, 'restart');
});

test('metadata never sets name, ranks, PATH, LD_*, IFS, BASH_ENV...; a name two keys share goes to the first (sorted)', () => {
  const { env, skipped } = scriptEnv(
    { name: 'node01', ranks: [], metadata: { name: 'evil', PATH: '/tmp', LD_PRELOAD: '/tmp/x.so', IFS: 'x', BASH_ENV: '/tmp/rc', 'a-b': '1', a_b: '2', HOME: '/root2' } },
    'x',
    { HOME: '/home/lh', SECRET: 'no' },
  );
  assert.equal(env.name, 'node01');
  assert.notEqual(env.PATH, '/tmp');
  assert.equal(env.LD_PRELOAD, undefined);
  assert.equal(env.IFS, undefined);
  assert.equal(env.BASH_ENV, undefined);
  assert.equal(env.HOME, '/home/lh', "the reporter's HOME, not metadata's");
  assert.equal(env.SECRET, undefined, "the reporter's other variables stay out");
  assert.equal(env.a_b, '1', "'a-b' sorts before 'a_b'");
  assert.deepEqual(skipped.map((s) => s.key).sort(), ['BASH_ENV', 'HOME', 'IFS', 'LD_PRELOAD', 'PATH', 'a_b', 'name']);
});
