/**
 * Third-party plugins: npm packages named explicitly in CONFIG_DIR/plugins.yaml. A package's
 * default export (or its `plugins` export) is one plugin object or an array of them, the same
 * shape as the built-ins. Packages resolve from the config dir first, then from this install.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LighthouseError } from './errors.js';
import type { Plugin } from './plugin.js';
import type { Registry } from './registry.js';

export async function loadPluginPackages(names: readonly string[], configDir: string, registry: Registry): Promise<Plugin[]> {
  const loaded: Plugin[] = [];
  for (const pkg of names) {
    let resolved: string;
    try {
      resolved = resolveFrom(pkg, configDir);
    } catch (cause) {
      throw new LighthouseError('LH_ERR_PLUGIN', `plugins.yaml: cannot find npm package '${pkg}' (install it next to the config dir or globally with lighthouse)`, { cause });
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
    } catch (cause) {
      throw new LighthouseError('LH_ERR_PLUGIN', `plugins.yaml: package '${pkg}' failed to load: ${(cause as Error).message}`, { cause });
    }
    const exported = mod.plugins ?? mod.default;
    const list = Array.isArray(exported) ? exported : [exported];
    for (const p of list) {
      assertPlugin(p, pkg);
      registry.add(p);
      loaded.push(p);
    }
  }
  return loaded;
}

function resolveFrom(pkg: string, configDir: string): string {
  try {
    return createRequire(join(configDir, 'noop.js')).resolve(pkg);
  } catch {
    return createRequire(import.meta.url).resolve(pkg);
  }
}

function assertPlugin(p: unknown, pkg: string): asserts p is Plugin {
  const o = p as Partial<Plugin> | undefined;
  const problems: string[] = [];
  if (!o || typeof o !== 'object') problems.push('export is not an object');
  else {
    if (!['check', 'discovery', 'balancer'].includes(o.kind as string)) problems.push(`kind must be check | discovery | balancer, got ${String(o.kind)}`);
    if (typeof o.name !== 'string' || !o.name) problems.push('name must be a non-empty string');
    if (!o.schema || typeof (o.schema as { safeParse?: unknown }).safeParse !== 'function') problems.push('schema must be a zod schema');
    if (typeof o.create !== 'function') problems.push('create must be a function');
    if (o.kind === 'balancer' && typeof (o as { clusterSchema?: { safeParse?: unknown } }).clusterSchema?.safeParse !== 'function') problems.push('a balancer needs clusterSchema');
  }
  if (problems.length) throw new LighthouseError('LH_ERR_PLUGIN', `plugins.yaml: package '${pkg}' does not export a valid plugin: ${problems.join('; ')}`);
}
