/** The writer gives each balancer this node's advertised host, from the config store's node.yaml. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { pino } from 'pino';
import { FakeClock } from '../../../src/core/clock.js';
import { Registry } from '../../../src/core/registry.js';
import type { BalancerDeps, BalancerPlugin } from '../../../src/core/plugin.js';
import type { LoadedConfig } from '../../../src/config/store.js';
import { Writer } from '../../../src/writer/writer.js';

test("balancers are created with node.yaml's host as the advertised host (env first)", async () => {
  const seen: (string | undefined)[] = [];
  const registry = new Registry([
    {
      kind: 'balancer',
      name: 'rec',
      schema: z.object({}),
      clusterSchema: z.object({}),
      create: (_config: unknown, deps: BalancerDeps) => {
        seen.push(deps.advertisedHost);
        return { start: async () => {}, stop: async () => {}, apply: async () => ({ runtimeCommands: 0, reloaded: false }) };
      },
    } satisfies BalancerPlugin,
  ]);
  const loaded = (host?: string): LoadedConfig => ({
    node: { peer_port: 1024, ...(host && { host }) },
    plugins: [],
    balancers: new Map([['rec', {}]]),
    discovery: new Map(),
    clusters: new Map(),
    services: new Map(),
  });
  const saved = process.env.LIGHTHOUSE_ADVERTISE_HOST;
  delete process.env.LIGHTHOUSE_ADVERTISE_HOST;
  try {
    const writer = new Writer({ registry, logger: pino({ level: 'silent' }), clock: new FakeClock(), configDir: '/nonexistent' });
    await writer.apply(loaded('node.example'));
    await writer.stop();
    assert.deepEqual(seen, ['node.example']);
  } finally {
    if (saved !== undefined) process.env.LIGHTHOUSE_ADVERTISE_HOST = saved;
  }
});
