/**
 * The plugin registry: plugins by kind and name. The table of built-ins is src/plugins.ts;
 * third-party plugins from plugins.yaml are added by src/core/plugins-loader.ts. A name is never
 * turned into a module path.
 */
import type { BalancerPlugin, CheckPlugin, DiscoveryPlugin, Plugin } from './plugin.js';

export class Registry {
  readonly checks = new Map<string, CheckPlugin>();
  readonly discovery = new Map<string, DiscoveryPlugin>();
  readonly balancers = new Map<string, BalancerPlugin>();

  constructor(plugins: readonly Plugin[]) {
    for (const p of plugins) this.add(p);
  }

  add(p: Plugin): void {
    const table = p.kind === 'check' ? this.checks : p.kind === 'discovery' ? this.discovery : this.balancers;
    (table as Map<string, Plugin>).set(p.name, p);
  }
}
