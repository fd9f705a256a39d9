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

/** a watch event as it comes off the wire (path relative to the chroot) */
export interface RawEvent {
  type: number;
  path: string;
}

export type ZkWatcher = (event: ZkEvent) => void;
type Cb<T extends unknown[]> = (err: ZkException | null, ...result: T) => void;

/** An ACL entry as the library takes it (an `ACL` of a permission mask and an `Id`). */
export interface ZkAcl {
  permission: number;
  id: { scheme: string; id: string };
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
  Permission: Record<'READ' | 'WRITE' | 'CREATE' | 'DELETE' | 'ADMIN' | 'ALL', number>;
  Exception: Record<'NO_NODE' | 'NODE_EXISTS' | 'CONNECTION_LOSS' | 'SESSION_EXPIRED' | 'BAD_VERSION' | 'NOT_EMPTY' | 'UNIMPLEMENTED', number>;
  CreateMode: Record<'PERSISTENT' | 'EPHEMERAL', number>;
  Event: Record<'NODE_CREATED' | 'NODE_DELETED' | 'NODE_DATA_CHANGED' | 'NODE_CHILDREN_CHANGED', number>;
}

const zk = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;

export const ZK_ERR = zk.Exception;
export const CreateMode = zk.CreateMode;
export const ZkEventType = zk.Event;
/** world:anyone:cdrwa, ZooKeeper's (and the Python Lighthouse's) default */
export const OPEN_ACL: readonly ZkAcl[] = zk.ACL.OPEN_ACL_UNSAFE;

/** zkCli's permission letters */
const PERMS: Record<string, number> = { r: zk.Permission.READ, w: zk.Permission.WRITE, c: zk.Permission.CREATE, d: zk.Permission.DELETE, a: zk.Permission.ADMIN };

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

interface FramingInternals {
  /** the frame the library is handling (set by guardFraming around each call): getDataFast's
   * callback, which the library calls from inside, decodes its reply from it */
  lhFrame?: Buffer | null;
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void; destroyed?: boolean } | null;
  onSocketData(buffer: Buffer): void;
  onSocketClosed(...args: unknown[]): void;
}

/** larger than any reply a server sends (ZooKeeper's jute.maxbuffer is 1 MB by default) */
const MAX_FRAME = 256 * 1024 * 1024;

/**
 * Framing is ours: node-zookeeper-client 1.1.3 has three defects in it.
 *  - It decodes one frame per call and recurses on the rest with `Buffer.concat(rest, [])`:
 *    a 64 KB read of 200 replies copies ~6 MB (quadratic), and every copy is a malloc'd
 *    buffer. Seen here: a writer loading 50,000 znodes spent its CPU there and grew its malloc
 *    heap by tens of MB.
 *  - The bytes of a half-received reply (`pendingBuffer`) are kept when the connection closes,
 *    and put in front of the next connection's bytes: every reply after a reconnect that
 *    happened mid-reply is misframed (its issue #39).
 *  - A reply it cannot decode throws from the socket's 'data' handler: an uncaught exception
 *    (its issue #89). Seen here: a writer had its connection dropped mid-reply and crashed on
 *    the next connection.
 * So the socket's bytes are cut into frames here (4-byte length prefix; frames inside a read
 * are passed as views, only a frame split across reads is copied, once) and the library gets
 * exactly one whole frame per call, so its own buffering never engages; stale bytes are
 * dropped with their socket; a frame that does not decode drops the connection (the session
 * survives a reconnect) instead of the process. The handlers are bound when a socket is
 * opened, so replacing them on the instance (before connect) covers every connection.
 */
