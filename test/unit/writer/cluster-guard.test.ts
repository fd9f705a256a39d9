/**
 * Clusters that clash (here: a balancer whose crossCheck refuses two clusters on one port) are
 * left out before they reach the balancer: the one that was serving keeps serving, an edit
 * that makes a cluster clash keeps its previous version, a new clashing file waits; the error
 * names both files, once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.js';
import { createLogger } from '../../../src/core/logger.js';
import { Registry } from '../../../src/core/registry.js';
import type { BalancerPlugin, CrossIssue, DesiredState, MembersListener } from '../../../src/core/plugin.js';
import type { ServiceNode } from '../../../src/core/node.js';
import { Writer } from '../../../src/writer/writer.js';
import { memoryDiscovery, memoryWriterConfig } from '../../helpers/memory-discovery.js';

const node = (port: number): ServiceNode => ({ name: `127.0.0.1:${port}`, host: '127.0.0.1', ip: '127.0.0.1', port, peer: null, metadata: {} });

/** a balancer whose clusters each bind `port`: two on one port clash */
const portBalancer = (applied: DesiredState[]) =>
  ({
    kind: 'balancer',
    name: 'rec',
    schema: z.object({}),
    clusterSchema: z.object({ port: z.number() }),
    crossCheck: (_config, _file, clusters) => {
      const issues: CrossIssue[] = [];
      for (const c of clusters)
        for (const o of clusters)
          if (o !== c && o.section.port === c.section.port) issues.push({ file: c.file, path: ['rec', 'port'], message: `port ${c.section.port} is also bound by ${o.file}`, clusters: [c.name, o.name] });
      return issues;
    },
    create: () => ({
      start: async () => {},
      stop: async () => {},
      apply: async (d: DesiredState) => (applied.push(d), { runtimeCommands: 0, reloaded: false }),
    }),
  }) satisfies BalancerPlugin<object, { port: number }>;

function setup() {
  const listeners = new Map<string, MembersListener>();
  const applied: DesiredState[] = [];
  const logged: { level: number; msg: string }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void logged.push(JSON.parse(l)) } });
  const registry = new Registry([memoryDiscovery('mem', listeners, () => [node(1)]), portBalancer(applied)]);
  const writer = new Writer({ registry, logger, clock: new FakeClock(), configDir: '/nonexistent' });
  const config = (clusters: Record<string, number>) => memoryWriterConfig('rec', Object.fromEntries(Object.entries(clusters).map(([n, port]) => [n, { port }])));
  /** what the balancer serves now: cluster -> port */
  const serving = () => Object.fromEntries(applied.at(-1)!.clusters.map((c) => [c.name, (c.balancer as { port: number }).port]));
  const errors = () => logged.filter((l) => l.level === 50).map((l) => l.msg);
  const apply = async (clusters: Record<string, number>) => {
    await writer.apply(config(clusters));
    await writer.settled();
  };
  return { writer, apply, serving, errors };
}

test('a new cluster file on a serving cluster\'s port is left out; the one serving keeps serving; the error names both files', async () => {
  const { writer, apply, serving, errors } = setup();
  await apply({ web: 8000, api: 8001 });
  assert.deepEqual(serving(), { web: 8000, api: 8001 });
  await apply({ web: 8000, api: 8001, web2: 8000 });
  assert.deepEqual(serving(), { web: 8000, api: 8001 }, 'web2 left out, web and api untouched');
  assert.equal(errors().length, 2, errors().join('\n'));
  for (const e of errors()) {
    assert.match(e, /clusters\/web\.yaml/);
    assert.match(e, /clusters\/web2\.yaml/);
    assert.match(e, /\bweb: serving as written\b/);
    assert.match(e, /\bweb2: left out until fixed\b/);
  }
  await apply({ web: 8000, api: 8001, web2: 8000 }); // (another config change, the clash unchanged)
  assert.equal(errors().length, 2, 'each clash logged once while it lasts');
  await apply({ web: 8000, api: 8001, web2: 8002 });
  assert.deepEqual(serving(), { web: 8000, api: 8001, web2: 8002 }, 'web2 joins once it moves');
  await writer.stop();
});

test('an edit that makes a serving cluster clash keeps its previous version', async () => {
  const { writer, apply, serving, errors } = setup();
  await apply({ web: 8000, api: 8001 });
  await apply({ web: 8000, api: 8000 });
  assert.deepEqual(serving(), { web: 8000, api: 8001 }, 'api keeps its last good port');
  assert.match(errors()[0], /api: last good version kept/);
  await apply({ web: 8005, api: 8000 }); // web moves away: api's edit now fits
  assert.deepEqual(serving(), { web: 8005, api: 8000 });
  await writer.stop();
});

test('two new clusters on one port: both left out, the others applied', async () => {
  const { writer, apply, serving, errors } = setup();
  await apply({ a: 8000, b: 8000, c: 8001 });
  assert.deepEqual(serving(), { c: 8001 });
  assert.match(errors()[0], /a: left out until fixed; b: left out until fixed/);
  await apply({ a: 8000, c: 8001 }); // b's file removed
  assert.deepEqual(serving(), { a: 8000, c: 8001 });
  await writer.stop();
});
