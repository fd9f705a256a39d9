/**
 * `lighthousectl action NAME ...` on many nodes at once: ask first if the action says `confirm`
 * (unless --yes), run on every node in parallel, print each line as it arrives prefixed with the
 * node's name (stdout to stdout, stderr to stderr), then one summary line. Control characters
 * from a node are shown escaped, never sent to the terminal.
 */
import type { NodeRecord } from '../../core/node-record.js';
import type { ClientConfig } from './config.js';
import { NodeClient, refusalMessage, type RunEvent } from './remote.js';

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export interface RunOptions {
  action: string;
  args: string[];
  nodes: NodeRecord[];
  /** names asked for that are not in the inventory: failed without trying */
  missing: { name: string; why: string }[];
  token: string;
  config: ClientConfig;
  /** --yes: no question, the run is marked confirmed */
  yes: boolean;
  /** asks the operator; resolves true to go on */
  confirm(question: string): Promise<boolean>;
  signal?: AbortSignal;
}

export interface NodeOutcome {
  node: string;
  ok: boolean;
  /** exit 0, or why not */
  detail: string;
}

export async function runOnNodes(o: RunOptions, print: Output): Promise<{ outcomes: NodeOutcome[]; declined: boolean }> {
  const outcomes: NodeOutcome[] = o.missing.map((m) => ({ node: m.name, ok: false, detail: m.why }));
  const clients = await Promise.all(o.nodes.map((n) => NodeClient.open(n, o.token, o.config)));
  try {
    let go = clients;
    if (!o.yes) {
      const checked = await Promise.all(clients.map((c) => preflight(c, o.action)));
      go = clients.filter((_, i) => checked[i].ok);
      for (const [i, r] of checked.entries()) if (!r.ok) outcomes.push({ node: clients[i].node.name, ok: false, detail: r.why });
      if (go.length && checked.some((r) => r.ok && r.confirm)) {
        const names = go.map((c) => c.node.name).join(', ');
        const summary = checked.map((r) => (r.ok ? r.summary : undefined)).find(Boolean);
        if (!(await o.confirm(`Run '${o.action}'${summary ? ` (${summary})` : ''} on ${go.length} node(s): ${names}?`))) return { outcomes, declined: true };
      }
    }
    outcomes.push(...(await Promise.all(go.map((c) => runOne(c, o, print)))));
    return { outcomes, declined: false };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** The summary line, and whether every node succeeded. */
export function summarise(action: string, outcomes: readonly NodeOutcome[]): { line: string; ok: boolean } {
  const failed = outcomes.filter((x) => !x.ok);
  const ok = outcomes.length - failed.length;
  const detail = failed.length ? ` (${failed.map((f) => `${f.node}: ${f.detail}`).join('; ')})` : '';
  return { line: `${action}: ${ok} ok, ${failed.length} failed${detail}`, ok: failed.length === 0 && outcomes.length > 0 };
}

async function preflight(c: NodeClient, action: string): Promise<{ ok: true; confirm: boolean; summary?: string } | { ok: false; why: string }> {
  try {
    const a = await c.get(`/actions/${encodeURIComponent(action)}`);
    if (a.status !== 200) return { ok: false, why: refusalMessage(a) };
    const b = a.body as { confirm?: unknown; summary?: unknown };
    return { ok: true, confirm: b.confirm === true, ...(typeof b.summary === 'string' && { summary: escape(b.summary) }) };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

async function runOne(c: NodeClient, o: RunOptions, print: Output): Promise<NodeOutcome> {
  const node = c.node.name;
  const onEvent = (e: RunEvent) => {
    if (e.event === 'line') (e.stream === 'stdout' ? print.out : print.err)(`${node}: ${escape(e.text)}`);
  };
  try {
    const r = await c.run(o.action, { args: o.args, confirmed: true }, onEvent, o.signal);
    if (r.refused) return { node, ok: false, detail: refusalMessage(r.refused) };
    const e = r.end;
    if (!e) return { node, ok: false, detail: 'the connection ended before the run did' };
    if (e.error) return { node, ok: false, detail: `did not start: ${escape(e.error)}` };
    if (e.timed_out) return { node, ok: false, detail: `timed out after ${e.duration_ms} ms (its process group was killed)` };
    if (e.cancelled) return { node, ok: false, detail: 'cancelled' };
    if (e.exit_code === null) return { node, ok: false, detail: `ended by ${e.signal ?? 'a signal'}` };
    return { node, ok: e.exit_code === 0, detail: `exit ${e.exit_code}` };
  } catch (err) {
    return { node, ok: false, detail: o.signal?.aborted ? 'interrupted' : (err as Error).message };
  }
}

/** C0 controls (but tab) and DEL as \xNN: a node's text cannot move the cursor or recolour. */
export function escape(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
