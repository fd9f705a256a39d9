/**
 * Secret references in config values: any string may be, or contain, `${env:NAME}` (an
 * environment variable of the daemon) or `${file:/path}` (a file's content, see
 * secret-file.ts). They are resolved where YAML values are read, before validation, so every
 * schema sees plain strings. `$${` writes a literal `${`. HAProxy's own `${NAME}` (no
 * `env:`/`file:` prefix) is left alone.
 *
 * A reference that cannot be resolved is a config problem at the line and column of the
 * value that holds it, naming the variable or the path, never a secret. Every resolved value
 * is added to the daemon's Secrets, so it is masked in logs and errors.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { ConfigProblem } from '../core/errors.js';
import type { Secrets } from '../core/redact.js';
import { readSecretFile } from './secret-file.js';

export interface RefContext {
  env: NodeJS.ProcessEnv;
  secrets?: Secrets;
}

const REF = /\$(\$?)\{(env|file):([^}]*)\}/g;

/** Resolve every reference in `doc` in place; returns the problems (empty when all resolved). */
export function resolveRefs(doc: Document.Parsed, lines: LineCounter, file: string, ctx: RefContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const at = node.range ? lines.linePos(node.range[0]) : undefined;
      const fail = (message: string) => problems.push({ file, ...(at ? { line: at.line, col: at.col } : {}), path, message });
      node.value = node.value.replace(REF, (whole, escaped: string, kind: string, name: string) => {
        if (escaped) return whole.slice(1);
        try {
          const value = kind === 'env' ? envValue(ctx.env, name) : fileValue(name);
          ctx.secrets?.add(value);
          return value;
        } catch (err) {
          fail(`\${${kind}:${name}}: ${(err as Error).message}`);
          return '';
        }
      });
    }
  };
  visit(doc.contents, []);
  return problems;
}

function fileValue(path: string): string {
  try {
    return readSecretFile(path);
  } catch (err) {
    throw new Error(`cannot read ${(err as Error).message}`);
  }
}

function envValue(env: NodeJS.ProcessEnv, name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error('not a valid environment variable name');
  const v = env[name];
  if (v === undefined) throw new Error(`environment variable ${name} is not set`);
  return v;
}
