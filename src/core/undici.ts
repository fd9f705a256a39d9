/**
 * The parts of undici this project uses (HTTP checks, webhook notifications), loaded when first
 * asked for.
 *
 * Why not `import { Client } from 'undici'`: the package's index loads all of undici (fetch,
 * WebSocket, caches, mocks...): megabytes more RSS than the dispatcher alone, against the
 * reporter's RSS goal (bench/README.md). A process
 * that never makes an HTTP request (a writer without webhooks, a reporter with tcp checks)
 * loads none of it. The files named here are undici's own modules (the package has no
 * `exports` map, so they are public paths); the version is pinned in package.json and
 * test/unit/core/undici.test.ts holds the shapes we rely on.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

export type { Dispatcher } from 'undici';
export type Client = Undici.Client;
export type Agent = Undici.Agent;
export type Interceptor = Undici.Dispatcher.DispatcherComposeInterceptor;

const load = createRequire(import.meta.url);

/** undici's Client: one origin, a keep-alive connection (pipelining 1 by default). */
export function clientClass(): typeof Undici.Client {
  return load('undici/lib/dispatcher/client.js') as typeof Undici.Client;
}

/** undici's Agent: a pool per origin (for redirects that change origin). */
export function agentClass(): typeof Undici.Agent {
  return load('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
}

/** undici's redirect interceptor. */
export function redirectInterceptor(opts: { maxRedirections: number }): Interceptor {
  const create = load('undici/lib/interceptor/redirect.js') as typeof Undici.interceptors.redirect;
  return create(opts);
}