export function guardFraming(client: ZkClient, onError: (err: Error) => void): void {
  const cm = (client as unknown as { connectionManager?: FramingInternals }).connectionManager;
  if (!cm || typeof cm.onSocketData !== 'function' || typeof cm.onSocketClosed !== 'function') return;
  const onData = cm.onSocketData;
  const onClosed = cm.onSocketClosed;
  /** the start of a frame split across reads: its chunks, their total length, and the
   * frame's length once its first 4 bytes are in (-1 before) */
  let parts: Buffer[] = [];
  let partLen = 0;
  let need = -1;
  const reset = () => ((parts = []), (partLen = 0), (need = -1));
  /** a length no server sends (negative, or past any jute.maxbuffer): the stream is not
   * ZooKeeper's framing any more (a frame of length -4 would also never advance the loop) */
  const corrupt = (self: FramingInternals, len: number): void => {
    reset();
    self.pendingBuffer = null;
    self.socket?.destroy();
    onError(new Error(`bad ZooKeeper frame length ${len}`));
  };
  cm.lhFrame = null;
  const frame = (self: FramingInternals, f: Buffer): boolean => {
    try {
      self.pendingBuffer = null;
      self.lhFrame = f;
      onData.call(self, f);
      self.lhFrame = null;
      return true;
    } catch (err) {
      self.lhFrame = null;
      reset();
      self.pendingBuffer = null;
      self.socket?.destroy();
      onError(err as Error);
      return false;
    }
  };
  cm.onSocketData = function (this: FramingInternals, chunk: Buffer) {
    let buf = chunk;
    if (partLen > 0) {
      parts.push(chunk);
      partLen += chunk.length;
      if (need < 0 && partLen >= 4) {
        parts = [Buffer.concat(parts, partLen)];
        const len = parts[0].readInt32BE(0);
        if (len < 0 || len > MAX_FRAME) return corrupt(this, len);
        need = 4 + len;
      }
      if (need < 0 || partLen < need) return;
      buf = Buffer.concat(parts, partLen); // once per split frame
      reset();
    }
    const socket = this.socket;
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readInt32BE(at);
      if (len < 0 || len > MAX_FRAME) return corrupt(this, len);
      const end = at + 4 + len;
      if (end > buf.length) break;
      if (!frame(this, buf.subarray(at, end))) return;
      if (socket?.destroyed) return reset(); // the library gave up on this connection: the rest is stale
      at = end;
    }
    if (at < buf.length) {
      // copied: the read's buffer is not ours to keep
      parts = [Buffer.from(buf.subarray(at))];
      partLen = buf.length - at;
      need = partLen >= 4 ? 4 + parts[0].readInt32BE(0) : -1; // (checked above: the loop read it)
    }
  };
  cm.onSocketClosed = function (this: FramingInternals, ...args: unknown[]) {
    reset();
    this.pendingBuffer = null;
    return onClosed.apply(this, args);
  };
}

interface QueueInternals extends Partial<FramingInternals> {
  chrootPath?: string;
  watcherManager?: { emit(event: RawEvent): void };
  queue(request: unknown, cb: (err: ZkException | null) => void): void;
}

const OP_GET_DATA = 4;
const OP_ADD_WATCH = 106; // ZooKeeper 3.6+
const OP_SET_WATCHES = 101; // a reply of only a header, as addWatch's is
export const ADD_WATCH_MODE = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;

/**
 * `addWatch(path, mode)` (ZooKeeper 3.6+), which node-zookeeper-client 1.1.3 does not know: a
 * watch that stays armed after it fires, PERSISTENT_RECURSIVE for `path` and every znode under
 * it (events NODE_CREATED / NODE_DELETED / NODE_DATA_CHANGED naming the znode itself, never
 * NODE_CHILDREN_CHANGED). The request goes through the library's own queue, so it is numbered
 * and ordered with every other operation; its object serializes itself, and its header says
 * SET_WATCHES to the library, whose reply (a bare header, like addWatch's) it decodes as such.
 * A server older than 3.6 answers UNIMPLEMENTED. Events reach the `onNotification` handler.
 * The watch lives as long as the connection: after a reconnect it must be added again.
 */
export function addWatch(client: ZkClient, path: string, mode: number, cb: (err: ZkException | null) => void): void {
  const cm = (client as unknown as { connectionManager: QueueInternals }).connectionManager;
  const full = Buffer.from((cm.chrootPath ?? '') + path, 'utf8');
  const header = { xid: 0, type: OP_SET_WATCHES };
  cm.queue(
    {
      header,
      payload: null,
      toBuffer(): Buffer {
        const b = Buffer.alloc(4 + 8 + 4 + full.length + 4);
        b.writeInt32BE(b.length - 4, 0);
        b.writeInt32BE(header.xid, 4);
        b.writeInt32BE(OP_ADD_WATCH, 8);
        b.writeInt32BE(full.length, 12);
        full.copy(b, 16);
        b.writeInt32BE(mode, 16 + full.length);
        return b;
      },
    },
    cb,
  );
}

