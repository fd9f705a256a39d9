/**
 * lighthousectl's actions client (OpenFlight's `flight action`): nodes are found in the node
 * inventory in ZooKeeper (client.yaml), actions run over each reporter's HTTP server with a
 * signed token.
 *   action NAME NODE... [-g LIST] [--cluster C] [--yes] [-- ARGS]   run on nodes
 *   action list [-g LIST | --cluster C]                              actions the nodes know
 *   nodes [--json]                                                   the inventory (estate-list)
 * Exit codes: 0 every node succeeded, 1 any failed (or none was asked), 2 usage, 78 bad
 * client.yaml.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { EXIT } from '../core/errors.js';
import type { NodeRecord } from '../core/node-record.js';
import { loadClientConfig, readToken, type ClientConfig } from '../actions/client/config.js';
import { expandHostList, resolveNames, type Resolved } from '../actions/client/targets.js';
import { lookUp } from '../actions/client/zk.js';
import { escape, runOnNodes, summarise } from '../actions/client/run.js';
import { NodeClient, refusalMessage } from '../actions/client/remote.js';
import { runCommand, usage } from './common.js';

interface TargetOptions {
  group?: string;
  cluster?: string;
}

const targetOptions = (cmd: Command) =>
  cmd.option('-g, --group <nodes>', 'nodes, comma-separated; ranges as node[01-10]').option('--cluster <name>', 'every node serving this cluster now');

/** `argv`: the command line being parsed (what follows its first `--` goes to the script). */
export function registerActionCommands(program: Command, argv: readonly string[] = process.argv): void {
  const action = targetOptions(
    program
      .command('action')
      .argument('[name]', 'the action')
      .argument('[nodes...]', 'node names or ranges (node01, node[01-10]); arguments for the script go after --')
      .description('run an action on nodes, or list them (action list)')
      .option('--yes', 'do not ask, even for actions marked confirm')
      .allowExcessArguments(),
  ).action((name: string | undefined, nodes: string[], o: TargetOptions & { yes?: boolean }) => {
    const at = argv.indexOf('--');
    // commander drops the `--` itself and appends what follows to the operands
    const pass = at < 0 ? [] : argv.slice(at + 1);
    return runCommand(() => runAction(name ?? usage('which action? (lighthousectl action list)'), nodes.slice(0, nodes.length - pass.length), pass, o));
  });
  targetOptions(action.command('list').description('the actions defined on the nodes (all by default), with summaries'))
    .option('--json', 'JSON output for scripts')
    .action((o: TargetOptions & { json?: boolean }) => runCommand(() => listActions(o)));
  program
    .command('nodes')
    .description('the node inventory: names, ranks, metadata, HTTP endpoints')
    .option('--json', 'JSON output for scripts')
    .action((o: { json?: boolean }) => runCommand(() => listNodes(o)));
}

/** The nodes named, ranged, or serving --cluster; with none of these and `all`, every node. */
async function targets(c: ClientConfig, names: string[], o: TargetOptions, all: boolean): Promise<Resolved> {
  const wanted = [...names, ...(o.group ? [o.group] : [])].flatMap(expandHostList);
  if (!wanted.length && o.cluster === undefined && !all) usage('which nodes? name them, or -g node01,node02, or --cluster NAME');
  const found = await lookUp(c, o.cluster);
  for (const p of found.problems) process.stderr.write(`warning: ${escape(p)}\n`);
  if (!wanted.length && o.cluster === undefined) return { nodes: found.inventory, missing: [] };
  return resolveNames([...new Set([...wanted, ...(found.clusterHosts ?? [])])], found.inventory);
}

