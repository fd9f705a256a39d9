/**
 * What src/core/plugin.ts promises a plugin, shown with the real writer and the real check
 * loop: the optional hints may be ignored. A balancer that reads only `desired.clusters`
 * (never `version` nor `changedSince`) serves the right members after every change; a check
 * written as if each probe had a fresh AbortSignal (a listener per probe, never removed) still
 * has its timeouts honoured, its results counted, and trips no listener-leak warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Registry } from '../../../src/core/registry.js';
import type { BalancerPlugin, Check, CheckResult, DesiredState, MembersListener } from '../../../src/core/plugin.js';
import type { ServiceNode } from '../../../src/core/node.js';
import { Writer } from '../../../src/writer/writer.js';
import { CheckLoop } from '../../../src/checks/scheduler.js';
import { abortDetail } from '../../../src/checks/detail.js';
import { memoryDiscovery, memoryWriterConfig } from '../../helpers/memory-discovery.js';
import { advance } from '../../helpers/fake-time.js';

const node = (port: number): ServiceNode => ({ name: `127.0.0.1:${port}`, host: '127.0.0.1', ip: '127.0.0.1', port, peer: null, metadata: {} });

/** A small deterministic sequence (a test must not pass or fail by luck). */
function sequence(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31), x / 2 ** 31);
}

test('a balancer that ignores DesiredState.version and changedSince serves the right members after every change', async () => {
  const listeners = new Map<string, MembersListener>();
  /** what the balancer serves: rebuilt from `clusters` alone at every apply */
  let served = new Map<string, number[]>();
  const received: { state: DesiredState; copy: unknown }[] = [];
  const naive: BalancerPlugin = {
    kind: 'balancer',
    name: 'naive',
    schema: z.object({}),
    clusterSchema: z.object({}),
    create: () => ({
      start: async () => {},
      stop: async () => {},
      apply: async (desired) => {
        received.push({ state: desired, copy: structuredClone(desired.clusters) });
        served = new Map(desired.clusters.map((c) => [c.name, c.nodes.map((n) => n.port).sort((a, b) => a - b)]));
        return { runtimeCommands: 0, reloaded: false };
      },
    }),
  };
  const registry = new Registry([memoryDiscovery('mem', listeners), naive]);
  const writer = new Writer({ registry, logger: silentLogger(), clock: new FakeClock(), configDir: '/nonexistent' });
  const configOf = (names: string[]) => memoryWriterConfig('naive', Object.fromEntries(names.map((n) => [n, {}])));
  /** what discovery said last, per cluster in the config */
  const truth = new Map<string, number[]>();
  const send = (cluster: string, ports: number[]) => {
    truth.set(cluster, [...ports].sort((a, b) => a - b));
    listeners.get(cluster)!(ports.map(node));
  };
  const agree = async (when: string) => {
    await writer.settled();
    assert.deepEqual(served, truth, `served as discovery said, ${when}`);
  };

  let names = ['a', 'b', 'c', 'd'];
  await writer.apply(configOf(names));
  names.forEach((n, i) => send(n, [1000 * (i + 1)]));
  await agree('at start');
  const next = sequence(7);
  for (let step = 0; step < 120; step++) {
    if (step === 60) {
      // a config change in the middle: one cluster goes, one comes
      names = ['a', 'c', 'd', 'e'];
      truth.delete('b');
      await writer.apply(configOf(names));
      send('e', [5000]);
      await agree('after a config change');
    }
    const cluster = names[Math.floor(next() * names.length)];
    const base = 1000 * (names.indexOf(cluster) + 1);
    send(cluster, Array.from({ length: Math.floor(next() * 5) }, (_, k) => base + k * 3 + Math.floor(next() * 3)));
    if (next() < 0.4) await agree(`at step ${step}`); // else a burst: several changes in one apply
  }
  await agree('at the end');
  assert.ok(received.length > 40, `applied often: ${received.length}`);
  for (const { state, copy } of received) assert.deepEqual(state.clusters, copy, 'a state handed to a balancer is never changed afterwards');
  await writer.stop();
});

test('a check that ignores AbortSignal reuse (one listener per probe, never removed) still works', async () => {
  const clock = new FakeClock();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w));
  process.on('warning', onWarning);
  /** every 50th probe hangs until its signal fires; the others answer at once */
  let probes = 0;
  const signals = new Set<AbortSignal>();
  const check: Check = {
    run: (signal) =>
      new Promise<CheckResult>((resolve) => {
        signals.add(signal);
        signal.addEventListener('abort', () => resolve({ ok: false, detail: abortDetail(signal) }));
        if (++probes % 50 !== 0) resolve({ ok: true });
      }),
  };
  const results: CheckResult[] = [];
  const loop = new CheckLoop({ key: 'web:8080:naive', check, clock, intervalMs: 1000, timeoutMs: 300, rise: 1, fall: 1, onResult: (r) => void results.push(r) });
  try {
    loop.start();
    await advance(clock, 200_500, 50);
    loop.stop();
    await advance(clock, 10);
    assert.ok(results.length >= 190, `probed: ${results.length}`);
    results.forEach((r, i) => {
      if ((i + 1) % 50 === 0) assert.ok(!r.ok && /timed out|timeout/i.test(r.detail ?? ''), `probe ${i + 1} failed at its timeout: ${r.detail}`);
      else assert.deepEqual(r, { ok: true }, `probe ${i + 1} counted as it answered`);
    });
    assert.ok(signals.size > 1, 'the leaked listeners were left behind on old signals');
    assert.deepEqual(warnings.map((w) => w.message), [], 'no listener-leak warning for a check that leaks within the bound');
  } finally {
    process.off('warning', onWarning);
  }
});
