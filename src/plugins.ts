/** The one table of built-in plugins (nerve's CHECKS table, vite's plugin array). */
import type { Plugin } from './core/plugin.js';
import { Registry } from './core/registry.js';
import { builtinChecks } from './checks/index.js';
import { zookeeperDiscovery } from './discovery/zookeeper/index.js';
import { haproxyBalancer } from './balancers/haproxy/index.js';

export const BUILTIN_PLUGINS: readonly Plugin[] = [...builtinChecks, zookeeperDiscovery, haproxyBalancer];

export function builtinRegistry(): Registry {
  return new Registry(BUILTIN_PLUGINS);
}
