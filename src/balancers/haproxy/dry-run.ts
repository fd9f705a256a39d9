/**
 * `lighthousectl validate`'s look at the HAProxy config: render the desired state (sample
 * members) as the writer would and run `haproxy -c` on it in a temp dir, when HAProxy is
 * installed. HAProxy names a line of the rendered file (or a proxy); each of its alerts is
 * mapped back to the config file that line comes from (config/alerts.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterSection, DesiredState, DryRunResult } from '../../core/plugin.js';
import { LighthouseError } from '../../core/errors.js';
import { alertSource, modelWarningSource } from './config/alerts.js';
import { checkConfig, haproxyVersion } from './config/check.js';
import { withIdleClose } from './config/idle-close.js';
import { createRenderer } from './config/render.js';
import type { HaproxyClusterConfig, HaproxyConfig } from './config/schema.js';
import { Builder } from './config/model-builder.js';

/** `config` with its paths resolved as the balancer has them (index.ts). */
export async function haproxyDryRun(config: HaproxyConfig, file: string, desired: DesiredState, clusters: readonly ClusterSection<HaproxyClusterConfig>[]): Promise<DryRunResult> {
  const warnings: string[] = [];
  let text: string;
  try {
    const renderer = createRenderer({ templateDir: config.template_dir });
    text = new Builder(withIdleClose(config, haproxyVersion(config.haproxy_bin)), renderer, (w) => warnings.push(...w)).build(desired).text;
  } catch (err) {
    return { issues: [{ file, path: config.template_dir ? ['template_dir'] : [], message: `the HAProxy config does not render: ${(err as Error).message}` }] };
  }
  const issues: DryRunResult['issues'] = warnings.flatMap((w) => modelWarningSource(w, file, clusters) ?? []).map((s) => ({ ...s, severity: 'warning' as const }));
  const dir = await mkdtemp(join(tmpdir(), 'lighthouse-validate-'));
  try {
    const cfg = join(dir, 'haproxy.cfg');
    await writeFile(cfg, text, { mode: 0o600 });
    const r = await checkConfig(config.haproxy_bin, cfg);
    if (r.ok) return { issues };
    const alerts = r.output.filter((l) => l.includes('[ALERT]'));
    const found = alerts.map((l) => alertSource(l, text, config, file, clusters)).filter((s) => s !== null);
    // "Fatal errors found in configuration." alone says nothing: then every line HAProxy printed
    if (!found.length) found.push({ file, path: [], message: `haproxy -c rejects the rendered config: ${(alerts.length ? alerts : r.output).join(' / ')}` });
    return { issues: [...issues, ...found] };
  } catch (err) {
    if (err instanceof LighthouseError && err.code === 'LH_ERR_HAPROXY_PROCESS') return { issues, skipped: `haproxy -c not run (${err.message}): the rendered config was not checked by HAProxy` };
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
