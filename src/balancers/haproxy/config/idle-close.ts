/** What Lighthouse adds to the user's `defaults` lines, by HAProxy version. */
import type { HaproxyConfig } from './schema.js';

/**
 * HAProxy >= 2.6 with `mode http` defaults: `option idle-close-on-response` added to `defaults`
 * (unless the user sets it, or `no option idle-close-on-response`). On a reload the old worker
 * then answers the requests in flight on idle keep-alive connections before closing them,
 * instead of closing them under a client that is about to reuse them (a failed request).
 * Not added for tcp defaults: HAProxy ignores it there with a warning per proxy.
 */
export function withIdleClose(config: HaproxyConfig, version: [number, number] | null): HaproxyConfig {
  const words = (l: string) => l.trim().split(/\s+/);
  const mode = config.defaults.findLast((l) => words(l)[0] === 'mode');
  const set = config.defaults.some((l) => / idle-close-on-response$/.test(l.trim().replace(/\s+/g, ' ')));
  if (!version || version[0] * 100 + version[1] < 206 || !mode || words(mode)[1] !== 'http' || set) return config;
  return { ...config, defaults: [...config.defaults, 'option idle-close-on-response'] };
}
