/**
 * Typed facade over node-zookeeper-client 1.1.3, which ships no type declarations. Only what the
 * session manager uses is declared. A client is created with the framing guard (framing.ts);
 * dropping a connection and giving up on a client without closing its session have no public
 * API in the library and go through zk-internals.ts, as every use of its privates does.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { guardFraming } from './framing.js';
import { destroySocket, markClosing, type RawEvent } from './zk-internals.js';

export type { RawEvent };

/** 64-bit fields (zxids, times, ephemeralOwner) arrive as 8-byte big-endian Buffers. */
export interface ZkStat {
  readonly czxid: Buffer;
  readonly mzxid: Buffer;
  readonly ctime: Buffer;
  readonly mtime: Buffer;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: Buffer;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: Buffer;
}

export interface ZkException extends Error {
  code: number;
  getCode(): number;
  getName(): string;
}

export interface ZkEvent {
  readonly type: number;
  readonly name: string;
  readonly path: string;
}

export type ZkWatcher = (event: ZkEvent) => void;
type Cb<T extends unknown[]> = (err: ZkException | null, ...result: T) => void;

/** An ACL entry as the library takes it (an `ACL` of a permission mask and an `Id`). */
export interface ZkAcl {
  readonly permission: number;
  readonly id: { readonly scheme: string; readonly id: string };
}

export interface ZkTransaction {
  create(path: string, data: Buffer | undefined, mode: number): ZkTransaction;
  create(path: string, data: Buffer | undefined, acls: readonly ZkAcl[], mode: number): ZkTransaction;
  setData(path: string, data: Buffer, version?: number): ZkTransaction;
  remove(path: string, version?: number): ZkTransaction;
  check(path: string, version?: number): ZkTransaction;
  commit(cb: Cb<[results: unknown[]]>): void;
}

export interface ZkClient extends EventEmitter {
  connect(): void;
  close(): void;
  getSessionId(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  /** without `acls`: the open ACL */
  create(path: string, data: Buffer | undefined, mode: number, cb: Cb<[path: string]>): void;
  create(path: string, data: Buffer | undefined, acls: readonly ZkAcl[], mode: number, cb: Cb<[path: string]>): void;
  getACL(path: string, cb: Cb<[acls: ZkAcl[], stat: ZkStat]>): void;
  remove(path: string, version: number, cb: Cb<[]>): void;
  exists(path: string, watcher: ZkWatcher | undefined, cb: Cb<[stat: ZkStat | null]>): void;
  getData(path: string, watcher: ZkWatcher | undefined, cb: Cb<[data: Buffer | undefined, stat: ZkStat]>): void;
  setData(path: string, data: Buffer, version: number, cb: Cb<[stat: ZkStat]>): void;
  getChildren(path: string, watcher: ZkWatcher | undefined, cb: Cb<[children: string[], stat: ZkStat]>): void;
  transaction(): ZkTransaction;
}

interface ZkModule {
  createClient(connectString: string, options: { sessionTimeout: number; spinDelay: number; retries: number }): ZkClient;
  ACL: (new (permission: number, id: unknown) => ZkAcl) & { OPEN_ACL_UNSAFE: ZkAcl[] };
  Id: new (scheme: string, id: string) => { scheme: string; id: string };
  Permission: Readonly<Record<'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'ADMIN' | 'ALL', number>>;
  Exception: Readonly<Record<'NO_NODE' | 'NODE_EXISTS' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'BAD_VERSION' | 'NOT_EMPTY' | 'UNIMPLEMENTED', number>>;
  CreateMode: Readonly<Record<'PERSISTENT' | 'EPHEMERAL', number>>;
  Event: Readonly<Record<'NODE_CREATED' | 'NODE_DELETED' | 'NODE_DATA_CHANGED' | 'NODE_CHILDREN_CHANGED', number>>;
}

const zk = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;

export const ZK_ERR = zk.Exception;
export const CreateMode = zk.CreateMode;
export const ZkEventType = zk.Event;
/** world:anyone:cdrwa, ZooKeeper's (and the Python Lighthouse's) default */
export const OPEN_ACL: readonly ZkAcl[] = zk.ACL.OPEN_ACL_UNSAFE;

/** zkCli's permission letters */
const PERMS: Readonly<Record<string, number>> = { r: zk.Permission.READ, w: zk.Permission.WRITE, c: zk.Permission.CREATE, d: zk.Permission.DELETE, a: zk.Permission.ADMIN };

/** One ACL entry from zkCli's form `scheme:id:perms` ("world:anyone:r", "auth::cdrwa",
 * "digest:user:BASE64SHA1:rw", "ip:10.0.0.0/8:r"): the id is everything between the first
 * and the last colon. Throws on a malformed entry (the config schema checks them first). */
export function parseAcl(entry: string): ZkAcl {
  const m = /^([a-z0-9]+):(.*):([rwcda]+)$/.exec(entry);
  if (!m) throw new Error('expected "scheme:id:perms", perms of r w c d a');
  const mask = [...m[3]].reduce((acc, c) => acc | PERMS[c], 0);
  return new zk.ACL(mask, new zk.Id(m[1], m[2]));
}

/** An ACL entry back in zkCli's form (messages, tests). */
export function formatAcl(a: ZkAcl): string {
  const perms = Object.entries(PERMS)
    .filter(([, bit]) => a.permission & bit)
    .map(([c]) => c)
    .join('');
  return `${a.id.scheme}:${a.id.id}:${perms}`;
}

export function createZkClient(connectString: string, sessionTimeout: number, spinDelay: number, onProtocolError: (err: Error) => void = () => {}): ZkClient {
  // retries: 0 -- retrying is ours to decide (publisher / watcher reconcile), not the library's.
  const client = zk.createClient(connectString, { sessionTimeout, spinDelay, retries: 0 });
  guardFraming(client, onProtocolError);
  return client;
}

export function errCode(err: unknown): number | undefined {
  return typeof (err as ZkException | null)?.getCode === 'function' ? (err as ZkException).getCode() : undefined;
}

/** Drop the current TCP connection; the client reconnects (to the next server) keeping its
 * session. Used when the server stops answering: the library itself never times out a read. */
export function dropConnection(client: ZkClient): void {
  destroySocket(client);
}

/** After close(): make sure the client ends even if the server never answers closeSession. */
export function abandon(client: ZkClient): void {
  try {
    client.close();
  } catch {
    // already closed
  }
  finish(client);
}

/** Give up on a client whose session we consider lost WITHOUT closing that session: if the
 * server still holds it, its ephemerals stay until the server expires it and the new session
 * replaces them in place; a closeSession would delete them first, a blip for every watcher. */
export function discard(client: ZkClient): void {
  markClosing(client);
  finish(client);
}

/** Destroy the socket now, and once more later: a reconnect already scheduled (spinDelay) may
 * still open one. In the CLOSING state a closed socket leaves the client CLOSED for good. */
function finish(client: ZkClient): void {
  setImmediate(() => dropConnection(client));
  setTimeout(() => dropConnection(client), 2_000).unref();
}
