#!/usr/bin/env node
/**
 * The image's HEALTHCHECK: healthy while the Lighthouse daemon this container runs is alive and
 * running (not stopped, not a zombie), answers 200 on its `/ready` (config loaded, ZooKeeper
 * session up; http://127.0.0.1:10101/ready for a reporter, :10102 for a writer, another URL in
 * LIGHTHOUSE_HEALTH_READY, `off`: not asked) and, when LIGHTHOUSE_HEALTH_HAPROXY_PID names
 * HAProxy's pid file (a writer), while that HAProxy master runs too.
 *
 * The daemon is a child of the container's init (tini, PID 1); LIGHTHOUSE_HEALTH_PARENT names
 * another parent (tests). Exit 0 healthy, 1 not (with the reason on stdout, which Docker keeps).
 */
import { readFileSync, readdirSync } from 'node:fs';

const parent = Number(process.env.LIGHTHOUSE_HEALTH_PARENT ?? 1);
const pidFile = process.env.LIGHTHOUSE_HEALTH_HAPROXY_PID;

/** state letter and parent pid from /proc/PID/stat (the command name may hold spaces) */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

const running = (s) => s !== null && !['Z', 'X', 'x', 'T', 't'].includes(s.state);

function fail(why) {
  process.stdout.write(`unhealthy: ${why}\n`);
  process.exit(1);
}

const daemons = readdirSync('/proc')
  .filter((d) => /^\d+$/.test(d))
  .map(Number)
  .filter((pid) => stat(pid)?.ppid === parent && cmdline(pid).some((a) => /lighthouse-(reporter|writer)(\.js)?$/.test(a)));
if (daemons.length === 0) fail(`no lighthouse-reporter or lighthouse-writer process under pid ${parent}`);
for (const pid of daemons) if (!running(stat(pid))) fail(`daemon pid ${pid} is ${stat(pid)?.state === 'Z' ? 'a zombie' : 'stopped'}`);
if (pidFile) {
  let master;
  try {
    master = Number(readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
  } catch {
    fail(`no HAProxy pid file ${pidFile}`);
  }
  if (!running(stat(master))) fail(`HAProxy master ${master} (from ${pidFile}) is not running`);
}
const writer = daemons.some((pid) => cmdline(pid).some((a) => /lighthouse-writer(\.js)?$/.test(a)));
const ready = process.env.LIGHTHOUSE_HEALTH_READY ?? `http://127.0.0.1:${writer ? 10102 : 10101}/ready`;
if (ready !== 'off') {
  const r = await fetch(ready, { signal: AbortSignal.timeout(3000) }).catch((err) => fail(`${ready}: ${err.cause?.code ?? err.message}`));
  if (r.status !== 200) fail(`${ready} answered ${r.status}: ${(await r.text()).slice(0, 200).trim()}`);
}
process.stdout.write(`healthy: daemon pid ${daemons.join(', ')}${ready === 'off' ? '' : ', ready'}${pidFile ? ', HAProxy running' : ''}\n`);
