/**
 * Every use of node-zookeeper-client's private internals, in one place. Pinned to version
 * 1.1.3 (ZK_LIBRARY_VERSION; package-lock.json pins it too): each of these is checked against
 * the installed library by test/unit/discovery/zk-internals.test.ts, which fails on an upgrade
 * that changes any of them. Nothing else in src/ reaches past the library's public API.
 *
 * What is used, and why (the library has no public way to do it):
 *  1. `client.connectionManager`: the object that owns the connection; everything below is on it.
 *  2. `onSocketData` / `onSocketClosed`, replaced on the instance before `connect()` (the
 *     library binds them when it opens each socket), and `pendingBuffer` cleared: the framing
 *     guard (framing.ts) cuts the socket's bytes into frames itself, because 1.1.3's own
 *     framing is quadratic, misframes after a reconnect mid-reply and throws uncaught.
 *  3. `socket.destroy()` / `socket.destroyed`: drop one connection (the client reconnects and
 *     keeps the session), as the library has no read or handshake timeout.
 *  4. `state = STATES.CLOSING` (-1): give up on a client without sending closeSession, so a
 *     session we no longer use keeps its ephemerals until the server expires it.
 *  5. `queue(request, cb)` with a request object of our own (`header` {xid, type}, `payload`
 *     null, `toBuffer()`), typed SET_WATCHES so that the library decodes its reply as a bare
 *     header, and `chrootPath`: the wire requests the library does not know (addWatch).
 *  6. `watcherManager.emit(event)`, wrapped: the events of addWatch's watches, which the
 *     library has no registration for and would drop.
 */
import { createRequire } from 'node:module';

/** the node-zookeeper-client version every private below was checked against */
export const ZK_LIBRARY_VERSION = '1.1.3';

/** ConnectionManager.STATES.CLOSING: a socket closed in this state is not reconnected */
export const CM_CLOSING = -1;
/** jute.OP_CODES.SET_WATCHES: its reply is decoded as a bare header */
export const OP_SET_WATCHES = 101;

/** a watch event as it comes off the wire (path relative to the chroot) */
export interface RawEvent {
  readonly type: number;
  readonly path: string;
}

interface Socket {
  destroy(): void;
  destroyed?: boolean;
}

/** The connection manager's privates this module uses (see the header). */
interface ConnectionManager {
  pendingBuffer: Buffer | null;
  socket?: Socket | null;
  state: number;
  chrootPath?: string;
  watcherManager?: { emit(event: RawEvent): void };
  onSocketData(buffer: Buffer): void;
  onSocketClosed(...args: unknown[]): void;
  queue(request: RawRequest, cb: (err: Error | null) => void): void;
}

/** a request the library queues, numbers and sends as it does its own */
export interface RawRequest {
  readonly header: { xid: number; type: number };
  readonly payload: null;
  toBuffer(): Buffer;
}

/** The socket handlers as the framing guard sees them. */
export interface SocketHandlers {
  onData(conn: ConnectionHandle, chunk: Buffer): void;
  onClosed(conn: ConnectionHandle): void;
}

/** What the framing guard may do with a connection: feed the library one frame, drop it. */
export interface ConnectionHandle {
  /** the library's own handler for one whole frame (it may throw on one it cannot decode) */
  feed(frame: Buffer): void;
  /** drop the stale bytes the library may hold and destroy the socket */
  destroy(): void;
  readonly destroyed: boolean;
}

function cmOf(client: object): ConnectionManager | undefined {
  return (client as { connectionManager?: ConnectionManager }).connectionManager;
}

/**
 * Route the socket's 'data' and 'close' through `handlers` (2). Call before `connect()`.
 * Returns false when the client does not look as pinned (then nothing is replaced).
 */
export function wrapSocketHandlers(client: object, handlers: SocketHandlers): boolean {
  const cm = cmOf(client);
  if (!cm || typeof cm.onSocketData !== 'function' || typeof cm.onSocketClosed !== 'function') return false;
  const onData = cm.onSocketData;
  const onClosed = cm.onSocketClosed;
  // the library calls both with `this` bound to this connection manager
  const handle: ConnectionHandle = {
    feed(frame) {
      cm.pendingBuffer = null;
      onData.call(cm, frame);
    },
    destroy() {
      cm.pendingBuffer = null;
      cm.socket?.destroy();
    },
    get destroyed() {
      return cm.socket?.destroyed === true;
    },
  };
  cm.onSocketData = (chunk: Buffer) => handlers.onData(handle, chunk);
  cm.onSocketClosed = (...args: unknown[]) => {
    cm.pendingBuffer = null;
    handlers.onClosed(handle);
    return onClosed.apply(cm, args);
  };
  return true;
}

/** Destroy the current socket (3): the client reconnects, keeping its session. */
export function destroySocket(client: object): void {
  cmOf(client)?.socket?.destroy();
}

/** Put the client in CLOSING without sending closeSession (4): its next socket close ends it. */
export function markClosing(client: object): void {
  const cm = cmOf(client);
  if (cm) cm.state = CM_CLOSING;
}

/** The client's chroot (5), '' without one. */
export function chrootOf(client: object): string {
  return cmOf(client)?.chrootPath ?? '';
}

/** Queue a request the library does not know (5), numbered and ordered with every other. */
export function queueRaw(client: object, request: RawRequest, cb: (err: Error | null) => void): void {
  const cm = cmOf(client);
  if (!cm || typeof cm.queue !== 'function') throw new Error('node-zookeeper-client is not as pinned: no request queue');
  cm.queue(request, cb);
}

/** Every watch event the client receives goes to `handler` too (6), before the library's own
 * dispatch. Returns false when the client does not look as pinned. */
export function tapNotifications(client: object, handler: (event: RawEvent) => void): boolean {
  const wm = cmOf(client)?.watcherManager;
  if (!wm || typeof wm.emit !== 'function') return false;
  const emit = wm.emit;
  wm.emit = function (this: unknown, event: RawEvent) {
    handler(event);
    return emit.call(this, event);
  };
  return true;
}

/** The installed library's version (package.json), for the test that pins it. */
export function installedVersion(): string {
  return (createRequire(import.meta.url)('node-zookeeper-client/package.json') as { version: string }).version;
}
