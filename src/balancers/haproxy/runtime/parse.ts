/**
 * Pure parsers of HAProxy 2.6 runtime API replies, and the rule deciding whether a reply is an
 * error (the API has no status codes: errors are sentences such as "No such server.").
 */
import type { RunningServer } from '../config/recover.js';

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

/** A row as recover.ts reads it back into a node. */
export function runningServer(r: ServerStateRow): RunningServer {
  return { backend: r.backend, name: r.name, addr: r.addr, port: r.port, uweight: r.uweight, iweight: r.iweight, mode: adminMode(r.adminState) };
}

const STATE_HEADER = ['be_id', 'be_name', 'srv_id', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight'];

export interface ServersState {
  /** first line of the reply (the file format version, "1") */
  version: string;
  /** the `#` header line as printed */
  header: string;
  rows: ServerStateRow[];
}

/** `raw: false`: rows without their line (`raw` = ''), for views that never write them back */
export function parseServersState(text: string, opts: { raw?: boolean } = {}): ServersState {
  const rows: ServerStateRow[] = [];
  // One string per distinct value: a backend's name is in each of its rows, and a slot's name
  // and 0.0.0.0 in every backend (25,000 slots at 1,000 backends: ~1.5 MB as strings of their
  // own). Rows kept without their line get copies too: V8 makes substrings of 13+ characters
  // views into the whole reply (6 MB at 75,000 rows), which a copy lets go (names are ASCII).
  const copy = opts.raw === false;
  const seen = new Map<string, string>();
  const intern = (x: string): string => {
    let v = seen.get(x);
    if (v === undefined) seen.set((v = copy && x.length >= 13 ? Buffer.from(x, 'latin1').toString('latin1') : x), v);
    return v;
  };
  const keep = copy ? intern : (x: string) => x;
  const { version, header } = scanServersState(text, (r) => {
    rows.push({
      backendId: r.num('be_id'),
      backend: intern(r.str('be_name')),
      id: r.num('srv_id'),
      name: keep(r.str('srv_name')),
      addr: keep(r.str('srv_addr')),
      port: r.num('srv_port'),
      opState: r.num('srv_op_state'),
      adminState: r.num('srv_admin_state'),
      uweight: r.num('srv_uweight'),
      iweight: r.num('srv_iweight'),
      raw: copy ? '' : r.line,
    });
  });
  return { version, header, rows };
}

/** `show servers state` text -> a server-state file of the rows `keep` accepts, without making
 * row objects (75,000 of them before a reload at 1,000 backends). */
export function filterServersState(text: string, keep: (backend: string, name: string, addr: string, port: number) => boolean): { text: string; kept: number } {
  const lines: string[] = [];
  const { version, header } = scanServersState(text, (r) => {
    if (keep(r.str('be_name'), r.str('srv_name'), r.str('srv_addr'), r.num('srv_port'))) lines.push(r.line);
  });
  return { text: [version, header, ...lines].join('\n') + '\n', kept: lines.length };
}

type Col = 'be_id' | 'be_name' | 'srv_id' | 'srv_name' | 'srv_addr' | 'srv_op_state' | 'srv_admin_state' | 'srv_uweight' | 'srv_iweight' | 'srv_port';

/** One row while scanning: fields are located by offsets (no split into 25 strings per line);
 * only the ones read become strings. */
class Row {
  line = '';
  n = 0;
  readonly at = new Int32Array(2 * 64);
  col: Record<Col, number> = columns(STATE_HEADER);

  str(c: Col): string {
    const i = this.col[c];
    return i < this.n ? this.line.slice(this.at[2 * i], this.at[2 * i + 1]) : '';
  }

  /** Number(str(c)) without making the string, for plain digits; 0 when missing */
  num(c: Col): number {
    const i = this.col[c];
    if (i >= this.n) return 0;
    const a = this.at[2 * i];
    const b = this.at[2 * i + 1];
    let v = 0;
    for (let k = a; k < b; k++) {
      const d = this.line.charCodeAt(k) - 48;
      if (d < 0 || d > 9 || b - a > 15) return Number(this.line.slice(a, b));
      v = v * 10 + d;
    }
    return v;
  }
}

function scanServersState(text: string, onRow: (r: Row) => void): { version: string; header: string } {
  let version = '1';
  let header = `# ${STATE_HEADER.join(' ')}`;
  let rows = 0;
  const r = new Row();
  for (let pos = 0; pos < text.length; ) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    r.line = text.slice(pos, nl);
    pos = nl + 1;
    if (r.line.startsWith('#')) {
      header = r.line;
      r.col = columns(r.line.replace(/^#\s*/, '').split(/\s+/));
      continue;
    }
    r.n = fields(r.line, r.at);
    if (r.n === 0) continue;
    if (r.n === 1 && rows === 0) {
      version = r.line.trim();
      continue;
    }
    rows++;
    onRow(r);
  }
  return { version, header };
}

/** column of each field we read; srv_port is the 19th field when the header does not say */
function columns(names: string[]): Record<Col, number> {
  const i = (n: string, dflt = 999) => (names.indexOf(n) >= 0 ? names.indexOf(n) : dflt);
  return { be_id: i('be_id'), be_name: i('be_name'), srv_id: i('srv_id'), srv_name: i('srv_name'), srv_addr: i('srv_addr'), srv_op_state: i('srv_op_state'), srv_admin_state: i('srv_admin_state'), srv_uweight: i('srv_uweight'), srv_iweight: i('srv_iweight'), srv_port: i('srv_port', 18) };
}

/** Start/end offsets of the whitespace-separated fields of `line` (at most at.length / 2). */
function fields(line: string, at: Int32Array): number {
  let n = 0;
  for (let i = 0; i < line.length && n < at.length / 2; ) {
    while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9 || line.charCodeAt(i) === 13)) i++;
    if (i >= line.length) break;
    at[2 * n] = i;
    while (i < line.length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9 && line.charCodeAt(i) !== 13) i++;
    at[2 * n + 1] = i;
    n++;
  }
  return n;
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

/** One field of `show info` without parsing the rest (the hot path needs Pid and Stopping). */
export function infoField(text: string, name: string): string | undefined {
  const key = `${name}:`;
  const at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`) + 1;
  if (at === 0 && !text.startsWith(key)) return undefined;
  const end = text.indexOf('\n', at);
  return text.slice(at + key.length, end < 0 ? undefined : end).trim();
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
 * change, and `add server` ("New server registered."); `show` commands answer data and fail
 * with a leading sentence.
 */
export function replyError(command: string, reply: string): string | null {
  const text = reply.trim();
  if (/^show\s/.test(command) || command === 'help') return SHOW_ERROR.test(text) ? firstLine(text) : null;
  if (command.startsWith('add server ')) return /New server registered/i.test(text) ? null : firstLine(text) || 'empty reply';
  if (/^set server \S+ addr /.test(command)) return /changed from|no need to change/i.test(text) ? null : firstLine(text) || 'empty reply';
  return text === '' ? null : firstLine(text);
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
