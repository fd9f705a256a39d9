/**
 * An action's definition: CONFIG_DIR/actions/NAME/ holds `metadata.yaml` and the scripts,
 * `default.sh` and optional rank variants `RANK.sh` (`aws.sh`, `metal.sh`), as OpenFlight
 * Action's libexec/NAME/. metadata.yaml:
 *
 *   summary: "Restart a service"   # required, one line: what `lighthousectl action list` shows
 *   description: >                 # optional, longer text
 *     ...
 *   timeout: 60                    # seconds before the run's whole process group is killed;
 *                                  # default 60
 *   confirm: true                  # lighthousectl asks before running (or needs --yes); the
 *                                  # reporter refuses a run not marked confirmed; default false
 *   concurrency: 1                 # runs of this action at once on one node; default 1
 *
 * The config store reads metadata.yaml and lists the scripts beside it (any change in the
 * directory re-reads both): a missing default.sh is an error of the action, a script without
 * the execute bit a warning (it is listed, and never run).
 */
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** Names travel in URLs, tokens and command lines; `list` is lighthousectl's own subcommand. */
export const ACTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RESERVED_ACTION_NAMES = ['list'];
/** a rank is a script's file name without `.sh` */
const RANK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const DEFAULT_SCRIPT = 'default';
const DEFAULT_TIMEOUT_S = 60;

const oneLine = z.string().min(1).max(200).regex(/^[^\x00-\x1f\x7f]*$/, 'expected one line of printable text');

export const actionMetadataSchema = z.strictObject({
  summary: oneLine,
  description: z.string().max(10_000).optional(),
  timeout: z.number().positive().max(86_400).default(DEFAULT_TIMEOUT_S),
  confirm: z.boolean().default(false),
  concurrency: z.number().int().min(1).max(1000).default(1),
});

export interface ActionScript {
  /** `default` or the rank */
  variant: string;
  /** absolute path */
  path: string;
  executable: boolean;
}

export interface ActionDefinition {
  name: string;
  summary: string;
  description?: string;
  timeoutMs: number;
  confirm: boolean;
  concurrency: number;
  /** the action's directory (absolute): scripts run with it as their working directory */
  dir: string;
  /** by variant, in name order */
  scripts: Record<string, ActionScript>;
}

/** A problem of the action's directory; `script`: the file it is about, else metadata.yaml's. */
export interface ScriptIssue {
  script?: string;
  message: string;
}

/** What the store needs: the definition, or issues (the action is not loaded), and warnings. */
export interface LoadedAction {
  data?: ActionDefinition;
  issues: ScriptIssue[];
  warnings: ScriptIssue[];
}

/** Build the definition from validated metadata and the scripts in `dir`. */
export async function loadActionScripts(name: string, dir: string, meta: z.output<typeof actionMetadataSchema>): Promise<LoadedAction> {
  if (!ACTION_NAME.test(name) || RESERVED_ACTION_NAMES.includes(name)) {
    return { issues: [{ message: `'${name}' cannot be an action name (letters, digits, _ . -; not ${RESERVED_ACTION_NAMES.join(', ')}): rename the directory` }], warnings: [] };
  }
  const scripts: Record<string, ActionScript> = {};
  const warnings: ScriptIssue[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    return { issues: [{ message: `cannot list the action's directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }], warnings: [] };
  }
  const files = entries.filter((e) => !e.isDirectory() && e.name.endsWith('.sh')).map((e) => e.name).sort();
  for (const file of files) {
    const variant = file.slice(0, -3);
    if (!RANK_NAME.test(variant)) {
      warnings.push({ script: file, message: 'not a rank name (letters, digits, _ -): ignored' });
      continue;
    }
    const path = join(dir, file);
    const executable = await isExecutable(path);
    if (!executable) warnings.push({ script: file, message: `not executable (chmod +x ${file}): it will not run` });
    scripts[variant] = { variant, path, executable };
  }
  if (!scripts[DEFAULT_SCRIPT]) return { issues: [{ message: `no ${DEFAULT_SCRIPT}.sh beside metadata.yaml: every action needs one` }], warnings };
  const data: ActionDefinition = {
    name,
    summary: meta.summary,
    ...(meta.description !== undefined && { description: meta.description }),
    timeoutMs: Math.round(meta.timeout * 1000),
    confirm: meta.confirm,
    concurrency: meta.concurrency,
    dir,
    scripts,
  };
  return { data, issues: [], warnings };
}

/** The script for a node with `ranks`: the first rank that has a variant, else default.sh. */
export function scriptFor(action: ActionDefinition, ranks: readonly string[]): ActionScript {
  for (const rank of ranks) {
    const s = action.scripts[rank];
    if (s && rank !== DEFAULT_SCRIPT) return s;
  }
  return action.scripts[DEFAULT_SCRIPT];
}

/** Executable by this process, checked again just before a run (the mode may change at any time). */
export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
