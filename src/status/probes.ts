/**
 * The probes and the metrics of a daemon's HTTP server:
 *   GET /health   200 while the process runs its loops (it answers: the event loop turns)
 *   GET /ready    200 once the config is applied and every discovery session is up; 503 with
 *                 the reason otherwise (a load balancer or orchestrator stops sending work)
 *   GET /metrics  Prometheus text format (src/metrics/)
 * No credentials needed unless http.yaml says `probes_auth: true` (the route's access decides).
 */
import type { Access, Router } from '../http/router.js';
import type { DaemonMetrics } from '../metrics/metrics.js';

export interface Readiness {
  /** the first config snapshot is applied */
  configured(): boolean;
  sessions(): readonly { discovery: string; connected: boolean }[];
}

export function readiness(r: Readiness): { ready: boolean; reason: string } {
  if (!r.configured()) return { ready: false, reason: 'config not applied yet' };
  const sessions = r.sessions();
  if (!sessions.length) return { ready: false, reason: 'no discovery configured (discovery/*.yaml)' };
  const down = sessions.filter((s) => !s.connected).map((s) => s.discovery);
  if (down.length) return { ready: false, reason: `no session with discovery ${down.join(', ')}` };
  return { ready: true, reason: 'ready' };
}

export function mountProbes(router: Router, deps: { metrics: DaemonMetrics; readiness: Readiness; access: () => Access }): void {
  // the access is read at each request: http.yaml can change it live
  const access = deps.access;
  router.add('GET', '/health', access, () => ({ status: 200, body: 'ok\n' }));
  router.add('GET', '/ready', access, () => {
    const r = readiness(deps.readiness);
    return { status: r.ready ? 200 : 503, body: `${r.reason}\n` };
  });
  router.add('GET', '/metrics', access, async () => {
    const m = await deps.metrics.text();
    return { status: 200, body: m.body, headers: { 'content-type': m.contentType } };
  });
}
