/**
 * lighthousectl's availability commands (Plight's, against lighthouse-reporter's HTTP server):
 * enable, disable, offline, set-state NAME, clear --service NAME, status, list-states,
 * wait-drained. Local by default, over the socket named in CONFIG_DIR/http.yaml (its file
 * permissions are the auth); remote with --url and --token-file. Exit codes: 0 ok, 1 failed or
 * timed out, 2 usage (an unknown state or service), 78 bad http.yaml.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigStore } from '../config/store.js';
import { builtinRegistry } from '../plugins.js';
import { ConfigError, EXIT, LighthouseError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { call, type Answer, type Target } from '../http/client.js';
import { httpSettings } from '../http/schema.js';
import { usage } from './common.js';
import { printState, printStates, type StateAnswer } from './ctl-availability-output.js';

interface Options {
  configDir: string;
  url?: string;
  tokenFile?: string;
  json?: boolean;
  reason?: string;
  service?: string;
  timeout?: string;
  interval?: string;
}

const SHORTCUTS: [command: string, state: string, what: string][] = [
  ['enable', 'enabled', 'put the node (or --service) back in rotation'],
  ['disable', 'disabled', 'drain the node (or --service): no new sessions, existing ones finish'],
  ['offline', 'offline', 'take the node (or --service) out of every load balancer'],
];

export function registerAvailabilityCommands(program: Command): void {
  const common = (cmd: Command) =>
    cmd
      .option('-c, --config-dir <dir>', 'config directory whose http.yaml names the local socket (env LIGHTHOUSE_CONFIG_DIR)', process.env.LIGHTHOUSE_CONFIG_DIR || '/etc/lighthouse')
      .option('--url <url>', 'a remote reporter, e.g. http://node1:10101, instead of the local socket')
      .option('--token-file <file>', 'bearer token for --url (a file holding TOKEN or SUBJECT TOKEN)')
      .option('--json', 'JSON output for scripts');
  for (const [name, state, what] of SHORTCUTS) {
    common(program.command(name).description(what))
      .option('--reason <text>', 'why (recorded with who and when)')
      .option('--service <name>', 'one service instead of the whole node (a service state wins over the node state)')
      .action((o: Options) => run(() => change(state, o)));
  }
  common(program.command('set-state').argument('<state>', 'any configured state (list-states)').description('put the node (or --service) in a configured state'))
    .option('--reason <text>', 'why (recorded with who and when)')
    .option('--service <name>', 'one service instead of the whole node')
    .action((state: string, o: Options) => run(() => change(state, o)));
  common(program.command('clear').description("drop a service's own state: it follows the node state again"))
    .requiredOption('--service <name>', 'the service')
    .action((o: Options) => run(() => change(null, o)));
  common(program.command('status').description('the node state, services with a state of their own, every instance as published'))
    .action((o: Options) => run(() => status(o)));
  common(program.command('list-states').description('the configured states: code, effect, message'))
    .action((o: Options) => run(() => listStates(o)));
  common(program.command('wait-drained').description('wait until no connection is open on the node\'s (or --service\'s) ports'))
    .option('--service <name>', "only this service's ports")
    .option('--timeout <seconds>', 'give up after this long (exit 1)', '300')
    .option('--interval <seconds>', 'how often to count', '1')
    .action((o: Options) => run(() => waitDrained(o)));
}

/** Run a command; its result is the exit code. Known failures print their message only. */
function run(fn: () => Promise<number>): Promise<void> {
  return fn().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof ConfigError || (err instanceof LighthouseError && err.code === 'LH_ERR_USAGE')) throw err; // runMain: 78 / 2
      if (!(err instanceof LighthouseError)) throw err;
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT.RUNTIME);
    },
  );
}

/** The reporter to talk to: --url, else the socket of CONFIG_DIR/http.yaml. */
async function target(o: Options): Promise<Target> {
  if (o.url) {
    if (!/^https?:\/\/[^/]+\/?$/.test(o.url)) usage(`--url: expected http://HOST:PORT, got '${o.url}'`);
    return { url: o.url, ...(o.tokenFile && { token: await readToken(o.tokenFile) }) };
  }
  if (o.tokenFile) usage('--token-file goes with --url (the local socket needs no token)');
  const store = new ConfigStore({ dir: o.configDir, registry: builtinRegistry(), logger: silentLogger() });
  const { config: cfg, problems } = await store.load();
  const bad = problems.filter((p) => /^http\.ya?ml$/.test(p.file));
  if (bad.length) throw new ConfigError(bad);
  const socket = httpSettings(cfg.http, 'reporter', store.dir).socket;
  if (!socket) usage(`${o.configDir}/http.yaml has no socket (socket: false): use --url`);
  return { socket };
}

