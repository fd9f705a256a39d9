/**
 * How the HAProxy balancer finds HAProxy when it starts: a running one is adopted as is (its
 * structure is unknown, so the first apply reloads once); otherwise HAProxy is started from
 * the config file on disk (the last known members: fail-safe), or, when there is none or it
 * does not pass `haproxy -c`, from an empty state. Either way what HAProxy serves per backend
 * is read back (recover.ts) for the clusters the writer has not heard from ZooKeeper yet.
 * A HAProxy that died later is started again the same way (restartHaproxy).
 */
import type { Logger } from 'pino';
import { busyBinds } from '../config/bind-probe.js';
import { sameText, type ConfigFile } from '../config/config-file.js';
import type { Built } from '../config/model-builder.js';
import { parseSections, sectionBinds } from '../config/sections.js';
import type { HaproxyProcess } from './process.js';
import { addRuntimeRows, recoverFromConfig, type Recovered } from '../config/recover.js';
import type { Running } from './running.js';
import type { RuntimeApi } from '../runtime/api.js';
import { runningServer } from '../runtime/parse.js';
import { Admission } from '../config/admission.js';

export interface StartDeps {
  file: ConfigFile;
  proc: HaproxyProcess;
  runtime: RuntimeApi;
  running: Running;
  log: Logger;
  /** write the config of an empty state (validated), when there is no usable file */
  writeEmpty(): Promise<void>;
  /** HAProxy runs: the balancer's runtime view reads it */
  resync(): Promise<void>;
}

/** Adopt or start HAProxy; returns its master pid and what it serves per backend. */
export async function startHaproxy(d: StartDeps): Promise<{ masterPid: number; recovered: Map<string, Recovered> }> {
  const status = await d.proc.status();
  let onDisk = await d.file.read();
  let masterPid: number;
  if (status) {
    masterPid = status.masterPid;
    d.log.info({ masterPid, workerPid: status.workers[0] }, 'adopted running HAProxy');
    // (roughly what it runs: its binds need no probe; a wrong guess only costs a failed reload)
    if (onDisk !== null) d.running.holds(Admission.binds(onDisk));
  } else {
    if (onDisk !== null && !(await d.file.check()).ok) onDisk = null;
    if (onDisk === null) await d.writeEmpty();
    else {
      const text = await startableText(onDisk, d.file.path, d.log);
      if (text !== onDisk) await d.file.write(text);
      d.running.startFrom(text);
    }
    masterPid = (await d.proc.start()).masterPid;
  }
  await d.resync();
  const recovered = onDisk === null ? new Map<string, Recovered>() : recoverFromConfig(onDisk);
  // the states HAProxy serves them in (a fresh one: the server-state file of its last reload)
  addRuntimeRows(recovered, (await d.runtime.showServersState()).rows.map(runningServer));
  return { masterPid, recovered };
}

/**
 * The config file on disk as HAProxy can start from it now: without the frontends (and listen
 * sections) whose address another process holds (after a reboot, another service may have
 * taken a port first), each named in the log. Without this one such port would keep HAProxy
 * from starting at all, and every cluster would go unserved.
 */
export async function startableText(text: string, file: string, log: Logger): Promise<string> {
  const sections = parseSections(text).filter((s) => s.kind === 'frontend' || s.kind === 'listen');
  const busy = await busyBinds(sections.flatMap(sectionBinds), async () => []);
  if (!busy.size) return text;
  const drop = sections.filter((s) => sectionBinds(s).some((b) => busy.has(b)));
  for (const s of drop) log.error({ file, section: `${s.kind} ${s.name}`, reason: sectionBinds(s).map((b) => busy.get(b)).filter(Boolean).join('; ') }, `${s.kind} ${s.name} of ${file} left out at start: ${sectionBinds(s).map((b) => busy.get(b)).filter(Boolean).join('; ')}`);
  const lines = text.split('\n');
  return lines.filter((_, i) => !drop.some((s) => i + 1 >= s.from && i + 1 <= s.to)).join('\n');
}

export interface RestartDeps {
  proc: HaproxyProcess;
  log: Logger;
  /** the latest state's config, and the last config HAProxy ran (Running.good) */
  latest: Built | null;
  good: Built | null;
  /** what the file on disk holds, when the balancer wrote it */
  written(): Built | null;
  writeNow(built: Built): Promise<Built>;
}

/** Start a dead HAProxy again, from the latest config (or the file on disk when HAProxy refuses
 * it); when that does not start, from the last config it ran. Returns the new master's pid. */
export async function restartHaproxy(d: RestartDeps): Promise<number> {
  if (d.latest) await d.writeNow(d.latest).catch((err) => d.log.error({ err }, 'current config rejected: starting from the file on disk'));
  try {
    return (await d.proc.start()).masterPid;
  } catch (err) {
    const good = d.good;
    const written = d.written();
    if (!good || (written && sameText(good.parts, written.parts))) throw err;
    d.log.error({ err }, 'HAProxy did not start with the current config: starting it with the last config it ran');
    await d.writeNow(good);
    return (await d.proc.start()).masterPid;
  }
}
