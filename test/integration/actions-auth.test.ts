/**
 * Actions end to end, who may run what: refused tokens (none, malformed, expired, another key,
 * out of scope, revoked live) run nothing; a script without the execute bit is refused; confirm
 * actions; action list; TLS checked against the test CA. Two real reporters and ZooKeeper
 * (test/helpers/actions.ts), lighthousectl as its own process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { N1, N2, useActionNodes } from '../helpers/actions.js';
import { waitFor } from '../helpers/wait.js';
import { signToken } from '../../src/actions/tokens.js';

const a = useActionNodes();

test('refused tokens run nothing: none, malformed, expired, another key, revoked (live), out of scope', async () => {
  const before = a.marks().length;
  const expired = await signToken(a.admin, { subject: 'bob', ttlSeconds: 3600, actions: ['*'], now: Date.now() - 2 * 3600_000 });
  const other = join(a.tmp, 'other-admin');
  const init = await a.ctl(['token', 'init', '-c', other]);
  assert.equal(init.code, 0, init.err);
  assert.equal(statSync(join(other, 'actions/token.key')).mode & 0o777, 0o600);
  const wrong = await signToken(other, { subject: 'eve', ttlSeconds: 3600, actions: ['*'] });
  const scoped = await signToken(a.admin, { subject: 'carol', ttlSeconds: 3600, actions: ['env'] });
  for (const host of [N1, N2]) {
    for (const [t, status, why] of [
      [null, 401, /signed action token/],
      ['not.a.jwt', 401, /not a valid JWT/],
      [expired.token, 401, /expired/],
      [wrong.token, 401, /signature/],
      [scoped.token, 403, /may not run 'hello'/],
    ] as const) {
      const r = await a.post(host, 'hello', t);
      assert.equal(r.status, status, `${host} ${why}`);
      assert.match(r.error, why);
    }
  }
  // the client says the same for each node, with one summary and exit 1
  const r = await a.ctl(['action', 'hello', '-g', `${N1},${N2}`], { LIGHTHOUSE_TOKEN: wrong.token });
  assert.equal(r.code, 1, r.out + r.err);
  assert.equal(r.out, '');
  assert.match(r.err, /hello: 0 ok, 2 failed \(node01\.lighthouse\.test: token signature [^;]*\(HTTP 401\); node02/);
  // revoked: it works, is revoked on the admin side, the file is copied to the nodes, then it does not
  const doomed = await signToken(a.admin, { subject: 'dave', ttlSeconds: 3600, actions: ['*'] });
  assert.equal((await a.post(N2, 'hello', doomed.token)).status, 200);
  const rev = await a.ctl(['token', 'revoke', '-c', a.admin, doomed.claims.jti, '--reason', 'test']);
  assert.equal(rev.code, 0, rev.err);
  for (const d of Object.values(a.dirs)) copyFileSync(join(a.admin, 'actions/revoked.yaml'), join(d, 'actions/revoked.yaml'));
  // polled with an action that cannot run (not executable): nothing runs while the change is on its way
  await waitFor(async () => (await a.post(N2, 'broken', doomed.token)).status === 401, 'revocation applied live', 30_000);
  for (const host of [N1, N2]) assert.match((await a.post(host, 'hello', doomed.token)).error, /revoked/);
  assert.equal(a.marks().length, before + 1, 'only the run before the revocation');
  // a refusal with a verified token is audited; a 401 is logged, never a run
  const audit = a.reporters[0].logs.filter((l) => l.component === 'audit');
  assert.ok(audit.some((l) => l.audit === 'refused' && l.who === 'carol' && l.status === 403), 'the out-of-scope refusal is audited');
  assert.ok(!audit.some((l) => l.audit === 'run' && ['bob', 'eve', 'carol'].includes(String(l.who))), 'no run by a refused token');
});

test('a script without the execute bit is refused with a clear message; validate reports it', async () => {
  const before = a.marks().length;
  const r = await a.ctl(['action', 'broken', N1]);
  assert.equal(r.code, 1);
  assert.match(r.err, /actions\/broken\/default\.sh is not executable on node01\.lighthouse\.test \(chmod \+x it\): not run \(HTTP 409\)/);
  assert.equal(a.marks().length, before);
  const v = await a.ctl(['validate', a.dirs[N1]]);
  assert.match(v.out, /^actions\/broken\/default\.sh warning: not executable/m);
});

test('confirm actions: without --yes and no terminal, nothing runs (exit 2); with --yes they run', async () => {
  const before = a.marks().length;
  const direct = await a.post(N2, 'danger', a.token);
  assert.equal(direct.status, 428, 'the node itself refuses an unconfirmed run');
  assert.match(direct.error, /asks for confirmation/);
  const no = await a.ctl(['action', 'danger', N2]);
  assert.equal(no.code, 2, no.err);
  assert.match(no.err, /asks for confirmation .* add --yes/s);
  assert.equal(a.marks().length, before);
  const yes = await a.ctl(['action', 'danger', N2, '--yes']);
  assert.equal(yes.code, 0, yes.err);
  assert.equal(yes.out, `${N2}: done\n`);
});

test('action list, with a token from lighthousectl token generate: summaries, what would not run, what the token may not run', async () => {
  const gen = await a.ctl(['token', 'generate', '-c', a.admin, '--actions', 'hello', '--expires', '2h', '--subject', 'lister']);
  assert.equal(gen.code, 0, gen.err);
  assert.match(gen.out, /^token id: [0-9a-f-]{36}\nsubject:  lister\nactions:  hello\nexpires:  \S+Z\n\S+\.\S+\.\S+\n$/);
  const tokenFile = join(a.tmp, 'lister.token');
  writeFileSync(tokenFile, gen.out); // the whole output: its last line is the token
  const config = join(a.tmp, 'client-lister.yaml');
  writeFileSync(config, readFileSync(join(a.tmp, 'client.yaml'), 'utf8').replace(/^token_file:.*$/m, `token_file: ${tokenFile}`));
  const r = await a.ctl(['action', 'list'], { LIGHTHOUSE_CLIENT_CONFIG: config });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^hello +Say hello$/m);
  assert.match(r.out, /^danger +Dangerous +\(asks to confirm; not in your token\)$/m);
  assert.match(r.out, /! actions\/broken\/default\.sh is not executable/);
});

test('TLS: without the CA the certificate is refused (nothing runs); verify_tls: false accepts it', async () => {
  const before = a.marks().length;
  const strict = join(a.tmp, 'client-noca.yaml');
  writeFileSync(strict, readFileSync(join(a.tmp, 'client.yaml'), 'utf8').replace(/^ca_file:.*$/m, ''));
  const r = await a.ctl(['action', 'hello', N1], { LIGHTHOUSE_CLIENT_CONFIG: strict });
  assert.equal(r.code, 1);
  assert.match(r.err, /TLS: .*ca_file/);
  assert.equal(a.marks().length, before);
  const loose = join(a.tmp, 'client-noverify.yaml');
  writeFileSync(loose, `${readFileSync(strict, 'utf8')}verify_tls: false\n`);
  const ok = await a.ctl(['action', 'hello', N1], { LIGHTHOUSE_CLIENT_CONFIG: loose });
  assert.equal(ok.code, 0, ok.err);
});
