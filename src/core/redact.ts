/**
 * The secrets a daemon knows, so that none of them reaches a log line or an error message.
 * Every value resolved from a `${env:...}` / `${file:...}` reference is one, and so is every
 * value of a secret key (`password`, `token`, `key`, ... whether inline or from a `*_file`).
 * The logger passes each line through `redact` (one `includes` per secret: log lines are
 * rare, state changes only), and config problems are redacted before they are reported.
 *
 * Values shorter than MIN_SECRET are not masked: masking "1" would garble every line, and a
 * secret that short protects nothing anyway.
 */
export const MIN_SECRET = 4;
export const MASK = '***';

/** Keys whose values are secrets wherever they appear in a validated config. */
const SECRET_KEYS = new Set(['password', 'token', 'key', 'secret', 'passphrase']);

export class Secrets {
  private readonly values = new Set<string>();

  add(value: string): void {
    if (value.length < MIN_SECRET) return;
    this.values.add(value);
    // as it appears inside a JSON log line (a PEM key's newlines, a quote)
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) this.values.add(json);
    for (const line of value.split(/\r?\n/)) if (line.length >= 16) this.values.add(line);
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    if (this.values.size === 0) return text;
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.replaceAll(v, MASK);
    return out;
  }

  /** Add the values of secret keys found anywhere in `value` (a validated config). */
  collect(value: unknown, depth = 0): void {
    if (depth > 20 || typeof value !== 'object' || value === null) return;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && SECRET_KEYS.has(k)) this.add(v);
      else if (typeof v === 'object') this.collect(v, depth + 1);
    }
  }
}
