/**
 * The operations of a ZooKeeper session as promises, over node-zookeeper-client's callbacks.
 * How an operation is run (which client, what happens when the session goes) is the session's
 * (session.ts `op`).
 */
import { EventEmitter } from 'node:events';
import { CreateMode, OPEN_ACL, ZK_ERR, errCode, type ZkAcl, type ZkClient, type ZkException, type ZkStat, type ZkTransaction, type ZkWatcher } from './zk-client.js';

export type SessionEvents = { session: [id: string]; connected: []; disconnected: []; expired: [id: string] };

/** The ZooKeeper error code of a failed operation (NO_NODE, NODE_EXISTS, ...), if any. */
export function zkCode(err: unknown): number | undefined {
  return errCode(err) ?? errCode((err as { cause?: unknown } | null)?.cause);
}

const EMPTY = Buffer.alloc(0);

export abstract class ZkOperations extends EventEmitter<SessionEvents> {
  /** Run one request on the current client; `cb` is the library's callback, adapted. */
  protected abstract op<T>(what: string, run: (c: ZkClient, cb: (err: Error | null, v: T) => void) => void): Promise<T>;

  /** `acl`: the new znode's ACL; default open (world:anyone:cdrwa) */
  create(path: string, data: Buffer | undefined, mode: 'ephemeral' | 'persistent', acl: readonly ZkAcl[] = OPEN_ACL): Promise<string> {
    const m = mode === 'ephemeral' ? CreateMode.EPHEMERAL : CreateMode.PERSISTENT;
    return this.op(`create ${path}`, (c, cb) => c.create(path, data, acl, m, cb));
  }
  /** Create `path` and its missing ancestors as empty persistent znodes with `acl` (those
   * that exist keep theirs). */
  async mkdirp(path: string, acl: readonly ZkAcl[] = OPEN_ACL): Promise<void> {
    let cur = '';
    for (const part of path.split('/').slice(1)) {
      cur += `/${part}`;
      try {
        await this.create(cur, undefined, 'persistent', acl);
      } catch (err) {
        if (zkCode(err) !== ZK_ERR.NODE_EXISTS) throw err;
      }
    }
  }
  getAcl(path: string): Promise<ZkAcl[]> {
    return this.op(`getACL ${path}`, (c, cb) => c.getACL(path, cb));
  }
  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    return this.op(`exists ${path}`, (c, cb) => c.exists(path, watcher, cb));
  }
  getData(path: string, watcher?: ZkWatcher): Promise<{ data: Buffer; stat: ZkStat }> {
    return this.op(`getData ${path}`, (c, cb) => c.getData(path, watcher, (e: ZkException | null, data?: Buffer, stat?: ZkStat) => cb(e, { data: data ?? EMPTY, stat: stat! })));
  }
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.op(`getChildren ${path}`, (c, cb) => c.getChildren(path, watcher, cb));
  }
  setData(path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return this.op(`setData ${path}`, (c, cb) => c.setData(path, data, version, cb));
  }
  remove(path: string, version = -1): Promise<void> {
    return this.op(`remove ${path}`, (c, cb) => c.remove(path, version, (e) => cb(e, undefined)));
  }
  /** Atomic multi-op; `build` adds the operations. */
  transaction(what: string, build: (t: ZkTransaction) => void): Promise<unknown[]> {
    return this.op(`transaction ${what}`, (c, cb) => {
      const t = c.transaction();
      build(t);
      t.commit(cb);
    });
  }
}
