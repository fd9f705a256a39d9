/**
 * The session manager's own clock, with a fake client and a fake clock: ping at 1/3 of the
 * timeout, reconnect at 2/3, and at 3/3 reconnect to the same session until a server says it
 * expired -- the cases node-zookeeper-client never reports.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { FakeClock } from '../../../src/core/clock.js';
import { LighthouseError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ZkSession } from '../../../src/discovery/zookeeper/session.js';
import type { ZkClient } from '../../../src/discovery/zookeeper/zk-client.js';

class FakeClient extends EventEmitter {
  pings: ((err: null, stat: null) => void)[] = [];
  drops = 0;
  closed = false;
  connectionManager = { state: 2, socket: { destroy: () => void this.drops++ } };
  constructor(readonly id: Buffer) {
    super();
  }
  connect() {}
  close() {
    this.closed = true;
  }
  getSessionId() {
    return this.id;
  }
  getSessionTimeout() {
    return 3000;
  }
  exists(_p: string, _w: unknown, cb: (err: null, stat: null) => void) {
    this.pings.push(cb);
  }
  reads: ((err: null, data: Buffer, stat: null) => void)[] = [];
  getData(_p: string, _w: unknown, cb: (err: null, data: Buffer, stat: null) => void) {
    this.reads.push(cb);
  }
}

function setup() {
  const clock = new FakeClock();
  const clients: FakeClient[] = [];
  const session = new ZkSession({
    hosts: ['zk:2181'],
    sessionTimeout: 10_000,
    connectTimeout: 5_000,
    logger: silentLogger(),
    clock,
    createClient: () => {
      const c = new FakeClient(Buffer.from([0, 0, 0, 0, 0, 0, 0, clients.length + 1]));
      clients.push(c);
      return c as unknown as ZkClient;
    },
  });
  const events: string[] = [];
  session.on('session', (id) => events.push(`session ${id}`));
  session.on('connected', () => events.push('connected'));
  session.on('disconnected', () => events.push('disconnected'));
  session.on('expired', (id) => events.push(`expired ${id}`));
  const tick = () => new Promise((r) => setImmediate(r));
  return { clock, clients, session, events, tick };
}

describe('ZkSession', () => {
  it('pings when idle, drops a silent connection, declares the session lost after the negotiated timeout', async () => {
    const { clock, clients, session, events, tick } = setup();
    const started = session.start();
    clients[0].emit('connected');
    await started;
    assert.deepEqual(events, ['session 0000000000000001']);
    assert.equal(session.timeout, 3000, 'the negotiated timeout, not the requested one');

    clock.advance(1000); // 1/3: ping
    assert.equal(clients[0].pings.length, 1);
    clients[0].pings[0](null, null); // answered: contact at t=1000
    clock.advance(1500);
    assert.equal(clients[0].drops, 0, 'contact 1.5 s ago: no reconnect yet');
    clock.advance(600); // 2.1 s since contact > 2/3
    assert.equal(clients[0].drops, 1, 'silent server: drop the connection, keep the session');
    assert.equal(clients.length, 1);

    clock.advance(900); // 3 s since contact: silent for the whole timeout
    assert.deepEqual(events.slice(1), ['disconnected']);
    assert.equal(session.connected, false);
    assert.equal(session.sessionId, '0000000000000001', 'the session is kept until a server says it expired');
    assert.equal(clients.length, 1, 'no new session on our own verdict');
    assert.equal(clients[0].drops, 2, 'reconnecting, with the same session (the library sends its id and password)');
    clock.advance(3000); // no handshake within the session timeout: dropped again
    assert.equal(clients[0].drops, 3);
    assert.equal(clients.length, 1);

    clients[0].emit('expired'); // a server answered: the session expired; now a new one
    assert.deepEqual(events.slice(2), ['expired 0000000000000001']);
    assert.equal(session.sessionId, null);
    assert.equal(clients.length, 2);
    assert.equal(clients[0].closed, false, 'no closeSession');
    assert.equal(clients[0].connectionManager.state, -1, 'CLOSING: the library will not reconnect it');
    await tick();
    assert.ok(clients[0].drops >= 4, 'its socket is dropped');

    clients[1].emit('connected');
    await tick();
    assert.deepEqual(events.slice(3), ['session 0000000000000002']);
  });

  it('silent past the timeout, then a server answers with the session: it goes on, no new session', async () => {
    const { clock, clients, session, events, tick } = setup();
    const started = session.start();
    clients[0].emit('connected');
    await started;
    clock.advance(3000); // nothing heard for the whole timeout (pings unanswered)
    assert.equal(session.connected, false);
    clients[0].emit('connected'); // the reconnect with the same session id is accepted
    await tick();
    assert.deepEqual(events, ['session 0000000000000001', 'disconnected', 'connected']);
    assert.equal(session.sessionId, '0000000000000001');
    assert.equal(clients.length, 1);
    const drops = clients[0].drops;
    for (let i = 0; i < 20; i++) {
      clock.advance(500); // pings answered: the handshake watch is over, nothing is dropped
      for (const p of clients[0].pings.splice(0)) p(null, null);
    }
    assert.equal(clients[0].drops, drops);
    assert.equal(session.connected, true);
  });

  it('pings while a long stream of answers arrives: the server only counts what it receives', async () => {
    const { clock, clients, session, events } = setup();
    const started = session.start();
    clients[0].emit('connected');
    await started;
    const reads = Array.from({ length: 60 }, (_, i) => session.getData(`/c/${i}`)); // all sent at t=0
    // answered one every 100 ms for 6 s, two timeouts: contact never stops, sending does
    for (let i = 0; i < 60; i++) {
      clock.advance(100);
      clients[0].reads[i](null, Buffer.alloc(0), null);
    }
    await Promise.all(reads);
    assert.ok(clients[0].pings.length >= 5, `a ping every 1/3 of the timeout after the last request sent (got ${clients[0].pings.length} in 6 s)`);
    assert.equal(clients[0].drops, 0, 'answers kept coming: no reconnect');
    assert.deepEqual(events, ['session 0000000000000001']);
  });

  it('a reconnect within the session is "connected", not a new session; pending operations fail on loss', async () => {
    const { clock, clients, session, events, tick } = setup();
    void session.start();
    clients[0].emit('connected');
    await tick();
    clients[0].emit('disconnected');
    clock.advance(2000);
    clients[0].emit('connected');
    await tick();
    assert.deepEqual(events, ['session 0000000000000001', 'disconnected', 'connected']);

    clients[0].emit('disconnected');
    const op = session.exists('/x'); // queued in the client, never answered
    clock.advance(3000);
    await assert.rejects(op, (err: unknown) => err instanceof LighthouseError && err.code === 'LH_ERR_ZK_SESSION' && err.message === 'exists /x: no contact for 3000 ms');
    assert.equal(events.at(-1), 'disconnected', 'not expired: only a server says so');

    const op2 = session.exists('/y');
    clients[0].emit('expired');
    await assert.rejects(op2, (err: unknown) => err instanceof LighthouseError && err.code === 'LH_ERR_ZK_SESSION' && err.message === 'exists /y: session 0000000000000001 lost');
    assert.equal(events.at(-1), 'expired 0000000000000001');
  });

  it("the server's own verdict (expired on reconnect) is handled the same way", async () => {
    const { clients, session, events, tick } = setup();
    void session.start();
    clients[0].emit('connected');
    await tick();
    clients[0].emit('expired');
    assert.equal(events.at(-1), 'expired 0000000000000001');
    assert.equal(clients.length, 2);
    clients[0].emit('connected'); // late events from the old client are ignored
    await tick();
    assert.equal(session.connected, false);
  });

  it('start() rejects after connect_timeout but keeps trying', async () => {
    const { clock, clients, session } = setup();
    const p = session.start();
    clock.advance(5000);
    await assert.rejects(p, /no ZooKeeper session with zk:2181 within 5000 ms/);
    clients[0].emit('connected');
    await session.start();
    assert.equal(session.connected, true);
  });
});