/** A token file as the reporter reads it: the first entry, TOKEN or SUBJECT TOKEN. */
async function readToken(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: Error) => usage(`--token-file ${file}: ${err.message}`));
  const line = text.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
  if (!line) usage(`--token-file ${file}: no token in it`);
  return line.split(/\s+/).at(-1)!;
}

/** 2xx: 0; a request the reporter calls wrong (unknown state, service): 2; else 1 */
function failed(a: Answer, json: boolean | undefined): number {
  const body = a.body as { error?: string } | string;
  if (json) process.stdout.write(`${JSON.stringify(a.body)}\n`);
  process.stderr.write(`failed (HTTP ${a.status}): ${typeof body === 'string' ? body.trim() : body.error ?? JSON.stringify(body)}\n`);
  return a.status === 400 ? EXIT.USAGE : EXIT.RUNTIME;
}

async function change(state: string | null, o: Options): Promise<number> {
  const t = await target(o);
  const a = await call(t, 'PUT', '/state', { state, ...(o.reason !== undefined && { reason: o.reason }), ...(o.service !== undefined && { service: o.service }) });
  if (a.status !== 200) return failed(a, o.json);
  const body = a.body as StateAnswer & { changed: boolean; published: boolean };
  if (o.json) process.stdout.write(`${JSON.stringify(body)}\n`);
  else printState(body, o.service);
  if (!body.published) process.stderr.write('warning: the state is saved, but discovery has not taken it yet (ZooKeeper unreachable?); the reporter keeps trying\n');
  return EXIT.OK;
}

async function status(o: Options): Promise<number> {
  const a = await call(await target(o), 'GET', '/state');
  if (a.status !== 200) return failed(a, o.json);
  if (o.json) process.stdout.write(`${JSON.stringify(a.body)}\n`);
  else printState(a.body as StateAnswer);
  return EXIT.OK;
}

async function listStates(o: Options): Promise<number> {
  const a = await call(await target(o), 'GET', '/state');
  if (a.status !== 200) return failed(a, o.json);
  const body = a.body as StateAnswer;
  if (o.json) process.stdout.write(`${JSON.stringify(body.states)}\n`);
  else printStates(body);
  return EXIT.OK;
}

interface DrainAnswer {
  state: string;
  effect: string;
  ports: number[];
  connections: number;
  open?: { local: string; remote: string }[];
}

async function waitDrained(o: Options): Promise<number> {
  const timeout = seconds(o.timeout!, '--timeout');
  const interval = seconds(o.interval!, '--interval');
  const t = await target(o);
  const path = `/drain${o.service ? `?service=${encodeURIComponent(o.service)}` : ''}`;
  const what = o.service ? `service ${o.service}` : 'the node';
  const deadline = Date.now() + timeout * 1000;
  let last = -1;
  for (;;) {
    const a = await call(t, 'GET', path);
    if (a.status !== 200) return failed(a, o.json);
    const d = a.body as DrainAnswer;
    const ports = d.ports.join(', ') || 'none';
    if (last === -1 && d.effect === 'up' && !o.json) process.stderr.write(`note: ${what} is ${d.state} (effect up): new connections keep coming; disable it first\n`);
    if (d.connections === 0) {
      if (o.json) process.stdout.write(`${JSON.stringify({ drained: true, ...d })}\n`);
      else process.stdout.write(`drained: no connection open on port(s) ${ports}\n`);
      return EXIT.OK;
    }
    if (d.connections !== last && !o.json) process.stdout.write(`${d.connections} connection(s) open on port(s) ${ports}\n`);
    last = d.connections;
    if (Date.now() >= deadline) {
      if (o.json) process.stdout.write(`${JSON.stringify({ drained: false, ...d })}\n`);
      else {
        process.stdout.write(`timed out after ${timeout} s: ${d.connections} connection(s) still open on port(s) ${ports}${d.open ? ':' : ''}\n`);
        for (const c of d.open ?? []) process.stdout.write(`  ${c.local} <- ${c.remote}\n`);
      }
      return EXIT.RUNTIME;
    }
    await new Promise((r) => setTimeout(r, Math.min(interval * 1000, Math.max(0, deadline - Date.now()))));
  }
}

function seconds(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) usage(`${flag}: expected a number of seconds, got '${v}'`);
  return n;
}
