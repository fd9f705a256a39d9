/**
 * What `npm run demo -- --hosts --check` verifies: the traffic paths of Lighthouse's "Examples"
 * docs, from this machine through the client's HAProxy, on the hosts' own addresses.
 *
 * - webapp (client :18000): every instance answers (two hosts, three instances), each answer
 *   a count kept in the cache, reached through the webapp node's own HAProxy;
 * - the HAProxy backends hold each node at its own address: two hosts on the same port
 *   (widgets, sprockets, and the caches behind a webapp node's HAProxy);
 * - widgets / sprockets behind one ACL-routed port (client :18080, the stuff_api meta cluster):
 *   both nodes of each answer their path; POSTs reach the cache;
 * - sprockets' tokens come from the partner through the proxy cluster, and the partner has
 *   been called by the proxy node only.
 */
import type { Network } from './lib/netns.js';
import { servingServers } from './lib/haproxy.js';
import { httpRequest as http } from './lib/http.js';

export interface CheckContext {
  net: Network;
  /** app nodes: name, app kind, service ports */
  apps: { name: string; app: string; ports: number[] }[];
  /** the node that calls the partner, and the partner */
  proxy: string;
  partner: { name: string; port: number };
  /** the admin socket of a node's HAProxy */
  socket(node: string): string;
}

function same(what: string, got: string[], want: string[]): void {
  const g = [...new Set(got)].sort();
  const w = [...want].sort();
  if (g.join(' ') !== w.join(' ')) throw new Error(`${what}: got [${g.join(', ')}], want [${w.join(', ')}]`);
}

async function json(host: string, port: number, path: string, form?: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await http(host, port, path, form);
  if (r.status !== 200) throw new Error(`${form ? 'POST' : 'GET'} ${path}: HTTP ${r.status}: ${r.body.trim()}`);
  return JSON.parse(r.body) as Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The checks, in order (the partner's callers are known only after sprockets ran). */
export function hostChecks(ctx: CheckContext): { what: string; run(): Promise<string> }[] {
  const ip = (n: string) => ctx.net.host(n).ip;
  const client = ip('client');
  const instances = (app: string) => ctx.apps.filter((a) => a.app === app).flatMap((a) => a.ports.map((p) => ({ name: a.name, port: p })));
  const servedBy = (app: string) => instances(app).map((i) => `${i.name}:${i.port}`);
  const addrs = (app: string) => instances(app).map((i) => `${ip(i.name)}:${i.port}`);
  const caches = ['cache01', 'cache02'].map((n) => `${ip(n)}:16379`);
  return [
    {
      what: `webapp through ${client}:18000`,
      async run() {
        const seen: string[] = [];
        for (let k = 0; k < servedBy('webapp').length * 4; k++) {
          const r = await http(client, 18000, '/');
          const m = /Current count: (\d+)<\/h1>\s*<p>served by (\S+)<\/p>/.exec(r.body);
          if (r.status !== 200 || !m) throw new Error(`GET /: HTTP ${r.status}: ${r.body.trim()}`);
          seen.push(m[2]);
        }
        same('webapp instances answering', seen, servedBy('webapp'));
        return `${servedBy('webapp').join(', ')} answer, each with a count from the cache`;
      },
    },
    {
      what: `each node at its own address in the HAProxy backends; the stats page on ${client}:19009`,
      async run() {
        const page = await http(client, 19009, '/haproxy');
        if (page.status !== 200 || !page.body.includes('api_widgets')) throw new Error(`stats page: HTTP ${page.status}`);
        const up = await servingServers(ctx.socket('client'));
        same('client backend webapp', up.get('webapp') ?? [], addrs('webapp'));
        same('client backend api_widgets', up.get('api_widgets') ?? [], addrs('widgets'));
        same('client backend api_sprockets', up.get('api_sprockets') ?? [], addrs('sprockets'));
        same(`app01's backend cache`, (await servingServers(ctx.socket('app01'))).get('cache') ?? [], caches);
        same(`sprockets01's backend proxy`, (await servingServers(ctx.socket('sprockets01'))).get('proxy') ?? [], [`${ip(ctx.proxy)}:17777`]);
        return `webapp [${addrs('webapp').join(', ')}], api_widgets [${addrs('widgets').join(', ')}], cache behind app01 [${caches.join(', ')}]`;
      },
    },
    {
      what: `widgets through ${client}:18080/api/widgets`,
      async run() {
        const post = await json(client, 18080, '/api/widgets', { widget: 'lighthouse' });
        if (post.success !== true) throw new Error(`POST widget=lighthouse: ${JSON.stringify(post)}`);
        const seen: string[] = [];
        for (let k = 0; k < servedBy('widgets').length * 3; k++) {
          const r = await json(client, 18080, '/api/widgets');
          if (typeof r.widgets !== 'object') throw new Error(`GET /api/widgets: ${JSON.stringify(r)}`);
          seen.push(String(r.served_by));
        }
        same('widgets nodes answering', seen, servedBy('widgets'));
        return `${servedBy('widgets').join(', ')} answer; POST widget=lighthouse stored in the cache`;
      },
    },
    {
      what: `sprockets through ${client}:18080/api/sprockets`,
      async run() {
        const post = await json(client, 18080, '/api/sprockets', { sprocket: 'lighthouse' });
        if (post.success !== true || !UUID.test(String(post.token))) throw new Error(`POST sprocket=lighthouse: ${JSON.stringify(post)}`);
        const seen: string[] = [];
        for (let k = 0; k < servedBy('sprockets').length * 3; k++) {
          const r = await json(client, 18080, '/api/sprockets');
          if (!UUID.test(String(r.token)) || !Array.isArray(r.sprockets)) throw new Error(`GET /api/sprockets: ${JSON.stringify(r)}`);
          seen.push(String(r.served_by));
        }
        same('sprockets nodes answering', seen, servedBy('sprockets'));
        return `${servedBy('sprockets').join(', ')} answer, each with a partner token`;
      },
    },
    {
      what: `the partner (${ip(ctx.partner.name)}) is called by the proxy node only`,
      async run() {
        const r = await json(ip(ctx.partner.name), ctx.partner.port, '/clients');
        same('callers of the partner', r.clients as string[], [ip(ctx.proxy)]);
        return `callers: ${(r.clients as string[]).join(', ')} (${ctx.proxy})`;
      },
    },
  ];
}

/** Run the checks in order, each retried until it passes or `timeoutMs` (for all) is over. */
export async function checkHosts(ctx: CheckContext, timeoutMs: number): Promise<{ ok: boolean; lines: string[] }> {
  const t0 = Date.now();
  const end = t0 + timeoutMs;
  const lines: string[] = [];
  for (const c of hostChecks(ctx)) {
    for (;;) {
      try {
        lines.push(`  ok    ${c.what}: ${await c.run()} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        break;
      } catch (err) {
        if (Date.now() > end) {
          lines.push(`  FAIL  ${c.what}: ${(err as Error).message}`);
          return { ok: false, lines };
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  return { ok: true, lines };
}
