/**
 * Continuous HTTP traffic through a local HAProxy port while a test breaks things: a few
 * paced request loops, bounded by a request count and a time limit, every outcome recorded
 * (time, which backend answered, or why it failed). Each request opens a new connection unless
 * `keepAlive` (then one keep-alive connection per loop, reused as a client application would).
 *
 *   const load = startLoad(port);
 *   ... kill something ...
 *   await servedBy(load, ['b1', 'b2'], 'b3 out');   // converged, and when
 *   const stats = await load.stop();                 // sent / failed / errors
 */
import { Agent, request } from 'node:http';
import { waitFor } from './wait.js';

export interface LoadOptions {
  /** request loops running at once, default 2 */
  concurrency?: number;
  /** pause between two requests of one loop (ms), default 5: enough traffic to see a gap of a
   * few ms, little enough to leave the CPU to the processes under test */
  paceMs?: number;
  keepAlive?: boolean;
  /** bounds: the load stops by itself past either, default 50,000 requests / 5 minutes */
  maxRequests?: number;
  maxMs?: number;
  /** per request, default 5 s */
  timeoutMs?: number;
}

export interface Outcome {
  /** the request's number, in sending order */
  seq: number;
  /** ms since the load started, when the request was sent */
  at: number;
  /** the answering backend's id, or null when the request failed */
  id: string | null;
  error?: string;
}

export interface Mark {
  /** load time (ms) */
  at: number;
  /** Date.now(), to line it up with the daemons' logs */
  wall: number;
  label: string;
}

export interface LoadStats {
  sent: number;
  failed: number;
  /** failure reasons with their counts, most frequent first */
  errors: string[];
  /** failures by the last mark before them: "MARK: N (+FIRST..LAST ms after it)" */
  phases: string[];
}

export interface Load {
  readonly port: number;
  readonly outcomes: readonly Outcome[];
  /** ms since the load started */
  now(): number;
  /** Note that something happened now (a kill, a change): failures are reported by the last
   * mark before them. Returns the load time. */
  mark(label: string): number;
  readonly marks: readonly Mark[];
  /** sent / failed / errors over outcomes[from..] */
  stats(from?: number): LoadStats;
  /** Wait until `n` requests sent from now on have completed (bounded, default 60 s: a
   * starved machine can serve a paced load at a few requests a second); returns their outcomes. */
  next(n: number, ms?: number): Promise<Outcome[]>;
  /** Let the traffic run `ms` (a window under observation, not a wait for a condition); ends
   * early when `stopOn` says so (a failure when none is allowed). */
  observe(ms: number, stopOn?: (o: Outcome) => boolean): Promise<void>;
  stop(): Promise<LoadStats>;
}

export function startLoad(port: number, opts: LoadOptions = {}): Load {
  const { concurrency = 2, paceMs = 5, keepAlive = false, maxRequests = 50_000, maxMs = 300_000, timeoutMs = 5_000 } = opts;
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const outcomes: Outcome[] = [];
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: concurrency }) : undefined;
  let sent = 0;
  let stopping = false;
  const listeners = new Set<(o: Outcome) => void>();
  const marks: Mark[] = [{ at: 0, wall: Date.now(), label: 'start' }];

  const record = (o: Outcome) => {
    outcomes.push(o);
    for (const l of listeners) l(o);
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const at = now();
      const seq = sent++;
      let done = false;
      const finish = (id: string | null, error?: string) => {
        if (done) return;
        done = true;
        record(error ? { seq, at, id, error } : { seq, at, id });
        resolve();
      };
      const req = request({ host: '127.0.0.1', port, path: '/', agent: agent ?? false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? finish(body) : finish(null, `HTTP ${res.statusCode}`)));
        res.on('error', (err) => finish(null, err.message));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => finish(null, (err as NodeJS.ErrnoException).code ?? err.message));
      req.end();
    });
  const loops = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopping && sent < maxRequests && now() < maxMs) {
        await one();
        await new Promise((r) => setTimeout(r, paceMs));
      }
    }),
  );

  const stats = (from = 0): LoadStats => {
    const slice = outcomes.slice(from);
    const reasons = new Map<string, number>();
    for (const o of slice) if (o.id === null) reasons.set(o.error ?? '?', (reasons.get(o.error ?? '?') ?? 0) + 1);
    const phases = new Map<Mark, Outcome[]>();
    for (const o of slice) {
      if (o.id !== null) continue;
      const m = marks.findLast((k) => k.at <= o.at)!;
      phases.set(m, [...(phases.get(m) ?? []), o]);
    }
    return {
      sent: slice.length,
      failed: slice.filter((o) => o.id === null).length,
      errors: [...reasons].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e} x${n}`),
      phases: [...phases].map(([m, os]) => `${m.label}: ${os.length} (+${Math.min(...os.map((o) => o.at)) - m.at}..${Math.max(...os.map((o) => o.at)) - m.at} ms)`),
    };
  };

  return {
    port,
    outcomes,
    now,
    marks,
    mark(label) {
      const at = now();
      marks.push({ at, wall: Date.now(), label });
      return at;
    },
    stats,
    async next(n, ms = 60_000) {
      const from = sent;
      const window: Outcome[] = [];
      const collect = (o: Outcome) => void (o.seq >= from && o.seq < from + n && window.push(o));
      listeners.add(collect);
      try {
        await waitFor(() => window.length >= n, `${n} more requests on port ${port} (${stopping ? 'load stopped' : `${sent} sent`})`, ms);
      } finally {
        listeners.delete(collect);
      }
      return window.sort((a, b) => a.seq - b.seq);
    },
    observe(ms, stopOn) {
      return new Promise((resolve) => {
        const timer = setTimeout(end, ms);
        function end() {
          clearTimeout(timer);
          listeners.delete(watch);
          resolve();
        }
        const watch = (o: Outcome) => stopOn?.(o) && end();
        listeners.add(watch);
      });
    },
    async stop() {
      stopping = true;
      await loops;
      agent?.destroy();
      return stats();
    },
  };
}

/**
 * Wait until the traffic is answered by exactly `ids` (every one of them, no other) over a
 * window of requests, all successful: membership has converged. Returns when it did, in ms
 * from `since` (load time, default now): the later of the last request since then that
 * another backend answered (or that failed) and each wanted backend's first answer in the
 * window (a node that joins has its first request then).
 */
export async function servedBy(load: Load, ids: readonly string[], what: string, ms = 20_000, since = load.now()): Promise<number> {
  const want = new Set(ids);
  let last = '';
  const window = await waitFor(
    async () => {
      const w = await load.next(Math.max(20, ids.length * 8));
      const seen = [...new Set(w.map((o) => o.id ?? `failed(${o.error})`))].sort();
      last = seen.join(',');
      return seen.length === want.size && seen.every((id) => want.has(id)) ? w : null;
    },
    what,
    ms,
    () => `; last window answered by [${last}]`,
  );
  const unwanted = load.outcomes.filter((o) => o.at >= since && o.seq < window[0].seq && !(o.id !== null && want.has(o.id)));
  const firsts = ids.map((id) => window.find((o) => o.id === id)!.at);
  return Math.max(0, Math.max(...firsts, ...unwanted.map((o) => o.at)) - since);
}
