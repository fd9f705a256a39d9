/**
 * Which HAProxy directives are legal in which section, as the Python Lighthouse checked the
 * user's `global`, `defaults`, cluster `frontend`/`backend`, meta-cluster `frontend` and proxy
 * `options` lines. The knowledge is data (`directives.json`, built from HAProxy's manual, see its
 * `$comment`); this module only reads lines against it.
 *
 * A line's keyword is its longest match in the table over its first three words, so
 * `option httplog`, `timeout connect`, `tcp-request content`, `capture request header` and
 * `stats uri` are keywords, while `http-request deny ...` is the keyword `http-request`.
 * `no` / `default` in front only negate or reset (`no option httplog` is `option httplog`), and
 * `set-var(txn.x)` style arguments glued to a sub-keyword match `set-var`.
 *
 * Only the keyword is checked, not its arguments: `haproxy -c` on the rendered file stays the
 * final word, this check just names the offending line of the YAML before rendering.
 *
 * Severity follows HAProxy: a line HAProxy refuses is an error; a proxy keyword in a frontend or
 * backend that lacks its capability (`maxconn` in a backend, `balance` in a frontend) is a
 * warning, because HAProxy parses and ignores such a line with a warning of its own. Configs
 * that ran before keep running (the Lighthouse documentation's own example puts `maxconn 500` in
 * a cluster backend) and the user still learns that the line does nothing.
 */
import table from './directives.json' with { type: 'json' };
import type { Issue, Path } from '../../../config/yaml.js';

export type Section = 'global' | 'defaults' | 'frontend' | 'listen' | 'backend' | 'peers';

/** a version for all sections, or per section */
type Versioned = string | Partial<Record<Section, string>>;

interface Entry {
  in: Section[];
  no?: boolean;
  namedDefaults?: boolean;
  since?: Versioned;
  removed?: Versioned;
  use?: string;
  hint?: Partial<Record<Section, string>>;
  /** frontend/backend where HAProxy refuses the keyword instead of ignoring it */
  refused?: Section[];
}

interface Table {
  supported: { min: string; max: string };
  sections: Section[];
  prefixes: Record<string, Entry>;
  keywords: Record<string, Entry>;
}

// The JSON's inferred type has `string` where we have `Section`; the unit tests check the shape.
const TABLE = table as unknown as Table;
const PROXY: readonly Section[] = ['defaults', 'frontend', 'listen', 'backend'];
/** first words of multi-word keywords that are not keywords alone: `stats bogus` is reported
 * as the unknown keyword `stats bogus`, not as `stats` */
const FAMILIES = new Set(
  Object.keys(TABLE.keywords)
    .filter((k) => k.includes(' '))
    .map((k) => k.split(' ')[0])
    .filter((w) => !(w in TABLE.keywords)),
);

export type Severity = 'error' | 'warning';

export interface DirectiveProblem {
  index: number;
  line: string;
  message: string;
  /** error: HAProxy would refuse the line; warning: HAProxy would ignore it */
  severity: Severity;
}

export interface ValidateOptions {
  /** the HAProxy in use, e.g. "2.6.12"; without it a keyword passes if any supported version
   * (2.4 and later) has it in this section */
  haproxyVersion?: string;
  /** the lines go to a named `defaults` section; Lighthouse renders an anonymous one, where
   * HAProxy refuses `acl`, `http-request`, `tcp-request ...` (the matrix's "(!)") */
  namedDefaults?: boolean;
}

interface Parsed {
  keyword: string;
  prefix?: 'no' | 'default';
}

function parse(line: string): Parsed | undefined {
  const words = line.trim().split(/\s+/);
  if (words[0] === '' || words[0].startsWith('#')) return undefined;
  let prefix: Parsed['prefix'];
  if ((words[0] === 'no' || words[0] === 'default') && words.length > 1) prefix = words.shift() as Parsed['prefix'];
  for (let n = Math.min(3, words.length); n > 1; n--) {
    const key = [words[0], ...words.slice(1, n).map((w) => w.replace(/\(.*$/, ''))].join(' ');
    if (key in TABLE.keywords) return { keyword: key, prefix };
  }
  if (!(words[0] in TABLE.keywords) && FAMILIES.has(words[0]) && words.length > 1) {
    return { keyword: `${words[0]} ${words[1]}`, prefix };
  }
  return { keyword: words[0], prefix };
}

/** The directive keyword of a line ('' for blank lines and comments), without a `no`/`default`
 * prefix: `keywordOf('no option httplog') === 'option httplog'`. */
export function keywordOf(line: string): string {
  return parse(line)?.keyword ?? '';
}

function lookup(keyword: string): Entry | undefined {
  if (keyword in TABLE.keywords) return TABLE.keywords[keyword];
  const prefix = Object.keys(TABLE.prefixes).find((p) => keyword.startsWith(p));
  return prefix === undefined ? undefined : TABLE.prefixes[prefix];
}

function parseVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new RangeError(`invalid HAProxy version '${v}', expected e.g. "2.6" or "2.6.12"`);
  return [Number(m[1]), Number(m[2])];
}

