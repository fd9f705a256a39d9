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
}

export function useZooKeeper(opts: ZkServerOptions = { tickTime: 200 }): ZkSuite {
  const suite = { zk: undefined as unknown as ZkServer, probe: undefined as unknown as ZkProbe, cleanup: [] as (() => unknown)[] };
  before(async () => {
    suite.zk = await startZooKeeper(opts);
    suite.probe = await zkProbe(suite.zk.connectString);
  });
  after(async () => {
    for (const f of suite.cleanup.reverse()) await Promise.resolve().then(f).catch(() => {});
    suite.probe?.close();
    await suite.zk?.stop();
  });
  return suite;
}
