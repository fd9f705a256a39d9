/**
 * Failure details shared by the check plugins. A check never throws (the scheduler counts any
 * exception as a failure, but the operator then sees a stack instead of a reason), so every
 * error becomes one short line naming what failed.
 */
import type { CheckResult } from '../core/plugin.js';

/** The result of every passing probe without a note: one shared object, nothing allocated per
 * probe (a fresh `{ ok: true }` per probe was tenured by V8 and piled up in the old generation). */
export const PASS: CheckResult = Object.freeze({ ok: true });

/** Why `signal` aborted, phrased for a failure detail. The scheduler aborts with an Error whose
 * message is already "timed out after N ms"; AbortSignal.timeout() uses a DOMException named
 * TimeoutError whose message is long-winded. */
export function abortDetail(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error || (typeof reason === 'object' && reason !== null && 'message' in reason)) {
    const { name, message } = reason as { name?: string; message?: string };
    if (name === 'TimeoutError') return 'timed out';
    if (name === 'AbortError' || !message) return 'aborted';
    return message;
  }
  return typeof reason === 'string' && reason ? reason : 'aborted';
}

/** One line for an unexpected error: its message (with the errno code when the message lacks it). */
export function errorDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err.message || err.name;
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

/** Text from a peer, cut short and quoted so a binary or huge reply cannot flood the logs. */
export function quote(text: string, max = 80): string {
  const s = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(s).replace(/^"|"$/g, "'");
}
