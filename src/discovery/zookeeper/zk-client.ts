/**
 * Typed facade over node-zookeeper-client 1.1.3, which ships no type declarations. Only what the
 * session manager uses is declared. Two helpers reach into the client's internals (the connection
 * manager's socket) because the library has no read timeout and no way to abandon a connection:
 * they are pinned to 1.1.3 and isolated here.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

/** 64-bit fields (zxids, times, ephemeralOwner) arrive as 8-byte big-endian Buffers. */
export interface ZkStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}

export interface ZkException extends Error {
  code: number;
  getCode(): number;
  getName(): string;
}

export interface ZkEvent {
  type: number;
  name: string;
  path: string;
}

export type ZkWatcher = (event: ZkEvent) => void;
type Cb<T extends unknown[]> = (err: ZkException | null, ...result: T) => void;

export interface ZkTransaction {
  create(path: string, data: Buffer | undefined, mode: number): ZkTransaction;
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
  create(path: string, data: Buffer | undefined, mode: number, cb: Cb<[path: string]>): void;
  remove(path: string, version: number, cb: Cb<[]>): void;
  exists(path: string, watcher: ZkWatcher | undefined, cb: Cb<[stat: ZkStat | null]>): void;
  getData(path: string, watcher: ZkWatcher | undefined, cb: Cb<[data: Buffer | undefined, stat: ZkStat]>): void;
  setData(path: string, data: Buffer, version: number, cb: Cb<[stat: ZkStat]>): void;
  getChildren(path: string, watcher: ZkWatcher | undefined, cb: Cb<[children: string[], stat: ZkStat]>): void;
  transaction(): ZkTransaction;
}

interface ZkModule {
  createClient(connectString: string, options: { sessionTimeout: number; spinDelay: number; retries: number }): ZkClient;
  Exception: Record<'NO_NODE' | 'NODE_EXISTS' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'BAD_VERSION' | 'NOT_EMPTY', number>;
  CreateMode: Record<'PERSISTENT' | 'EPHEMERAL', number>;
  Event: Record<'NODE_CREATED' | 'NODE_DELETED' | 'NODE_DATA_CHANGED' | 'NODE_CHILDREN_CHANGED', number>;
}

const zk = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;

export const ZK_ERR = zk.Exception;
export const CreateMode = zk.CreateMode;
export const ZkEventType = zk.Event;

export function createZkClient(connectString: string, sessionTimeout: number, spinDelay: number, onProtocolError: (err: Error) => void = () => {}): ZkClient {
  // retries: 0 -- retrying is ours to decide (publisher / watcher reconcile), not the library's.
  const client = zk.createClient(connectString, { sessionTimeout, spinDelay, retries: 0 });
  guardFraming(client, onProtocolError);
  return client;
}

interface FramingInternals {
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void } | null;
  onSocketData(buffer: Buffer): void;
  onSocketClosed(...args: unknown[]): void;
}

/**
 * Two defects of node-zookeeper-client 1.1.3 that kill the process (its issues #39, #89):
 *  - the bytes of a half-received reply (`pendingBuffer`) are kept when the connection closes,
 *    and put in front of the next connection's bytes: every reply after a reconnect that
 *    happened mid-reply is misframed;
 *  - a reply it cannot decode throws from the socket's 'data' handler: an uncaught exception.
 * Seen here: a writer loading 50,000 znodes had its connection dropped mid-reply (our own
 * no-answer timer, the event loop busy decoding) and crashed on the next connection. The
 * handlers are bound when a socket is opened, so replacing them on the instance (before
 * connect) covers every connection: stale bytes are dropped with their socket, and a reply
 * that does not decode drops the connection (the session survives a reconnect) instead of
 * the process.
 */
function guardFraming(client: ZkClient, onError: (err: Error) => void): void {
  const cm = (client as unknown as { connectionManager?: FramingInternals }).connectionManager;
  if (!cm || typeof cm.onSocketData !== 'function' || typeof cm.onSocketClosed !== 'function') return;
  const onData = cm.onSocketData;
  const onClosed = cm.onSocketClosed;
  cm.onSocketData = function (this: FramingInternals, buffer: Buffer) {
    try {
      onData.call(this, buffer);
    } catch (err) {
      this.pendingBuffer = null;
      this.socket?.destroy();
      onError(err as Error);
    }
  };
  cm.onSocketClosed = function (this: FramingInternals, ...args: unknown[]) {
    this.pendingBuffer = null;
    return onClosed.apply(this, args);
  };
}

export function errCode(err: unknown): number | undefined {
  return typeof (err as ZkException | null)?.getCode === 'function' ? (err as ZkException).getCode() : undefined;
}

interface Internals {
  connectionManager?: { socket?: { destroy(): void }; state?: number };
}
const CM_CLOSING = -1; // ConnectionManager.STATES.CLOSING: a closed socket is not reconnected

/** Drop the current TCP connection; the client reconnects (to the next server) keeping its
 * session. Used when the server stops answering: the library itself never times out a read. */
export function dropConnection(client: ZkClient): void {
  (client as unknown as Internals).connectionManager?.socket?.destroy();
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
  const cm = (client as unknown as Internals).connectionManager;
  if (cm) cm.state = CM_CLOSING;
  finish(client);
}

/** Destroy the socket now, and once more later: a reconnect already scheduled (spinDelay) may
 * still open one. In the CLOSING state a closed socket leaves the client CLOSED for good. */
function finish(client: ZkClient): void {
  setImmediate(() => dropConnection(client));
  setTimeout(() => dropConnection(client), 2_000).unref();
}
