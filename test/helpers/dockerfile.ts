/**
 * A small Dockerfile reader for tests that check what an image references without building it
 * (no Docker engine on our machines): instructions with their line, flags (`--from=build`) and
 * arguments (exec form `["a", "b"]` or shell form split on blanks), grouped by stage, plus the
 * context's .dockerignore. Enough for the instructions our Dockerfiles use; not a full parser.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface Instruction {
  line: number;
  op: string;
  flags: Record<string, string>;
  /** the arguments: JSON array items (exec form) or blank-separated words (shell form); of a
   * HEALTHCHECK, its command's */
  args: string[];
  /** exec form (a JSON array) */
  exec: boolean;
  /** the text after the op and its flags, continuation lines joined */
  raw: string;
  /** the stage's WORKDIR when this instruction runs */
  workdir: string;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      // comment lines inside a continued instruction are dropped, as Docker does
      do i++;
      while (i < lines.length && /^\s*#/.test(lines[i]));
      line += lines[i] ?? '';
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: not an instruction: ${line}`);
    const op = m[1].toUpperCase();
    let rest = m[2].trim();
    const flags: Record<string, string> = {};
    for (let f = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); f; f = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
      flags[f[1]] = f[2] ?? '';
      rest = rest.slice(f[0].length);
    }
    // HEALTHCHECK [flags] CMD <exec or shell form>: the command after CMD is its arguments
    const cmd = op === 'HEALTHCHECK' ? /^CMD\s+/i.exec(rest) : null;
    const body = cmd ? rest.slice(cmd[0].length) : rest;
    const exec = body.startsWith('[');
    const args = exec ? (JSON.parse(body) as string[]) : body.split(/\s+/).filter(Boolean);
    if (op === 'FROM') {
      stages.push({ from: args[0], name: args[1]?.toUpperCase() === 'AS' ? args[2] : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start}: ${op} before FROM`);
    const prev = stage.instructions.at(-1);
    const workdir = prev ? (prev.op === 'WORKDIR' ? posix.resolve(prev.workdir, prev.args[0]) : prev.workdir) : '/';
    stage.instructions.push({ line: start, op, flags, args, exec, raw: rest, workdir });
  }
  return stages;
}

/** COPY/ADD: sources and the absolute destination (a relative one is against WORKDIR). */
export function copyOf(ins: Instruction): { sources: string[]; dest: string } {
  const dest = ins.args.at(-1)!;
  return { sources: ins.args.slice(0, -1), dest: posix.resolve(ins.workdir, dest) };
}

/** The patterns of CONTEXT/.dockerignore (plain names and paths: all ours use). */
export function dockerignore(context: string): string[] {
  try {
    return readFileSync(join(context, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim().replace(/^\/|\/$/g, '')).filter((l) => l && !l.startsWith('#'));
  } catch {
    return [];
  }
}

/** Whether a context path is left out of the build context by one of `patterns`. */
export function ignored(path: string, patterns: string[]): boolean {
  const p = posix.normalize(path).replace(/^\.\/|\/$/g, '');
  return patterns.some((pat) => p === pat || p.startsWith(`${pat}/`));
}
