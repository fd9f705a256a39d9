/**
 * Pure parsers of HAProxy 2.6 runtime API replies, and the rule deciding whether a reply is an
 * error (the API has no status codes: errors are sentences such as "No such server.").
 */

/** One row of `show servers state`. Fields are located by the reply's own `#` header, so a
 * version that adds columns still parses. */
export interface ServerStateRow {
  backend: string;
  backendId: number;
  name: string;
  id: number;
  addr: string;
  port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping */
  opState: number;
  /** bit field, see ADMIN */
  adminState: number;
  /** current (user) weight and the weight from the config */
  uweight: number;
  iweight: number;
  /** the line as HAProxy printed it (written back into the server-state file) */
  raw: string;
}

/** srv_admin_state bits (HAProxy's SRV_ADMF_*). A server `disabled` in the config shows CMAINT
 * (0x04) alone once it is set ready again: only FMAINT (0x01) means "in maintenance now" for a
 * server we drive. */
export const ADMIN = { FMAINT: 0x01, IMAINT: 0x02, CMAINT: 0x04, FDRAIN: 0x08, IDRAIN: 0x10, RMAINT: 0x20, HMAINT: 0x40 } as const;

export type AdminMode = 'up' | 'drain' | 'maint';

/** The admin mode Lighthouse sets (`set server ... state ready|drain|maint`). */
export function adminMode(adminState: number): AdminMode {
  if (adminState & ADMIN.FMAINT) return 'maint';
  if (adminState & ADMIN.FDRAIN) return 'drain';
  return 'up';
}

const STATE_HEADER = ['be_id', 'be_name', 'srv_id', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight'];

export interface ServersState {
  /** first line of the reply (the file format version, "1") */
  version: string;
  /** the `#` header line as printed */
  header: string;
  rows: ServerStateRow[];
}

export function parseServersState(text: string): ServersState {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let version = '1';
  let header = `# ${STATE_HEADER.join(' ')}`;
  let cols = new Map(STATE_HEADER.map((n, i) => [n, i]));
  let portCol = 18;
  const rows: ServerStateRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) {
      header = line;
      const names = line.replace(/^#\s*/, '').split(/\s+/);
      cols = new Map(names.map((n, i) => [n, i]));
      portCol = cols.get('srv_port') ?? portCol;
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (f.length === 1 && rows.length === 0) {
      version = f[0];
      continue;
    }
    const at = (name: string) => f[cols.get(name) ?? -1] ?? '';
    rows.push({
      backendId: Number(at('be_id')),
      backend: at('be_name'),
      id: Number(at('srv_id')),
      name: at('srv_name'),
      addr: at('srv_addr'),
      port: Number(f[portCol] ?? 0),
      opState: Number(at('srv_op_state')),
      adminState: Number(at('srv_admin_state')),
      uweight: Number(at('srv_uweight')),
      iweight: Number(at('srv_iweight')),
      raw: line,
    });
  }
  return { version, header, rows };
}

/** The server-state file HAProxy reads at start (`load-server-state-from-file global`). */
export function formatServersState(state: ServersState, rows: ServerStateRow[]): string {
  return [state.version, state.header, ...rows.map((r) => r.raw)].join('\n') + '\n';
}

/** `show info`: `Name: value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** `show stat`: CSV whose first line is the `# pxname,svname,...` header. */
export function parseStat(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines.shift();
  if (!head?.startsWith('#')) return [];
  const names = head.replace(/^#\s*/, '').split(',');
  return lines.map((l) => {
    const f = l.split(',');
    const row: Record<string, string> = {};
    names.forEach((n, i) => n && (row[n] = f[i] ?? ''));
    return row;
  });
}

const SHOW_ERROR = /^(Unknown command|Permission denied|No such|Can't find|Require |Invalid |Missing )/;

/**
 * The error sentence in `reply` to `command`, or null when it succeeded. The mutating commands
 * Lighthouse sends answer nothing on success, except `set server ... addr`, which reports the
 * change; `show` commands answer data and fail with a leading sentence.
 */
export function replyError(command: string, reply: string): string | null {
  const text = reply.trim();
  if (/^show\s/.test(command) || command === 'help') return SHOW_ERROR.test(text) ? firstLine(text) : null;
  if (/^set server \S+ addr /.test(command)) return /changed from|no need to change/i.test(text) ? null : firstLine(text) || 'empty reply';
  return text === '' ? null : firstLine(text);
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