function atLeast(v: [number, number], than: string): boolean {
  const t = parseVersion(than);
  return v[0] !== t[0] ? v[0] > t[0] : v[1] >= t[1];
}

function forSection(v: Versioned | undefined, section: Section): string | undefined {
  return typeof v === 'object' ? v[section] : v;
}

/** removed for this section at this version (no version: gone before the oldest supported) */
function removedIn(entry: Entry, section: Section, version: [number, number]): string | undefined {
  const r = forSection(entry.removed, section);
  return r !== undefined && atLeast(version, r) ? r : undefined;
}

/** Where a keyword is valid, for the message: proxy sections only when the line is in one and
 * the keyword has some (nobody wants to hear that `bind` also works in `peers`). */
function validIn(entry: Entry, section: Section, version: [number, number]): Section[] {
  const all = entry.in.filter((s) => removedIn(entry, s, version) === undefined);
  const proxies = all.filter((s) => PROXY.includes(s));
  return PROXY.includes(section) && proxies.length ? proxies : all;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** a close keyword of this section, for typos such as `option httplgo` */
function suggestion(keyword: string, section: Section, version: [number, number]): string | undefined {
  if (keyword.length < 4) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const [k, e] of Object.entries(TABLE.keywords)) {
    if (!e.in.includes(section) || removedIn(e, section, version) !== undefined) continue;
    const d = distance(keyword, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** A proxy keyword in a frontend/backend without the capability: HAProxy ignores it (warning). */
function ignoredThere(entry: Entry, section: Section): boolean {
  return (section === 'frontend' || section === 'backend') && entry.in.includes('listen') && !entry.refused?.includes(section);
}

type Found = { message: string; severity: Severity };

/** The problem with one line, if any. `given` is the configured version; `version` is that or,
 * without one, the oldest supported (so "removed in 2.5" passes, "removed in 2.1" does not). */
function check(parsed: Parsed, section: Section, opts: ValidateOptions, given: [number, number] | undefined): Found | undefined {
  const error = (message: string): Found => ({ message, severity: 'error' });
  const { keyword, prefix } = parsed;
  const version = given ?? parseVersion(TABLE.supported.min);
  const entry = lookup(keyword);
  if (!entry) {
    const near = suggestion(keyword, section, version);
    return error(`'${keyword}' is not a valid keyword in a ${section} section${near ? `; did you mean '${near}'?` : ''}`);
  }
  // a keyword removed everywhere (reqadd) is reported as removed even in a section it never
  // had; one removed from some sections only (grace) just in those
  const removed = removedIn(entry, section, version);
  if (removed !== undefined) {
    return error(`'${keyword}' was removed in HAProxy ${removed}${entry.use ? `; use '${entry.use}' instead` : ''}`);
  }
  if (!entry.in.includes(section)) {
    const hint = entry.hint?.[section];
    const valid = validIn(entry, section, version).join(', ');
    if (ignoredThere(entry, section)) {
      return { message: `'${keyword}' has no effect in a ${section} section, HAProxy ignores it there (valid in: ${valid})${hint ? `; ${hint}` : ''}`, severity: 'warning' };
    }
    return error(`'${keyword}' is not valid in a ${section} section (valid in: ${valid})${hint ? `; ${hint}` : ''}`);
  }
  const since = forSection(entry.since, section);
  if (given && since !== undefined && !atLeast(given, since)) {
    const message = `'${keyword}' requires HAProxy ${since} or newer (configured: ${opts.haproxyVersion})`;
    // an older HAProxy treats it like any keyword without the capability there
    return ignoredThere(entry, section) && forSection(entry.since, 'listen') === undefined ? { message: `${message}; older versions ignore it in a ${section} section`, severity: 'warning' } : error(message);
  }
  if (prefix && !entry.no) return error(`'${keyword}' does not accept the '${prefix}' prefix`);
  if (section === 'defaults' && entry.namedDefaults && !opts.namedDefaults) {
    return error(`'${keyword}' is only allowed in a named defaults section`);
  }
  return undefined;
}

/** The lines that are not legal in `section`; blank lines and comments pass. */
export function validateLines(section: Section, lines: readonly string[], opts: ValidateOptions = {}): DirectiveProblem[] {
  const given = opts.haproxyVersion === undefined ? undefined : parseVersion(opts.haproxyVersion);
  const problems: DirectiveProblem[] = [];
  lines.forEach((line, index) => {
    const parsed = parse(line);
    const found = parsed && check(parsed, section, opts, given);
    if (found) problems.push({ index, line, ...found });
  });
  return problems;
}

/** validateLines as config issues at `[...basePath, index]`, for a schema to place in the file;
 * only the problems of one severity (errors reject the file, warnings are only reported). */
export function directiveIssues(section: Section, lines: readonly string[], basePath: Path, opts: ValidateOptions & { severity?: Severity } = {}): Issue[] {
  const severity = opts.severity ?? 'error';
  return validateLines(section, lines, opts)
    .filter((p) => p.severity === severity)
    .map((p) => ({ path: [...basePath, p.index], message: p.message }));
}
