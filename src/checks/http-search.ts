/**
 * The `search` of an http check, as in Platus: a string is a regular expression searched in the
 * body (a plain word matches itself); a mapping must be a subset of the body parsed as JSON
 * (nested mappings key by key, arrays and scalars by equality). A miss is described in one
 * line: what was expected and what the body had instead.
 */
import { isDeepStrictEqual } from 'node:util';
import { quote } from './detail.js';

export type Search = { kind: 'regex'; re: RegExp } | { kind: 'json'; subset: Record<string, unknown> };

/** A config value -> a search; throws with a message for the config error (a bad regex). */
export function compileSearch(value: string | Record<string, unknown>): Search {
  if (typeof value !== 'string') return { kind: 'json', subset: value };
  try {
    return { kind: 'regex', re: new RegExp(value) };
  } catch (err) {
    throw new Error(`not a valid regular expression: ${(err as Error).message}`);
  }
}

/** null when the body matches, else why not. */
export function searchBody(search: Search, body: string): string | null {
  if (search.kind === 'regex') return search.re.test(body) ? null : `body does not match /${search.re.source}/ (body ${quote(body)})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `body is not JSON (body ${quote(body)})`;
  }
  const miss = subsetMiss(search.subset, parsed, []);
  return miss === null ? null : `body lacks ${JSON.stringify(search.subset)}: ${miss}`;
}

function subsetMiss(want: unknown, got: unknown, path: string[]): string | null {
  const at = path.length ? path.join('.') : 'the top level';
  if (isPlainObject(want)) {
    if (!isPlainObject(got)) return `at ${at}: expected an object, got ${show(got)}`;
    for (const [k, v] of Object.entries(want)) {
      if (!Object.hasOwn(got, k)) return `no key ${[...path, k].join('.')}`;
      const miss = subsetMiss(v, got[k], [...path, k]);
      if (miss !== null) return miss;
    }
    return null;
  }
  return isDeepStrictEqual(want, got) ? null : `at ${at}: expected ${show(want)}, got ${show(got)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON of a value, cut short: a huge array in the body must not flood the logs */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
