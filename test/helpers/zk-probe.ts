/**
 * An independent ZooKeeper client for assertions: tests look at what the daemons wrote (or write
 * znodes as another Lighthouse would) through their own session, not through our plugin.
 */
import { createRequire } from 'node:module';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the library ships no types; src/discovery/zookeeper/zk-client.ts types what the product uses
const zookeeper = createRequire(import.meta.url)('node-zookeeper-client') as any;
type Stat = { ephemeralOwner: Buffer; czxid: Buffer; version: number };

export interface ZnodeInfo {
  data: Buffer;
  owner: string; // ephemeralOwner as hex, '0000000000000000' for persistent znodes
  czxid: string;
  /** data version: 0 for a znode never changed since it was created */
  version: number;
}

export interface ZkProbe {
  get(path: string): Promise<ZnodeInfo | null>;
  children(path: string): Promise<string[]>;
  create(path: string, data: string | Buffer, ephemeral?: boolean): Promise<void>;
  set(path: string, data: string | Buffer): Promise<void>;
  remove(path: string): Promise<void>;
  sessionId(): string;
  close(): void;
}

const hex = (b: Buffer) => Buffer.from(b).toString('hex');

/** the client library waits forever for a server that stopped answering: a probe does not */
function bounded<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`zk probe: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export async function zkProbe(connectString: string): Promise<ZkProbe> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 4000, spinDelay: 100, retries: 3 });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`zk probe: cannot connect to ${connectString}`)), 15_000);
    client.once('connected', () => (clearTimeout(t), resolve()));
    client.connect();
  });
  const cb = <T>(fn: (done: (err: Error | null, v?: T) => void) => void) => bounded(new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T)))));
  return {
    async get(path) {
      try {
        return await bounded(
          new Promise<ZnodeInfo>((resolve, reject) =>
            client.getData(path, (err: Error | null, data: Buffer | undefined, stat: Stat) => (err ? reject(err) : resolve({ data: data ?? Buffer.alloc(0), owner: hex(stat.ephemeralOwner), czxid: hex(stat.czxid), version: stat.version }))),
          ),
        );
      } catch (err) {
        if ((err as { code?: number }).code === zookeeper.Exception.NO_NODE) return null;
        throw err;
      }
    },
    children: (path) => cb<string[]>((done) => client.getChildren(path, (err: Error | null, c: string[]) => done(err, c))),
    async create(path, data, ephemeral = false) {
      await cb((done) => client.mkdirp(path.slice(0, path.lastIndexOf('/')) || '/', (err: Error | null) => done(err)));
      await cb((done) => client.create(path, Buffer.from(data), ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT, (err: Error | null) => done(err)));
    },
    set: (path, data) => cb((done) => client.setData(path, Buffer.from(data), -1, (err: Error | null) => done(err))),
    remove: (path) => cb((done) => client.remove(path, -1, (err: Error | null) => done(err))),
    sessionId: () => hex(client.getSessionId()),
    close: () => client.close(),
  };
}
