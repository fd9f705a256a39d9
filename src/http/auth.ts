/**
 * Who is calling. The one auth layer of the daemons' HTTP server:
 *  - the local Unix socket: its file mode and owner decide who may connect, so a caller there
 *    is trusted; the user name lighthousectl sends (`X-Lighthouse-User`) is recorded as
 *    "local:USER" and is not a credential;
 *  - TCP: `Authorization: Bearer TOKEN`, compared in constant time with each token of
 *    `token_file` (one per line, `TOKEN` or `SUBJECT TOKEN`; `#` comments), recorded as
 *    "token:SUBJECT". The file is read at each authenticated request, so a rotated token applies
 *    at once. A wrong token is refused whatever the route.
 *  - TCP, users of users.yaml: `Authorization: Basic` (name and password) or a bearer token of
 *    a user's `tokens:`, recorded as "user:NAME" with the user's roles (they may read, not
 *    change). A wrong one answers 401 after one scrypt whether the user exists or not, with the
 *    same message; too many failures from one address answer 429 for a while (login-limit.ts).
 *  - routes with `action` access, on either listener: `Authorization: Bearer JWT`, a signed
 *    action token verified by the action service (signature, expiry, revocation), recorded as
 *    "action-token:SUBJECT" with its claims; the socket alone is not enough to run an action.
 * Token values and passwords never reach a log or an answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Access, Caller } from './router.js';
import type { Verdict } from '../actions/tokens.js';
import type { Clock } from '../core/clock.js';
import type { Users } from './users.js';
import { LoginLimit } from './login-limit.js';

/** a token shorter than this is refused (and said so in the log): it could be guessed */
export const MIN_TOKEN_LENGTH = 16;
const SUBJECT = /^[A-Za-z0-9._@-]{1,64}$/;
const TOKEN = /^[\x21-\x7e]+$/;

export type AuthResult = { ok: true; caller: Caller } | { ok: false; status: 401 | 403 | 429 | 503; message: string };

const WRONG_LOGIN = 'invalid user name or password';

/** Verifies signed action tokens (the action service); without one, action routes refuse. */
export type ActionTokenVerifier = (token: string) => Promise<Verdict>;

export class Authenticator {
  private tokenFile?: string;
  private lastProblem = '';
  private actionTokens?: ActionTokenVerifier;
  private users?: Users;
  private readonly limit: LoginLimit;

  constructor(
    private readonly log: Logger,
    clock: Clock,
  ) {
    this.limit = new LoginLimit(clock);
  }

  setUsers(users: Users | undefined): void {
    this.users = users;
  }

  /** whether users.yaml is in force: without it nobody reads the status over TCP */
  get hasUsers(): boolean {
    return this.users !== undefined;
  }

  setTokenFile(file: string | undefined): void {
    this.tokenFile = file;
  }

  setActionTokenVerifier(verify: ActionTokenVerifier | undefined): void {
    this.actionTokens = verify;
  }

  /** Who the caller is; a request that presents a bad credential is refused here. */
  async identify(req: IncomingMessage, via: Caller['via'], access: Access = 'public'): Promise<AuthResult> {
    if (access === 'action') return this.identifyAction(req, via);
    if (via === 'socket') {
      const user = String(req.headers['x-lighthouse-user'] ?? '');
      return { ok: true, caller: { via, subject: `local:${SUBJECT.test(user) ? user : 'unknown'}` } };
    }
    const header = req.headers.authorization;
    if (header === undefined) return { ok: true, caller: { via, subject: null } };
    const from = req.socket.remoteAddress ?? 'unknown';
    if (this.limit.limited(from)) return { ok: false, status: 429, message: 'too many failed logins from this address: try again later' };
    const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header);
    const r = basic ? await this.basic(basic[1], via) : await this.bearer(header, via);
    if (!r.ok && r.status === 401) this.limit.failed(from);
    return r;
  }

  private async basic(encoded: string, via: Caller['via']): Promise<AuthResult> {
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (!this.users || colon < 0) return { ok: false, status: 401, message: WRONG_LOGIN };
    const user = await this.users.password(text.slice(0, colon), text.slice(colon + 1));
    if (!user) return { ok: false, status: 401, message: WRONG_LOGIN };
    return { ok: true, caller: { via, subject: `user:${user.name}`, roles: user.roles } };
  }

  private async bearer(header: string, via: Caller['via']): Promise<AuthResult> {
    const m = /^Bearer +(\S+)$/i.exec(header);
    if (!m || !TOKEN.test(m[1])) return { ok: false, status: 401, message: 'expected "Authorization: Bearer TOKEN" or "Authorization: Basic ..."' };
    const tokens = await this.tokens();
    const userTokens = this.users?.hasTokens() ?? false;
    if (!tokens.length && !userTokens) return { ok: false, status: 403, message: 'changes over TCP are disabled on this node (no usable token_file in http.yaml)' };
    const given = digest(m[1]);
    let subject: string | null = null;
    // every token is compared, so the time taken does not tell which one (or whether any) matched
    for (const t of tokens) if (timingSafeEqual(given, t.digest) && subject === null) subject = t.subject;
    if (subject !== null) return { ok: true, caller: { via, subject: `token:${subject}` } };
    const user = userTokens ? await this.users!.token(m[1]) : null;
    if (!user) return { ok: false, status: 401, message: 'invalid token' };
    return { ok: true, caller: { via, subject: `user:${user.name}`, roles: user.roles } };
  }

  private async identifyAction(req: IncomingMessage, via: Caller['via']): Promise<AuthResult> {
    const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return { ok: false, status: 401, message: 'actions need a signed action token: "Authorization: Bearer TOKEN" (lighthousectl token generate)' };
    if (!this.actionTokens) return { ok: false, status: 503, message: 'actions are not served by this daemon' };
    const v = await this.actionTokens(m[1]);
    if (!v.ok) {
      this.log.warn({ via, status: v.status }, `action token refused: ${v.message}`);
      return v;
    }
    return { ok: true, caller: { via, subject: `action-token:${v.claims.sub}`, claims: v.claims } };
  }

  private async tokens(): Promise<{ subject: string; digest: Buffer }[]> {
    if (!this.tokenFile) return [];
    let text: string;
    try {
      text = await readFile(this.tokenFile, 'utf8');
    } catch (err) {
      this.problem(`token_file ${this.tokenFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): no changes over TCP`);
      return [];
    }
    const out: { subject: string; digest: Buffer }[] = [];
    const bad: number[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const f = line.split(/\s+/);
      const [subject, token] = f.length === 1 ? ['token', f[0]] : [f[0], f[1]];
      if (f.length > 2 || !SUBJECT.test(subject) || !TOKEN.test(token) || token.length < MIN_TOKEN_LENGTH) bad.push(i + 1);
      else out.push({ subject, digest: digest(token) });
    });
    if (bad.length) this.problem(`token_file ${this.tokenFile}: line(s) ${bad.join(', ')} ignored (expected "TOKEN" or "SUBJECT TOKEN", a token of at least ${MIN_TOKEN_LENGTH} printable characters)`);
    else this.lastProblem = '';
    return out;
  }

  /** log a token file problem once, not at every request */
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.log.error(message);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
