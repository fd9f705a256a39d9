/**
 * The admin socket file deleted while HAProxy runs (by hand, by a cleaner of temp dirs): the
 * worker still listens on the deleted file, every runtime command fails with `connect ENOENT`,
 * and membership would freeze for good. A reload does not bring the file back: the master
 * hands the new worker the listening socket it had, deleted file and all. Two reloads do: one
 * with the stats socket at a temporary path (the old listener is then closed), one with the
 * real path again (bound afresh). Listening TCP sockets pass from worker to worker as in any
 * reload; server states are carried across both through the master CLI (`@1 show servers
 * state`), which needs no admin socket.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { LighthouseError } from '../../../core/errors.js';
import type { ConfigFile } from '../config/config-file.js';
import { masterCommand, type HaproxyProcess } from './process.js';
import type { RuntimeApi } from '../runtime/api.js';
import type { RuntimeView } from '../runtime/view.js';
import type { Built } from '../config/model-builder.js';

/** A runtime API error that means the socket file is gone (or no longer HAProxy's). */
export function socketGone(err: unknown, socketFile: string): boolean {
  if (!(err instanceof LighthouseError) || err.code !== 'LH_ERR_HAPROXY_SOCKET') return false;
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || (code === undefined && !existsSync(socketFile));
}

/** `text` with its `stats socket PATH` at `to`; null when the text names no such line. */
export function withSocketAt(text: string, path: string, to: string): string | null {
  const re = new RegExp(`(stats socket )${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=\\s)`);
  return re.test(text) ? text.replace(re, (_, head: string) => head + to) : null;
}

export interface SocketRecoveryDeps {
  socketFile: string;
  masterSocket: string;
  serverStateFile: string;
  file: ConfigFile;
  proc: HaproxyProcess;
  runtime: RuntimeApi;
  view: RuntimeView;
  log: Logger;
}

/** Re-create the admin socket with two reloads of `target` (the config in force), then read
 * the runtime state again; returns the reloads done. */
export async function recreateSocket(d: SocketRecoveryDeps, target: Built, why: string): Promise<number> {
  const tmp = `${d.socketFile}.lh-recreate`;
  const text = target.text;
  const detour = withSocketAt(text, d.socketFile, tmp);
  if (detour === null) throw new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy admin socket ${d.socketFile} is gone (${why}) and the config names it on no 'stats socket' line: cannot re-create it`);
  d.log.error({ socket: d.socketFile, reason: why }, `HAProxy admin socket ${d.socketFile} is gone (${why}): re-creating it with two reloads (a reload alone keeps the deleted one); membership changes wait until then`);
  const dump = () => masterCommand(d.masterSocket, '@1 show servers state');
  d.runtime.close();
  d.view.invalidate();
  let reloads = 0;
  try {
    await d.file.settle();
    await d.view.saveServerState(target.models.backends, d.serverStateFile, dump);
    await d.file.write(detour);
    await d.proc.reload();
    reloads++;
    await d.view.saveServerState(target.models.backends, d.serverStateFile, dump);
    await d.file.write(text);
    await d.proc.reload();
    reloads++;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  d.log.info({ socket: d.socketFile }, 'HAProxy admin socket re-created');
  await d.view.resync();
  return reloads;
}
