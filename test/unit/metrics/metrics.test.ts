/**
 * The daemons' metrics through their observer interfaces: counters move with the events,
 * convergence runs from the first unapplied membership change to the apply that took it,
 * scrape-time gauges read their sources, and the fan-out tells every observer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/core/clock.js';
import { DaemonMetrics } from '../../../src/metrics/metrics.js';
import { fanOut } from '../../../src/core/fan-out.js';
import type { WriterObserver } from '../../../src/writer/observer.js';
import { parsePrometheusText } from '../../helpers/prom-text.js';

const scrape = async (m: DaemonMetrics) => parsePrometheusText((await m.text()).body);

test('writer: convergence from the first unapplied change; reloads by reason; members read when scraped', async () => {
  const clock = new FakeClock();
  const members = new Map([['web', [1, 2]]]);
  const m = new DaemonMetrics('writer', { sessions: () => [{ discovery: 'zookeeper', connected: false }], configProblems: () => [{ file: 'clusters/bad.yaml' }], clusters: () => members }, clock);
  const w = m.writerObserver();
  w.members('web', 2);
  clock.advance(3);
  w.members('web', 1); // coalesced into the same apply: measured from the first
  clock.advance(4);
  w.applied('haproxy', { runtimeCommands: 2, reloaded: false, ms: 1 });
  w.applied('haproxy', { runtimeCommands: 0, reloaded: true, reloadReason: 'structure changed', ms: 80 }); // no change behind it
  const e = await scrape(m);
  assert.equal(e.value('lighthouse_writer_convergence_seconds_count'), 1, 'one convergence');
  assert.equal(e.value('lighthouse_writer_convergence_seconds_sum'), 0.007, 'from the first change');
  assert.equal(e.value('lighthouse_writer_membership_changes_total', { cluster: 'web' }), 2, 'two changes');
  assert.equal(e.value('lighthouse_writer_runtime_commands_total'), 2, 'commands counted');
  assert.equal(e.value('lighthouse_writer_reloads_total', { reason: 'structure changed' }), 1, 'the reload and its reason');
  assert.equal(e.value('lighthouse_cluster_members', { cluster: 'web' }), 2, 'read at scrape time');
  assert.equal(e.value('lighthouse_zk_session_up', { discovery: 'zookeeper' }), 0, 'the session is down');
  assert.equal(e.value('lighthouse_config_errors', { file: 'clusters/bad.yaml' }), 1, 'the bad file');
  members.set('web', [1]);
  assert.equal((await scrape(m)).value('lighthouse_cluster_members', { cluster: 'web' }), 1, 'a later scrape sees the change');
});

test('reporter: probes, transitions and flap holds; notification counts copied from the notifier', async () => {
  const stats = { hook: { sent: 1, failed: 0, dropped: 0, attemptsFailed: 2 } };
  const m = new DaemonMetrics('reporter', { sessions: () => [], configProblems: () => [], instances: () => [{ service: 'web', port: 80, up: true }, { service: 'web', port: 81, up: false }], notifications: () => stats }, new FakeClock());
  const r = m.reporterObserver();
  r.probed!('web', 80, 'http', true, 12);
  r.probed!('web', 81, 'http', false, 500);
  r.changed!('web', 81, false);
  r.held!('web', 81);
  stats.hook.sent = 3;
  const e = await scrape(m);
  assert.equal(e.value('lighthouse_check_results_total', { port: '81', result: 'fail' }), 1, 'the failing probe');
  assert.equal(e.value('lighthouse_check_duration_seconds_sum'), 0.512, 'durations in seconds');
  assert.equal(e.value('lighthouse_instance_transitions_total', { port: '81', to: 'down' }), 1, 'the transition');
  assert.equal(e.value('lighthouse_flap_holds_total'), 1, 'the hold');
  assert.equal(e.value('lighthouse_znodes_published'), 1, 'healthy instances');
  assert.equal(e.value('lighthouse_notifications_total', { backend: 'hook', outcome: 'sent' }), 3, 'the notifier count at scrape time');
  assert.equal(e.types.get('lighthouse_notifications_total'), 'counter', 'a counter');
});

test('fanOut tells every part that has the method, in order', () => {
  const seen: string[] = [];
  class Counts implements WriterObserver {
    n = 0;
    members() {
      this.n++;
    }
    removed() {}
    applied() {}
    applyFailed() {}
  }
  const counts = new Counts();
  const o = fanOut<WriterObserver>(['members', 'removed', 'applied', 'applyFailed'], [counts, { members: (c) => seen.push(c), removed: () => {}, applied: () => {}, applyFailed: () => {} }, undefined]);
  o.members('web', 1);
  assert.equal(counts.n, 1, 'a class instance, bound');
  assert.deepEqual(seen, ['web'], 'and a plain object');
});
