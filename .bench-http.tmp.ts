import { httpCheck, httpSchema } from './src/checks/http.js';
import { CheckLoop } from './src/checks/scheduler.js';
import { systemClock } from './src/core/clock.js';
import { silentLogger } from './src/core/logger.js';
const ports: number[] = JSON.parse(process.argv[2]);
let n = 0, bad = 0;
for (let i = 0; i < 1000; i++) {
  const check = httpCheck.create(httpSchema.parse({ uri: '/health' }), { host: '127.0.0.1', port: ports[i % ports.length] }, { logger: silentLogger(), clock: systemClock });
  new CheckLoop({ key: `svc${i}`, check, clock: systemClock, intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, onResult: (r) => { n++; if (!r.ok) { bad++; if (bad < 5) console.log(r.detail); } } }).start();
}
await new Promise((r) => setTimeout(r, 5000));
const c0 = process.cpuUsage(); const n0 = n; const t0 = performance.now();
await new Promise((r) => setTimeout(r, 20000));
const c = process.cpuUsage(c0); const secs = (performance.now() - t0) / 1000;
console.log(`${((n - n0) / secs).toFixed(0)} checks/s, cpu ${(((c.user + c.system) / 1e6 / secs) * 100).toFixed(1)}% of a core, bad=${bad}, rss=${(process.memoryUsage().rss/1048576).toFixed(0)}MB`);
process.exit(0);