async function runAction(action: string, names: string[], args: string[], o: TargetOptions & { yes?: boolean }): Promise<number> {
  const c = await loadClientConfig();
  const token = await readToken(c);
  const t = await targets(c, names, o, false);
  if (!t.nodes.length && !t.missing.length) {
    process.stderr.write(`${action}: no node to run on${o.cluster ? ` (cluster ${o.cluster} has no members)` : ''}\n`);
    return EXIT.RUNTIME;
  }
  const stop = new AbortController();
  const onInt = () => stop.abort();
  process.once('SIGINT', onInt);
  try {
    const { outcomes, declined } = await runOnNodes(
      { action, args, nodes: t.nodes, missing: t.missing, token, config: c, yes: !!o.yes, confirm: ask, signal: stop.signal },
      { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
    );
    if (declined) {
      process.stderr.write(`${action}: not run\n`);
      return EXIT.RUNTIME;
    }
    const s = summarise(action, outcomes);
    process.stderr.write(`${s.line}\n`);
    return s.ok ? EXIT.OK : EXIT.RUNTIME;
  } finally {
    process.off('SIGINT', onInt);
  }
}

/** Ask on the terminal; without one, the question cannot be answered: --yes is needed. */
async function ask(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) usage(`${question}\nthis action asks for confirmation and stdin is not a terminal: add --yes`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

interface Listed {
  name: string;
  summary: string;
  confirm: boolean;
  in_scope: boolean;
  nodes: string[];
  problems: string[];
}

async function listActions(o: TargetOptions & { json?: boolean }): Promise<number> {
  const c = await loadClientConfig();
  const token = await readToken(c);
  const t = await targets(c, [], o, true);
  const merged = new Map<string, Listed>();
  const failed: string[] = t.missing.map((m) => `${m.name}: ${m.why}`);
  await Promise.all(
    t.nodes.map(async (n) => {
      const client = await NodeClient.open(n, token, c);
      try {
        const a = await client.get('/actions');
        if (a.status !== 200) return void failed.push(`${n.name}: ${refusalMessage(a)}`);
        for (const x of ((a.body as { actions?: unknown[] }).actions ?? []) as Record<string, unknown>[]) {
          if (typeof x.name !== 'string') continue;
          const e = merged.get(x.name) ?? { name: x.name, summary: String(x.summary ?? ''), confirm: x.confirm === true, in_scope: x.in_scope === true, nodes: [], problems: [] };
          e.nodes.push(n.name);
          if (typeof x.problem === 'string') e.problems.push(x.problem);
          merged.set(x.name, e);
        }
      } catch (err) {
        failed.push(`${n.name}: ${(err as Error).message}`);
      } finally {
        await client.close();
      }
    }),
  );
  const list = [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((e) => ({ ...e, nodes: e.nodes.sort() }));
  if (o.json) process.stdout.write(`${JSON.stringify({ actions: list, failed }, null, 2)}\n`);
  else {
    const width = Math.max(0, ...list.map((e) => e.name.length));
    for (const e of list) {
      const flags = [e.confirm && 'asks to confirm', !e.in_scope && 'not in your token', e.nodes.length < t.nodes.length && `on ${e.nodes.length} of ${t.nodes.length} nodes`].filter(Boolean);
      process.stdout.write(`${escape(e.name.padEnd(width))}  ${escape(e.summary)}${flags.length ? `  (${flags.join('; ')})` : ''}\n`);
      for (const p of e.problems) process.stdout.write(`${' '.repeat(width)}  ! ${escape(p)}\n`);
    }
    for (const f of failed) process.stderr.write(`warning: ${escape(f)}\n`);
  }
  return failed.length ? EXIT.RUNTIME : EXIT.OK;
}

async function listNodes(o: { json?: boolean }): Promise<number> {
  const c = await loadClientConfig();
  const { inventory, problems } = await lookUp(c);
  if (o.json) process.stdout.write(`${JSON.stringify({ nodes: inventory, problems }, null, 2)}\n`);
  else {
    for (const n of inventory) process.stdout.write(`${nodeLine(n)}\n`);
    for (const p of problems) process.stderr.write(`warning: ${escape(p)}\n`);
  }
  return EXIT.OK;
}

function nodeLine(n: NodeRecord): string {
  const meta = Object.entries(n.metadata).map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"'\\]|^$/.test(v) ? JSON.stringify(v) : String(v)}`);
  return escape([n.name, n.ip, `ranks=${n.ranks.join(',') || '-'}`, n.endpoint?.url ?? 'no-endpoint', ...meta].join('  '));
}
