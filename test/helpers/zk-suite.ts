/** A test file's ZooKeeper: started before its tests with an independent probe session, and
 * stopped after them, together with whatever the tests pushed onto `cleanup` (run in reverse). */
import { after, before } from 'node:test';
import { startZooKeeper, type ZkServer, type ZkServerOptions } from './zookeeper.js';
import { zkProbe, type ZkProbe } from './zk-probe.js';

export interface ZkSuite {
  readonly zk: ZkServer;
  /** replaceable: a test that expires the probe's session sets a new one */
  probe: ZkProbe;
  readonly cleanup: (() => unknown)[];
  /** Resolves once `zk` and `probe` are up. Node 20 runs a file's top-level before hooks side
   * by side, so a before hook of the file that needs ZooKeeper awaits this first. */
  ready(): Promise<void>;
}

export function useZooKeeper(opts: ZkServerOptions = { tickTime: 200 }): ZkSuite {
  let started!: { resolve: () => void; reject: (err: unknown) => void };
  const ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
  ready.catch(() => {}); // a failed start fails the before hook; a file need not await it
  const suite = { zk: undefined as unknown as ZkServer, probe: undefined as unknown as ZkProbe, cleanup: [] as (() => unknown)[], ready: () => ready };
  before(async () => {
    try {
      suite.zk = await startZooKeeper(opts);
      suite.probe = await zkProbe(suite.zk.connectString);
      started.resolve();
    } catch (err) {
      started.reject(err);
      throw err;
    }
  });
  after(async () => {
    for (const f of suite.cleanup.reverse()) await Promise.resolve().then(f).catch(() => {});
    suite.probe?.close();
    await suite.zk?.stop();
  });
  return suite;
}
