/**
 * The one registry table of built-in plugins (nerve's CHECKS table, vite's plugin array).
 * Third-party plugins come from npm packages named in CONFIG_DIR/plugins.yaml and are merged in
 * by src/core/plugins-loader.ts; a name is never turned into a module path.
 */
import type { BalancerPlugin, CheckPlugin, DiscoveryPlugin, Plugin } from './plugin.js';
import { builtinChecks } from '../checks/index.js';
import { zookeeperDiscovery } from '../discovery/zookeeper/index.js';
import { haproxyBalancer } from '../balancers/haproxy/index.js';

export const BUILTIN_PLUGINS: readonly Plugin[] = [...builtinChecks, zookeeperDiscovery, haproxyBalancer];

export class Registry {
  readonly checks = new Map<string, CheckPlugin>();
  readonly discovery = new Map<string, DiscoveryPlugin>();
  readonly balancers = new Map<string, BalancerPlugin>();

  constructor(plugins: readonly Plugin[] = BUILTIN_PLUGINS) {
    for (const p of plugins) this.add(p);
  }

  add(p: Plugin): void {
    const table = p.kind === 'check' ? this.checks : p.kind === 'discovery' ? this.discovery : this.balancers;
    (table as Map<string, Plugin>).set(p.name, p);
  }
}
