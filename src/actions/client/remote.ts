/**
 * lighthousectl's HTTP side of actions (undici): one Agent per node, so its TLS is checked
 * against the node's name (SNI and certificate) while the connection goes to the address the
 * inventory publishes. A run's answer is NDJSON read as it arrives; anything that is not one of
 * the expected events is skipped, never printed as it came.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { LighthouseError } from '../../core/errors.js';
import type { NodeRecord } from '../../core/node-record.js';
import type { ClientConfig } from './config.js';

export interface NodeAnswer {
  status: number;
  body: unknown;
}

export type RunEvent =
  | { event: 'start'; variant: string }
  | { event: 'line'; stream: 'stdout' | 'stderr'; text: string }
  | { event: 'end'; exit_code: number | null; signal: string | null; timed_out: boolean; cancelled: boolean; duration_ms: number; error?: string };

export class NodeClient {
  private readonly agent: Dispatcher;

  private constructor(
    readonly node: NodeRecord,
    private readonly token: string,
    private readonly timeoutMs: number,
    ca: Buffer | undefined,
    verifyTls: boolean,
  ) {
    const servername = isIP(node.host) === 0 ? node.host : undefined;
    this.agent = new Agent({
      connect: { rejectUnauthorized: verifyTls, ...(ca && { ca }), ...(servername && { servername }) },
      headersTimeout: timeoutMs,
      // a run may be silent for a long time; the reporter sends a tick every 15 s
      bodyTimeout: 0,
    });
  }

  static async open(node: NodeRecord, token: string, c: ClientConfig): Promise<NodeClient> {
    const ca = c.caFile ? await readFile(c.caFile).catch((err) => {
      throw new LighthouseError('LH_ERR_USAGE', `cannot read ca_file ${c.caFile} (${(err as NodeJS.ErrnoException).code})`);
    }) : undefined;
    return new NodeClient(node, token, c.timeoutMs, ca, c.verifyTls);
  }

  /** GET a JSON resource. */
  async get(path: string): Promise<NodeAnswer> {
    const res = await this.send('GET', path);
    return { status: res.statusCode, body: await readJson(res.body) };
  }

  /** POST a run; `onEvent` sees each event as it comes. Resolves with the end event, or an
   * answer when the node refused (nothing ran). */
  async run(action: string, body: { args: string[]; confirmed: boolean }, onEvent: (e: RunEvent) => void, signal?: AbortSignal): Promise<{ end?: Extract<RunEvent, { event: 'end' }>; refused?: NodeAnswer }> {
    const res = await this.send('POST', `/actions/${encodeURIComponent(action)}`, JSON.stringify(body), signal);
    if (res.statusCode !== 200) return { refused: { status: res.statusCode, body: await readJson(res.body) } };
    let end: Extract<RunEvent, { event: 'end' }> | undefined;
    let rest = '';
    for await (const chunk of res.body) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        const e = parseEvent(l);
        if (!e) continue;
        if (e.event === 'end') end = e;
        onEvent(e);
      }
    }
    return { end };
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async send(method: 'GET' | 'POST', path: string, body?: string, signal?: AbortSignal) {
    const url = new URL(path, this.node.endpoint?.url ?? 'http://invalid');
    if (!this.node.endpoint) throw new LighthouseError('LH_ERR_ACTION', 'publishes no HTTP endpoint (http.yaml port: false)');
    try {
      return await request(url, {
        method,
        dispatcher: this.agent,
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/json, application/x-ndjson', ...(body && { 'content-type': 'application/json' }) },
        ...(body && { body }),
        ...(signal && { signal }),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const code = e.code ?? '';
      const hint = code.startsWith('UND_ERR_HEADERS_TIMEOUT') ? `no answer within ${this.timeoutMs / 1000} s` : /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) ? `TLS: ${e.message} (ca_file names a private CA; verify_tls: false skips the check)` : e.message;
      throw new LighthouseError('LH_ERR_ACTION', `cannot reach ${this.node.endpoint.url} (${code || 'error'}: ${hint})`, { cause: err });
    }
  }
}

async function readJson(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const text = await body.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseEvent(line: string): RunEvent | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (e.event === 'line' && (e.stream === 'stdout' || e.stream === 'stderr') && typeof e.text === 'string') return { event: 'line', stream: e.stream, text: e.text };
  if (e.event === 'start' && typeof e.variant === 'string') return { event: 'start', variant: e.variant };
  if (e.event === 'end') {
    const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : null);
    return {
      event: 'end',
      exit_code: num(e.exit_code),
      signal: typeof e.signal === 'string' ? e.signal : null,
      timed_out: e.timed_out === true,
      cancelled: e.cancelled === true,
      duration_ms: num(e.duration_ms) ?? 0,
      ...(typeof e.error === 'string' && { error: e.error }),
    };
  }
  return undefined;
}

/** The message of a refusal: the node's `error`, else the status. */
export function refusalMessage(a: NodeAnswer): string {
  const b = a.body as { error?: unknown } | string;
  const msg = typeof b === 'object' && b && typeof b.error === 'string' ? b.error : typeof b === 'string' && b.trim() ? b.trim().slice(0, 200) : '';
  return `${msg || 'refused'} (HTTP ${a.status})`;
}
