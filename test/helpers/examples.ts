/**
 * The example config dirs (config-examples/) rendered as the writer would, with sample nodes:
 * shared by examples.test.ts (haproxy -c, per-dir assertions) and python-compat.test.ts (side by
 * side with the Python Lighthouse's output for the same inputs).
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haproxyBalancer, type HaproxyBalancer } from '../../src/balancers/haproxy/index.js';
import { ConfigStore, type LoadedConfig } from '../../src/config/store.js';
import { builtinRegistry } from '../../src/plugins.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SAMPLE_PEERS, sampleState } from '../../src/writer/sample.js';

export const EXAMPLES_DIR = resolve(fileURLToPath(import.meta.url), '../../../config-examples');
export const PEERS = SAMPLE_PEERS;

/** One example dir loaded through the config store (no problem, no warning) and rendered. */
export async function renderExample(name: string): Promise<{ snap: LoadedConfig; text: string }> {
  const dir = join(EXAMPLES_DIR, name);
  const store = new ConfigStore({ dir, registry: builtinRegistry(), logger: silentLogger() });
  const { config: snap, problems, warnings } = await store.load();
  await store.close();
  assert.deepEqual(problems, [], `${name}: problems`);
  assert.deepEqual(warnings, [], `${name}: warnings`);
  const config = snap.balancers.get('haproxy');
  assert.ok(config, `${name}: a haproxy balancer config`);
  const lb = haproxyBalancer.create(config as never, { logger: silentLogger(), clock: systemClock, configDir: dir }) as HaproxyBalancer;
  try {
    return { snap, text: lb.renderConfig(sampleState(snap, 'haproxy')) };
  } finally {
    await lb.stop();
  }
}