/**
 * `getData(path)` without a watch, as `client.getData(path, cb)` answers it (same queue, same
 * numbering and ordering, same errors), for less CPU: a znode read is on the path of every
 * membership change a writer applies, and 50,000 of them load a large writer. The library
 * builds request and reply field by field from a JSON spec (every 64-bit field its own
 * Buffer) and runs each call through its retry wrapper: 54 us of CPU per read here, against
 * 32 us this way (100 reads in flight, 20,000 reads, interleaved, on this VM). The request serializes itself, and says
 * SET_WATCHES to the library (as addWatch's does) so that the library decodes only the reply's
 * header (xid, zxid, error code) and hands over; the data and stat are then read here from the
 * frame guardFraming has the library handling (`lhFrame`). A client without that guard (the
 * library not as pinned) gets the library's own getData.
 */
export function getDataFast(client: ZkClient, path: string, cb: (err: ZkException | null, data?: Buffer, stat?: ZkStat) => void): void {
  const cm = (client as unknown as { connectionManager?: QueueInternals }).connectionManager;
  if (!cm || cm.lhFrame === undefined) return client.getData(path, undefined, cb);
  const header = { xid: 0, type: OP_SET_WATCHES };
  cm.queue(
    {
      header,
      payload: null,
      toBuffer(): Buffer {
        const full = (cm.chrootPath ?? '') + path;
        const len = Buffer.byteLength(full);
        const b = Buffer.allocUnsafe(4 + 8 + 4 + len + 1);
        b.writeInt32BE(b.length - 4, 0);
        b.writeInt32BE(header.xid, 4);
        b.writeInt32BE(OP_GET_DATA, 8);
        b.writeInt32BE(len, 12);
        b.write(full, 16, len, 'utf8');
        b[16 + len] = 0; // no watch
        return b;
      },
    },
    (err) => {
      if (err) return cb(err);
      const f = cm.lhFrame;
      if (!f) throw new Error(`getData ${path}: reply not at hand`); // guardFraming drops the connection
      cb(null, ...decodeGetData(f, path));
    },
  );
}

/** size of a serialized Stat: 6 longs, 5 ints */
const STAT_BYTES = 68;

/** A framed GetDataResponse (length, reply header, data, stat) -> data, stat. The stat's longs
 * are views of one copy of the stat's bytes (the frame is the socket's buffer, not ours). */
export function decodeGetData(f: Buffer, path = ''): [Buffer | undefined, ZkStat] {
  const HEADER = 4 + 4 + 8 + 4; // length, xid, zxid, err
  const len = f.readInt32BE(HEADER);
  const at = HEADER + 4 + Math.max(len, 0);
  if (at + STAT_BYTES > f.length) throw new Error(`getData ${path}: reply of ${f.length} bytes is too short`);
  const data = len < 0 ? undefined : Buffer.from(f.subarray(HEADER + 4, at));
  const s = Buffer.from(f.subarray(at, at + STAT_BYTES));
  const stat: ZkStat = {
    czxid: s.subarray(0, 8),
    mzxid: s.subarray(8, 16),
    ctime: s.subarray(16, 24),
    mtime: s.subarray(24, 32),
    version: s.readInt32BE(32),
    cversion: s.readInt32BE(36),
    aversion: s.readInt32BE(40),
    ephemeralOwner: s.subarray(44, 52),
    dataLength: s.readInt32BE(52),
    numChildren: s.readInt32BE(56),
    pzxid: s.subarray(60, 68),
  };
  return [data, stat];
}

/** Every watch event the client receives (besides the library's own dispatch to the watchers
 * it registered), path relative to the chroot: the events of `addWatch` watches, which the
 * library has no registration for and would drop. */
export function onNotification(client: ZkClient, handler: (event: RawEvent) => void): void {
  const wm = (client as unknown as { connectionManager?: QueueInternals }).connectionManager?.watcherManager;
  if (!wm || typeof wm.emit !== 'function') return;
  const emit = wm.emit;
  wm.emit = function (this: unknown, event: RawEvent) {
    handler(event);
    return emit.call(this, event);
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
