/**
 * YAML with positions: parse a file, validate it with a zod schema, and turn every problem into
 * a ConfigProblem naming file:line:column and the path inside the document
 * (`clusters/web.yaml:6:17 haproxy.port: Too big: expected number to be <=65535`).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import { resolveRefs, type RefContext } from './refs.js';

export type Path = (string | number)[];

export interface ParsedYaml {
  file: string;
  value: unknown;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Issue {
  path: Path;
  message: string;
  /** unknown keys: point at the key itself rather than at its parent */
  key?: string;
}

/** Parse YAML text; syntax errors become a ConfigError with the parser's position. With `refs`,
 * `${env:...}` / `${file:...}` references are resolved (refs.ts); one that cannot be is a
 * ConfigError too. */
export function parseYaml(text: string, file: string, refs?: RefContext): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        file,
        ...lines.linePos(e.pos[0]),
        path: [],
        message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      })),
    );
  }
  if (refs) {
    const problems = resolveRefs(doc, lines, file, refs);
    if (problems.length) throw new ConfigError(problems);
  }
  const value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  return { file, value, doc, lines };
}

/** Line and column of the deepest existing node on `path` (or of the unknown `key` in it). */
function positionOf(parsed: ParsedYaml, path: Path, key?: string): { line?: number; col?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? parsed.doc.contents : parsed.doc.getIn(path.slice(0, depth), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (!range) continue;
    let offset = range[0];
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
    const pos = parsed.lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  }
  return {};
}

export function issuesToProblems(parsed: ParsedYaml, issues: Issue[]): ConfigProblem[] {
  return issues.map((i) => ({
    file: parsed.file,
    ...positionOf(parsed, i.path, i.key),
    path: i.key !== undefined ? [...i.path, i.key] : i.path,
    message: i.message,
  }));
}

/** Problems found after parsing (between files) given the line:column of their path, from
 * the files in `dir` as they are now; a file that no longer parses keeps its problem as is. */
export async function locateProblems<P extends ConfigProblem>(dir: string, problems: readonly P[]): Promise<P[]> {
  const parsed = new Map<string, Promise<ParsedYaml | null>>();
  const parse = (file: string) =>
    parsed.get(file) ??
    parsed.set(file, readFile(join(dir, file), 'utf8').then((t) => parseYaml(t, file), () => null)).get(file)!;
  return Promise.all(
    problems.map(async (p) => {
      if (p.line !== undefined || isAbsolute(p.file)) return p;
      const doc = await parse(p.file).catch(() => null);
      return doc ? { ...p, ...positionOf(doc, p.path) } : p;
    }),
  );
}

/** zod issues -> our issues, prefixed with `base` (the schema validated a sub-tree). */
function zodIssues(error: z.ZodError, base: Path = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of error.issues) {
    const path = [...base, ...(issue.path as Path)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path, key, message: `unknown key '${key}'` });
    } else if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors)) {
      // report the branch that got furthest; zod's own message for unions is too vague
      const best = (issue.errors as z.core.$ZodIssue[][]).reduce((a, b) => (b.length < a.length ? b : a));
      out.push(...best.map((b) => ({ path: [...path, ...(b.path as Path)], message: b.message })));
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** Validate a sub-tree with a schema: data, or issues with full paths. */
export function check<T>(schema: z.ZodType<T>, value: unknown, base: Path = []): { data?: T; issues: Issue[] } {
  const r = schema.safeParse(value);
  return r.success ? { data: r.data, issues: [] } : { issues: zodIssues(r.error, base) };
}
