/**
 * CONFIG_DIR/users.yaml: who may read the status API and the dashboard, Platus's shape with
 * hashes only:
 *
 *   alice:
 *     role: [admin]                 # required; admin sees everything
 *     password_hash: "scrypt$16384$8$1$SALT$HASH"   # from `lighthousectl hash-password`
 *     tokens: ["scrypt$..."]        # optional bearer tokens, hashed the same way
 *   bob:
 *     role: [dev]                   # sees services and clusters with `roles: [dev]`
 *     password_hash: "scrypt$..."
 *
 * A plain `password:` is a config error: a config file is read by more people than the user.
 * scrypt (node:crypto) with a per-user salt: a stolen file costs an attacker an scrypt per guess.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import { roleName } from '../config/schema.js';

const HASH = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;
const HOW = 'make one with `lighthousectl hash-password` and put it in password_hash';

const hash = z.string().regex(HASH, `expected a hash from lighthousectl hash-password ("scrypt$N$r$p$SALT$HASH")`);

const user = z
  .strictObject({
    role: z.array(roleName).min(1),
    password_hash: hash.optional(),
    tokens: z.array(hash).optional(),
    // named here only to say what to do instead
    password: z.unknown().optional(),
  })
  .superRefine((u, ctx) => {
    if (u.password !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: `a plain password is not accepted: ${HOW}` });
    else if (u.password_hash === undefined && !u.tokens?.length) ctx.addIssue({ code: 'custom', path: [], message: `expected password_hash or tokens (${HOW})` });
  });

export const usersSchema = z.record(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'expected a user name (letters, digits, . _ @ -)'), user);
export type UsersConfig = z.output<typeof usersSchema>;

function scrypt(secret: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N, r, p, maxmem: 256 * N * r };
  return new Promise((resolve, reject) => scryptCb(secret, salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** "scrypt$N$r$p$SALT$HASH" of `secret`, with a fresh salt */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, PARAMS.N, PARAMS.r, PARAMS.p);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const m = HASH.exec(encoded);
  if (!m) return false;
  const want = Buffer.from(m[5], 'base64');
  const got = await scrypt(secret, Buffer.from(m[4], 'base64'), Number(m[1]), Number(m[2]), Number(m[3]));
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface User {
  name: string;
  roles: readonly string[];
}

/** The users of one users.yaml. Every check costs one scrypt whether the user exists or not. */
export class Users {
  /** compared against when the user does not exist, so the time taken is the same */
  private readonly dummy: Promise<string>;

  constructor(private readonly config: UsersConfig) {
    this.dummy = hashSecret(randomBytes(16).toString('hex'));
  }

  async password(name: string, password: string): Promise<User | null> {
    const u = Object.hasOwn(this.config, name) ? this.config[name] : undefined;
    const ok = await verifySecret(password, u?.password_hash ?? (await this.dummy));
    return ok && u?.password_hash ? { name, roles: u.role } : null;
  }

  /** the user whose token this is; every token is tried (their count is small) */
  async token(token: string): Promise<User | null> {
    let found: User | null = null;
    for (const [name, u] of Object.entries(this.config)) for (const t of u.tokens ?? []) if ((await verifySecret(token, t)) && !found) found = { name, roles: u.role };
    if (!this.hasTokens()) await verifySecret(token, await this.dummy);
    return found;
  }

  hasTokens(): boolean {
    return Object.values(this.config).some((u) => u.tokens?.length);
  }
}

/** May a caller with `roles` see an entry with `entryRoles`? (undefined roles: the local socket
 * or a token_file token, which see everything) */
export function allowed(roles: readonly string[] | undefined, entryRoles: readonly string[] | undefined): boolean {
  if (roles === undefined || roles.includes('admin')) return true;
  return (entryRoles ?? []).some((r) => roles.includes(r));
}
