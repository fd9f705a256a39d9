/**
 * Wire requests node-zookeeper-client 1.1.3 does not know: `addWatch` (ZooKeeper 3.6+) and the
 * delivery of its events. They go through the library's own request queue (zk-internals.ts), so
 * they are numbered and ordered with every other operation.
 */
import { OP_SET_WATCHES, chrootOf, queueRaw, tapNotifications, type RawEvent } from './zk-internals.js';
import type { ZkClient, ZkException } from './zk-client.js';

export type { RawEvent };

const OP_ADD_WATCH = 106; // ZooKeeper 3.6+
export const ADD_WATCH_MODE = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;

/**
 * `addWatch(path, mode)`: a watch that stays armed after it fires; PERSISTENT_RECURSIVE for
 * `path` and every znode under it (events NODE_CREATED / NODE_DELETED / NODE_DATA_CHANGED naming
 * the znode itself, never NODE_CHILDREN_CHANGED). The request serializes itself, and its header
 * says SET_WATCHES to the library, whose reply (a bare header, like addWatch's) it decodes as
 * such. A server older than 3.6 answers UNIMPLEMENTED. Events reach the `onNotification`
 * handler. The watch lives as long as the connection: after a reconnect it must be added again.
 */
export function addWatch(client: ZkClient, path: string, mode: number, cb: (err: ZkException | null) => void): void {
  const full = Buffer.from(chrootOf(client) + path, 'utf8');
  const header = { xid: 0, type: OP_SET_WATCHES };
  const toBuffer = (): Buffer => {
    const b = Buffer.alloc(4 + 8 + 4 + full.length + 4);
    b.writeInt32BE(b.length - 4, 0);
    b.writeInt32BE(header.xid, 4);
    b.writeInt32BE(OP_ADD_WATCH, 8);
    b.writeInt32BE(full.length, 12);
    full.copy(b, 16);
    b.writeInt32BE(mode, 16 + full.length);
    return b;
  };
  queueRaw(client, { header, payload: null, toBuffer }, cb as (err: Error | null) => void);
}

/** Every watch event the client receives (besides the library's own dispatch to the watchers
 * it registered), path relative to the chroot: the events of `addWatch` watches, which the
 * library has no registration for and would drop. */
export function onNotification(client: ZkClient, handler: (event: RawEvent) => void): void {
  tapNotifications(client, handler);
}
