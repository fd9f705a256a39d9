// The same HTTP probes as a reporter's, made by a bare undici Client and nothing else: one GET
// /health a second to each port given, on the same whole seconds the reporter's first phase
// group uses. bench/reporter-checks.ts runs it beside the reporter (same V8 flags) so that the
// machine's cost of the requests themselves is measured in the same window as the reporter.
//   node bench/http-floor.mjs PORT[,PORT...] [INTERVAL_MS]
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
const Client = load('undici/lib/dispatcher/client.js');
const ports = process.argv[2].split(',').map(Number);
const intervalMs = Number(process.argv[3] ?? 1000);
const clients = ports.map((p) => new Client(`http://127.0.0.1:${p}`, { headersTimeout: 0, bodyTimeout: 0 }));
const request = { path: '/health', method: 'GET', headers: { 'user-agent': 'lighthouse-bench' } };
let answered = 0;
const handler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {
    answered++;
  },
  onResponseError() {},
};

function next() {
  const now = performance.timeOrigin + performance.now();
  setTimeout(probe, intervalMs - (now % intervalMs));
}
function probe() {
  for (const c of clients) c.dispatch(request, handler);
  next();
}
next();
process.on('SIGTERM', () => {
  console.error(`http-floor: ${answered} answers`);
  process.exit(0);
});
