/** The daemons' and every bin's command line: start-up on a bad or empty config dir,
 * --keep-going, --version, --help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../helpers/daemon.js';
import { ROOT, dir, run } from '../helpers/cli.js';

const BINS = ['lighthouse-reporter', 'lighthouse-writer', 'lighthousectl'];

test('a file given as the config dir: exit 78 with a message, no stack trace', () => {
  const d = dir({ 'haproxy.cfg': 'global\n' });
  try {
    const file = join(d, 'haproxy.cfg');
    for (const args of [['lighthouse-writer', file], ['lighthousectl', 'validate', file]]) {
      const r = run(args[0], ...args.slice(1));
      assert.equal(r.code, 78, `${args[0]}: ${r.out}`);
      assert.match(r.out, /haproxy\.cfg is a file, not a config directory/, args[0]);
      assert.doesNotMatch(r.out, /\n\s+at /, `${args[0]}: no stack trace`);
    }
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('an empty config dir: a warning that names what is expected', async () => {
  const d = dir({});
  try {
    const r = run('lighthousectl', 'validate', d);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^warning: no config files in .*: lighthouse-reporter expects services\/\*\.yaml, discovery\/zookeeper\.yaml; lighthouse-writer expects balancers\/haproxy\.yaml, clusters\/\*\.yaml, discovery\/zookeeper\.yaml$/m);
    const writer = startDaemon('lighthouse-writer', [d]);
    await writer.waitForLog((l) => l.msg === 'writer starting', 'the writer running', 30_000);
    const warned = await writer.waitForLog((l) => l.level === 40, 'the start-up warning');
    assert.match(String(warned.msg), /^no config files in .*: lighthouse-writer expects balancers\/haproxy\.yaml, clusters\/\*\.yaml, discovery\/zookeeper\.yaml/);
    assert.equal(await writer.stop(), 0);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('a daemon started with a problem in any file exits 78 after printing every one; --keep-going runs without the bad files', async () => {
  const d = dir({
    'services/web.yaml': 'port: 8080\nprot: 1\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  tcp: {}\n',
    'services/api.yaml': 'port: 8081\ndiscovery: zookeeper\nchecks:\n  interval: 2\n  tcp: {}\n',
  });
  try {
    const r = run('lighthouse-reporter', d);
    assert.equal(r.code, 78, r.out);
    assert.match(r.out, /^services\/web\.yaml:2:1 prot: unknown key 'prot'$/m);
    assert.match(r.out, /^services\/api\.yaml:2:12 discovery: discovery 'zookeeper' is not configured/m);
    assert.match(r.out, /^2 problem\(s\) in 2 file\(s\): lighthouse-reporter not started \(fix them, or start with --keep-going/m);
    const reporter = startDaemon('lighthouse-reporter', ['--keep-going', d], { LIGHTHOUSE_ADVERTISE_HOST: 'node1.test', LIGHTHOUSE_ADVERTISE_IP: '127.0.0.1' });
    await reporter.waitForLog((l) => l.msg === 'reporter starting', 'the reporter running', 30_000);
    assert.ok(reporter.logs.some((l) => l.level === 50 && /services\/api\.yaml:2:12 discovery/.test(String(l.msg))), 'the problems are logged');
    assert.equal(await reporter.stop(), 0);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test('every bin: --version is the package version; --help says what it does, its config dir, env vars, signals and exit codes', () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const help: Record<string, string> = {};
  for (const bin of BINS) {
    const v = run(bin, '--version');
    assert.equal(v.code, 0, v.out);
    assert.equal(v.out.trim(), version, bin);
    const h = run(bin, '--help');
    assert.equal(h.code, 0, h.out);
    help[bin] = h.out;
    assert.match(h.out, /^Usage: /m, bin);
    assert.match(h.out, /Exit codes:\n\s+0 +ok\n\s+1 +runtime error\n\s+2 +usage error.*\n\s+78 +bad config/, bin);
  }
  for (const bin of ['lighthouse-reporter', 'lighthouse-writer']) {
    for (const want of [/config_dir +Lighthouse config directory/, /LIGHTHOUSE_LOG_LEVEL/, /LIGHTHOUSE_ADVERTISE_HOST/, /SIGHUP +re-read every config file/, /SIGTERM, SIGINT/, /--keep-going/])
      assert.match(help[bin], want, `${bin} --help`);
  }
  assert.match(help['lighthouse-reporter'], /LIGHTHOUSE_ADVERTISE_IP/);
  assert.match(help['lighthouse-writer'], /needs +balancers\/haproxy\.yaml, clusters\/\*\.yaml, discovery\/zookeeper\.yaml/);
  assert.match(help.lighthousectl, /validate <config_dir> +check a config dir as the daemons would/);
});
