/**
 * `exec` check: run a command; exit status 0 passes. The command runs in its own process group
 * so that, on timeout, the whole group (the shell and whatever it started) is killed rather
 * than just the shell leaving its children running. For the same reason the group is killed
 * once the command exits: a check's processes never outlive the probe, and a stray background
 * child cannot hold the output pipes open and stall the next probe.
 */
import { spawn } from 'node:child_process';
import { z } from 'zod';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { abortDetail, errorDetail } from './detail.js';
import { signalGroup } from '../core/process-group.js';

/**
 * exec check keys (`rise`, `fall`, `timeout` are common and handled by the reporter); exactly
 * one of `command` and `argv` is required:
 *   command: a shell command line, run with `/bin/sh -c`.
 *   argv:    a program and its arguments, run without a shell (argv[0] is looked up in PATH).
 *   env:     extra environment variables (map of strings), added to the reporter's own
 *            environment. Optional; default none. LIGHTHOUSE_CHECK_HOST and
 *            LIGHTHOUSE_CHECK_PORT are always set to the checked target.
 */
export const execSchema = z
  .strictObject({
    command: z.string().min(1).optional(),
    argv: z.array(z.string()).min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
  })
  .refine((c) => (c.command === undefined) !== (c.argv === undefined), {
    message: 'exactly one of `command` or `argv` is required',
  });
export type ExecConfig = z.output<typeof execSchema>;

/** The failure detail carries the tail of the output, where error messages usually are. */
const OUTPUT_TAIL_BYTES = 4096;

export function createExecCheck(config: ExecConfig, target: CheckTarget): Check {
  const [file, args] = config.command !== undefined ? ['/bin/sh', ['-c', config.command]] : [config.argv![0], config.argv!.slice(1)];
  const label = `exec ${JSON.stringify(config.command ?? config.argv!.join(' '))}`;
  // built once: the environment does not change between probes
  const env = {
    ...process.env,
    ...config.env,
    LIGHTHOUSE_CHECK_HOST: target.host,
    LIGHTHOUSE_CHECK_PORT: String(target.port),
  };
  return {
    run(signal: AbortSignal): Promise<CheckResult> {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve({ ok: false, detail: `${label}: ${abortDetail(signal)}` });
        let tail = Buffer.alloc(0);
        const keep = (chunk: Buffer) => {
          tail = tail.length + chunk.length <= OUTPUT_TAIL_BYTES ? Buffer.concat([tail, chunk]) : Buffer.concat([tail, chunk]).subarray(-OUTPUT_TAIL_BYTES);
        };
        const output = () => {
          const text = tail.toString('utf8').trim();
          return text ? `: ${text}` : '';
        };
        let settled = false;
        let exit: { code: number | null; sig: NodeJS.Signals | null } | null = null;
        const child = spawn(file, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        const killGroup = () => signalGroup(child.pid, 'SIGKILL');
        const finish = (r: CheckResult) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const onAbort = () => {
          killGroup();
          finish({ ok: false, detail: `${label}: ${abortDetail(signal)}, killed${output()}` });
        };
        signal.addEventListener('abort', onAbort, { once: true });
        child.stdout!.on('data', keep);
        child.stderr!.on('data', keep);
        child.once('error', (err) => finish({ ok: false, detail: `${label}: ${errorDetail(err)}` }));
        child.once('exit', (code, sig) => {
          exit = { code, sig };
          killGroup();
        });
        // 'close' comes after the pipes drain, so the output tail is complete
        child.once('close', () => {
          if (!exit) return;
          if (exit.code === 0) return finish({ ok: true });
          const how = exit.code !== null ? `exit ${exit.code}` : `killed by ${exit.sig}`;
          finish({ ok: false, detail: `${label}: ${how}${output()}` });
        });
      });
    },
  };
}

export const execCheck = {
  kind: 'check',
  name: 'exec',
  schema: execSchema,
  create: (config, target, _deps) => createExecCheck(config, target),
} satisfies CheckPlugin<ExecConfig>;
