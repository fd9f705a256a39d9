/**
 * `tcp` check (Python Lighthouse semantics): connect; if `query` is set, send it; if `response`
 * is set, read one line and compare it, trimmed, with `response`. With neither, a completed
 * connect is a pass. A new connection per probe, like the original: line protocols such as
 * ZooKeeper's four-letter words close the connection after answering.
 */
import net from 'node:net';
import { z } from 'zod';
import type { Check, CheckPlugin, CheckResult, CheckTarget } from '../core/plugin.js';
import { abortDetail, errorDetail, PASS, quote } from './detail.js';

/**
 * tcp check keys (`rise`, `fall`, `timeout` are common and handled by the reporter):
 *   query:    string sent once connected, as-is (no newline added; write "ruok" or "PING\r\n").
 *             Optional; default: send nothing.
 *   response: the expected first line of the reply, compared after trimming whitespace. The
 *             line ends at "\n" or when the peer closes. Optional; default: do not read.
 */
export const tcpSchema = z.strictObject({
  query: z.string().min(1).optional(),
  response: z.string().optional(),
});
export type TcpConfig = z.output<typeof tcpSchema>;

/** A reply line longer than this is a protocol mismatch, not something to buffer. */
const MAX_LINE_BYTES = 8192;

export interface ExchangeOptions {
  send?: string;
  /** read one line ("\n"-terminated, or up to the peer's close) and resolve with it */
  readLine: boolean;
  signal: AbortSignal;
}

/**
 * Connect, optionally send, optionally read one line. Rejects on connect errors, on abort (with
 * an Error whose message is the abort detail) and on a line longer than 8 KiB. The socket is
 * always destroyed before the promise settles, so a probe never leaks a descriptor.
 */
export function exchangeLine(target: CheckTarget, opts: ExchangeOptions): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const { signal } = opts;
    if (signal.aborted) return reject(new Error(abortDetail(signal)));
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    let buf = '';
    let settled = false;
    const finish = (err: Error | null, line?: string) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(line);
    };
    const onAbort = () => finish(new Error(abortDetail(signal)));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(err));
    socket.once('connect', () => {
      if (!opts.readLine) {
        if (opts.send === undefined) return finish(null);
        // passing means the peer accepted the bytes; the write callback fires once flushed
        socket.write(opts.send, (err) => finish(err ?? null));
        return;
      }
      if (opts.send !== undefined) socket.write(opts.send);
    });
    if (!opts.readLine) return;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) return finish(null, buf.slice(0, nl));
      if (buf.length > MAX_LINE_BYTES) finish(new Error(`no end of line within ${MAX_LINE_BYTES} bytes`));
    });
    // ZooKeeper's "imok" has no newline: the peer's close ends the line
    socket.once('end', () => (buf ? finish(null, buf) : finish(new Error('connection closed without a reply'))));
  });
}

export function createTcpCheck(config: TcpConfig, target: CheckTarget): Check {
  const where = `tcp ${target.host}:${target.port}`;
  const expected = config.response?.trim();
  const readLine = expected !== undefined;
  return {
    async run(signal: AbortSignal): Promise<CheckResult> {
      try {
        const line = await exchangeLine(target, { send: config.query, readLine, signal });
        if (!readLine) return PASS;
        const got = (line ?? '').trim();
        if (got === expected) return PASS;
        return { ok: false, detail: `${where}: expected ${quote(expected)}, got ${quote(got)}` };
      } catch (err) {
        return { ok: false, detail: `${where}: ${errorDetail(err)}` };
      }
    },
  };
}

export const tcpCheck = {
  kind: 'check',
  name: 'tcp',
  schema: tcpSchema,
  create: (config, target, _deps) => createTcpCheck(config, target),
} satisfies CheckPlugin<TcpConfig>;
