/**
 * lighthousectl's action tokens: `token init` makes the key pair, `token generate` signs a token
 * (printed on the last line), `token revoke` adds a token id to actions/revoked.yaml. Keys and
 * revocations live in CONFIG_DIR/actions/ (the private key only where tokens are made; token.pub
 * and revoked.yaml on every node, distributed like any config file).
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isSeq, parseDocument } from 'yaml';
import { EXIT } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ACTIONS_DIR } from '../config/files.js';
import { ACTION_NAME } from '../actions/definition.js';
import { revokedSchema, TOKEN_ID } from '../actions/revoked.js';
import { ALL_ACTIONS, initKeys, signToken } from '../actions/tokens.js';
import { runCommand, usage } from './common.js';

const SUBJECT = /^[A-Za-z0-9._@-]{1,64}$/;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DEFAULT_DAYS = 30;

interface GenerateOptions {
  configDir: string;
  days?: string;
  expires?: string;
  subject?: string;
  actions?: string;
  all?: boolean;
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('action tokens: make the key pair, sign tokens, revoke them');
  const dir = (cmd: Command) => cmd.option('-c, --config-dir <dir>', 'config directory (keys in DIR/actions/; env LIGHTHOUSE_CONFIG_DIR)', process.env.LIGHTHOUSE_CONFIG_DIR || '/etc/lighthouse');
  dir(token.command('init').description('make the Ed25519 key pair: DIR/actions/token.key (0600) and token.pub (copy it to every node)'))
    .option('--force', 'replace an existing pair (every token signed with the old key stops working)')
    .action((o: { configDir: string; force?: boolean }) =>
      runCommand(async () => {
        const p = await initKeys(o.configDir, o.force);
        process.stdout.write(`private key: ${p.key} (keep it here, mode 0600)\npublic key:  ${p.pub} (copy to CONFIG_DIR/actions/ on every node)\n`);
        return EXIT.OK;
      }),
    );
  dir(token.command('generate').description('sign an action token with DIR/actions/token.key; the token is the last line printed'))
    .option('--days <n>', `valid for this many days (default ${DEFAULT_DAYS})`)
    .option('--expires <duration>', 'valid for this long: 90m, 12h, 7d, 2w')
    .option('--subject <name>', "who the token is for, as the audit log names them (default: the local user)")
    .option('--actions <list>', 'the actions it may run, comma-separated')
    .option('--all', 'it may run every action')
    .action((o: GenerateOptions) => runCommand(() => generate(o)));
  dir(token.command('revoke').argument('<id>', 'the token id (printed by generate)').description('refuse a token from now on: adds its id to DIR/actions/revoked.yaml (copy it to every node)'))
    .option('--reason <text>', 'why, for people reading the file')
    .action((id: string, o: { configDir: string; reason?: string }) => runCommand(() => revoke(o.configDir, id, o.reason)));
}

async function generate(o: GenerateOptions): Promise<number> {
  if (o.days !== undefined && o.expires !== undefined) usage('give --days or --expires, not both');
  const ttl = o.expires !== undefined ? parseDuration(o.expires) : parseDays(o.days ?? String(DEFAULT_DAYS));
  if (!!o.all === (o.actions !== undefined)) usage('say what the token may run: --actions a,b or --all');
  const actions = o.all ? [ALL_ACTIONS] : o.actions!.split(',').map((a) => a.trim()).filter(Boolean);
  if (!actions.length) usage('--actions names no action');
  for (const a of actions) if (a !== ALL_ACTIONS && !ACTION_NAME.test(a)) usage(`'${a}' is not an action name`);
  const subject = o.subject ?? localUser();
  if (!SUBJECT.test(subject)) usage(`'${subject}' cannot be a subject (1-64 of letters, digits, . _ @ -)`);
  const { token, claims } = await signToken(o.configDir, { subject, ttlSeconds: ttl, actions });
  process.stdout.write(
    `token id: ${claims.jti}\nsubject:  ${claims.sub}\nactions:  ${o.all ? 'all' : actions.join(', ')}\nexpires:  ${new Date(claims.exp * 1000).toISOString()}\n${token}\n`,
  );
  return EXIT.OK;
}

async function revoke(configDir: string, id: string, reason?: string): Promise<number> {
  if (!TOKEN_ID.test(id)) usage(`'${id}' is not a token id`);
  const file = join(configDir, ACTIONS_DIR, 'revoked.yaml');
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '# action tokens refused before their expiry (lighthousectl token revoke)\nrevoked: []\n';
    throw err;
  });
  const doc = parseDocument(text);
  if (doc.errors.length) usage(`${file} does not parse (${doc.errors[0].message.split('\n')[0]}): fix it first`);
  const seq = doc.get('revoked', true);
  const known = revokedSchema.safeParse(doc.toJS() ?? {});
  if (!known.success) usage(`${file} is not a valid revoked.yaml: fix it first (lighthousectl validate names the problem)`);
  if (known.data.revoked.includes(id)) {
    process.stdout.write(`${id} is already revoked in ${file}\n`);
    return EXIT.OK;
  }
  const entry = doc.createNode({ id, ...(reason && { reason }), at: new Date().toISOString() });
  if (isSeq(seq)) {
    seq.flow = false;
    seq.add(entry);
  } else doc.set('revoked', doc.createNode([entry]));
  await writeFileAtomic(file, doc.toString());
  process.stdout.write(`revoked ${id} in ${file}: copy the file to every node (reporters re-read it as it changes)\n`);
  return EXIT.OK;
}

function parseDays(s: string): number {
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s) || n <= 0 || n > 3650) usage(`--days ${s}: expected a number of days, up to 3650`);
  return n * UNITS.d;
}

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) usage(`--expires ${s}: expected a duration such as 90m, 12h, 7d, 2w`);
  const seconds = Number(m[1]) * UNITS[m[2]];
  if (seconds > 3650 * UNITS.d) usage(`--expires ${s}: at most 3650 days`);
  return seconds;
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid${process.getuid?.() ?? ''}`;
  }
}
