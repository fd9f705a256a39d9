/**
 * Action tokens: JWTs signed with an Ed25519 key (EdDSA, with jose). `lighthousectl token init`
 * makes the pair (CONFIG_DIR/actions/token.key, mode 0600, and token.pub), `token generate`
 * signs; every reporter verifies with its own CONFIG_DIR/actions/token.pub. Claims:
 *
 *   sub      who (the audit log's "who"), default the local user
 *   jti      the token's id: what actions/revoked.yaml lists
 *   iat/exp  issued at / expires (always set: a token without expiry is refused)
 *   aud      "lighthouse-actions": a JWT the same key signed for something else does not pass
 *   actions  the action names it may run, or ["*"] for all
 *
 * Verification fails closed: bad signature, wrong audience, expired, revoked, malformed, no key
 * on the node: 401 (or 503 for the node's own missing key), and the caller never learns more
 * than which of these it was.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Jose from 'jose';
import type { CryptoKey } from 'jose';
import { LighthouseError } from '../core/errors.js';
import { ACTIONS_DIR } from '../config/files.js';
import { TOKEN_ID } from './revoked.js';

/** jose, loaded when a key or a token is first handled: a reporter holds no key until an
 * operator runs an action, and the library is several MB of RSS against its 75 MB goal. */
const jose = (): Promise<typeof Jose> => import('jose');

const ALG = 'EdDSA';
const AUDIENCE = 'lighthouse-actions';
const ISSUER = 'lighthousectl';
export const ALL_ACTIONS = '*';
/** a bearer longer than this is refused unread */
const MAX_TOKEN_LENGTH = 8192;
const KEY_FILE = 'token.key';
const PUB_FILE = 'token.pub';

export interface TokenClaims {
  sub: string;
  jti: string;
  iat: number;
  exp: number;
  actions: string[];
}

export type Verdict = { ok: true; claims: TokenClaims } | { ok: false; status: 401 | 503; message: string };

export function keyPaths(configDir: string): { key: string; pub: string } {
  return { key: join(configDir, ACTIONS_DIR, KEY_FILE), pub: join(configDir, ACTIONS_DIR, PUB_FILE) };
}

/** Make a new key pair in CONFIG_DIR/actions/; an existing pair is kept unless `force`. */
export async function initKeys(configDir: string, force = false): Promise<{ key: string; pub: string }> {
  const paths = keyPaths(configDir);
  await mkdir(join(configDir, ACTIONS_DIR), { recursive: true });
  const { generateKeyPair, exportPKCS8, exportSPKI } = await jose();
  const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  const flag = force ? 'w' : 'wx';
  try {
    await writeFile(paths.key, await exportPKCS8(privateKey), { mode: 0o600, flag });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new LighthouseError('LH_ERR_USAGE', `${paths.key} exists: tokens signed with it would stop working (--force makes a new pair anyway)`);
    throw err;
  }
  await chmod(paths.key, 0o600); // an existing file keeps its mode on 'w'
  await writeFile(paths.pub, await exportSPKI(publicKey), { mode: 0o644 });
  return paths;
}

export interface SignOptions {
  subject: string;
  /** seconds from now */
  ttlSeconds: number;
  /** names, or [ALL_ACTIONS] */
  actions: string[];
  now?: number;
}

/** Sign a token with CONFIG_DIR/actions/token.key. */
export async function signToken(configDir: string, o: SignOptions): Promise<{ token: string; claims: TokenClaims }> {
  const { key: keyFile } = keyPaths(configDir);
  let pem: string;
  try {
    pem = await readFile(keyFile, 'utf8');
  } catch (err) {
    throw new LighthouseError('LH_ERR_TOKEN', `cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code}): run \`lighthousectl token init -c ${configDir}\` first`, { cause: err });
  }
  const { importPKCS8, SignJWT } = await jose();
  const key = await importPKCS8(pem, ALG).catch((err) => {
    throw new LighthouseError('LH_ERR_TOKEN', `${keyFile} is not an Ed25519 private key in PEM (PKCS#8)`, { cause: err });
  });
  const iat = Math.floor((o.now ?? Date.now()) / 1000);
  const claims: TokenClaims = { sub: o.subject, jti: randomUUID(), iat, exp: iat + Math.round(o.ttlSeconds), actions: o.actions };
  const token = await new SignJWT({ actions: claims.actions })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key);
  return { token, claims };
}

/** A node's token.pub, re-read when the file changes (it is distributed like any config file). */
export class PublicKeyFile {
  private cached?: { sig: string; key: CryptoKey | null; problem?: string };

  constructor(readonly path: string) {}

  async get(): Promise<{ key: CryptoKey | null; problem?: string }> {
    const st = await stat(this.path).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) return { key: null, problem: `actions are off on this node: no ${this.path} (${st.code})` };
    const sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (this.cached?.sig === sig) return this.cached;
    let key: CryptoKey | null = null;
    let problem: string | undefined;
    try {
      key = await (await jose()).importSPKI(await readFile(this.path, 'utf8'), ALG);
    } catch {
      problem = `actions are off on this node: ${this.path} is not an Ed25519 public key in PEM`;
    }
    this.cached = { sig, key, ...(problem && { problem }) };
    return this.cached;
  }
}

/** Check signature, audience, expiry, shape and revocation. `now` in ms. */
export async function verifyToken(token: string, pub: PublicKeyFile, revoked: ReadonlySet<string>, now: number): Promise<Verdict> {
  const { key, problem } = await pub.get();
  if (!key) return { ok: false, status: 503, message: problem ?? 'actions are off on this node' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, status: 401, message: 'token too long' };
  let payload: Record<string, unknown>;
  const { jwtVerify, errors } = await jose();
  try {
    ({ payload } = await jwtVerify(token, key, { algorithms: [ALG], audience: AUDIENCE, issuer: ISSUER, requiredClaims: ['exp', 'jti', 'sub'], currentDate: new Date(now) }));
  } catch (err) {
    return { ok: false, status: 401, message: whyRefused(err, errors) };
  }
  const { sub, jti, iat, exp, actions } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || !TOKEN_ID.test(jti) || typeof exp !== 'number' || !Array.isArray(actions) || !actions.every((a) => typeof a === 'string')) {
    return { ok: false, status: 401, message: 'token claims are not those of an action token' };
  }
  if (revoked.has(jti)) return { ok: false, status: 401, message: `token ${jti} is revoked` };
  return { ok: true, claims: { sub, jti, iat: typeof iat === 'number' ? iat : 0, exp, actions: actions as string[] } };
}

export function inScope(claims: TokenClaims, action: string): boolean {
  return claims.actions.includes(ALL_ACTIONS) || claims.actions.includes(action);
}

function whyRefused(err: unknown, errors: typeof Jose.errors): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify with this node\'s actions/token.pub';
  if (err instanceof errors.JWTClaimValidationFailed) return `token refused: ${err.claim} ${err.reason === 'missing' ? 'missing' : 'not valid for actions'}`;
  if (err instanceof errors.JOSEAlgNotAllowed) return `token refused: only ${ALG} tokens are accepted`;
  return 'token is not a valid JWT';
}
