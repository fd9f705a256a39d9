/**
 * Every private of node-zookeeper-client that src/ uses (zk-internals.ts) is checked against the
 * installed library: its version, and each private's shape and effect, on a real client talking
 * to a scripted ZooKeeper server on loopback (in this process). An upgrade that changes any of
 * them fails here, not in production.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../../scripts/lib/wait.js';
import { ADD_WATCH_MODE, addWatch, onNotification } from '../../../src/discovery/zookeeper/add-watch.js';
import { createZkClient, type ZkClient } from '../../../src/discovery/zookeeper/zk-client.js';
import {
  CM_CLOSING, OP_SET_WATCHES, ZK_LIBRARY_VERSION, chrootOf, destroySocket, installedVersion, markClosing, type RawEvent,
} from '../../../src/discovery/zookeeper/zk-internals.js';

const require = createRequire(import.meta.url);

/** The connection manager as the test looks at it (the shapes zk-internals.ts relies on). */
interface Cm {
  pendingBuffer: unknown;
  state: unknown;
  socket?: unknown;
  chrootPath?: unknown;
  watcherManager?: { emit?: unknown };
  onSocketData?: unknown;
  onSocketClosed?: unknown;
  queue?: unknown;
}
const cmOf = (c: unknown) => (c as { connectionManager: Cm }).connectionManager;

function frame(body: Buffer): Buffer {
  const f = Buffer.alloc(4 + body.length);
  f.writeInt32BE(body.length, 0);
  body.copy(f, 4);
  return f;
}

/** A ZooKeeper server that answers the handshake and addWatch, and records what it gets. */
class ScriptedServer {
  readonly server = net.createServer((s) => this.accept(s));
  readonly connects: Buffer[] = []; // each connection's session id, as the client sent it
  readonly requests: { xid: number; type: number; body: Buffer }[] = [];
  closed = 0;
  private sock: net.Socket | null = null;

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  notify(type: number, path: string): void {
    const p = Buffer.from(path);
    const b = Buffer.alloc(4 + 8 + 4 + 4 + 4 + 4 + p.length);
    b.writeInt32BE(-1, 0); // XID_NOTIFICATION
    b.writeInt32BE(type, 16);
    b.writeInt32BE(3, 20); // SyncConnected
    b.writeInt32BE(p.length, 24);
    p.copy(b, 28);
    this.sock!.write(frame(b));
  }

  private accept(s: net.Socket): void {
    this.sock = s;
    let buf = Buffer.alloc(0);
    let first = true;
    s.on('close', () => this.closed++);
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const body = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + body.length);
        if (first) {
          first = false;
          this.connects.push(Buffer.from(body.subarray(16, 24))); // protocolVersion, lastZxid, timeOut, sessionId
          const r = Buffer.alloc(4 + 4 + 8 + 4 + 16);
          r.writeInt32BE(4000, 4);
          r.writeInt32BE(7, 12); // session id 7
          r.writeInt32BE(16, 16);
          s.write(frame(r));
          continue;
        }
        const xid = body.readInt32BE(0);
        const type = body.readInt32BE(4);
        this.requests.push({ xid, type, body: Buffer.from(body) });
        if (type === 106) {
          const r = Buffer.alloc(16);
          r.writeInt32BE(xid, 0);
          r.writeInt32BE(1, 8); // zxid 1
          s.write(frame(r));
        }
      }
    });
  }
}

describe('node-zookeeper-client internals (zk-internals.ts)', () => {
  const server = new ScriptedServer();
  let port = 0;
  const clients: ZkClient[] = [];
  before(async () => void (port = await server.listen()));
  after(async () => {
    for (const c of clients) c.close();
    for (const c of clients) destroySocket(c);
    await new Promise((r) => server.server.close(r));
  });

  it(`the installed library is the pinned version (${ZK_LIBRARY_VERSION})`, () => {
    assert.equal(installedVersion(), ZK_LIBRARY_VERSION, 'node-zookeeper-client was upgraded: re-check every private listed in zk-internals.ts, then update the pin');
  });

  it('the privates have the shapes zk-internals.ts uses', () => {
    const cmModule = require('node-zookeeper-client/lib/ConnectionManager.js') as { STATES: Record<string, number>; prototype: Record<string, unknown> };
    const jute = require('node-zookeeper-client/lib/jute/index.js') as { OP_CODES: Record<string, number> };
    assert.equal(cmModule.STATES.CLOSING, CM_CLOSING, 'STATES.CLOSING');
    assert.equal(jute.OP_CODES.SET_WATCHES, OP_SET_WATCHES, 'OP_CODES.SET_WATCHES');
    // the handlers are bound when a socket opens, so replacing them on the instance covers every connection
    const connect = String(cmModule.prototype.connect);
    assert.match(connect, /self\.onSocketData\.bind\(self\)/, 'onSocketData bound at connect');
    assert.match(connect, /self\.onSocketClosed\.bind\(self\)/, 'onSocketClosed bound at connect');
    // a SET_WATCHES reply is decoded as a bare header (addWatch's request says SET_WATCHES)
    assert.match(String(cmModule.prototype.onSocketData), /case jute\.OP_CODES\.SET_WATCHES:\s*responsePayload = null;/, 'SET_WATCHES reply: header only');
    const zk = require('node-zookeeper-client') as { createClient(s: string, o: object): unknown };
    const cm = cmOf(zk.createClient(`127.0.0.1:${port}/root`, { sessionTimeout: 4000 }));
    assert.equal(cm.pendingBuffer, null, 'pendingBuffer');
    assert.equal(typeof cm.state, 'number', 'state');
    assert.equal(cm.chrootPath, '/root', 'chrootPath');
    for (const f of ['onSocketData', 'onSocketClosed', 'queue'] as const) assert.equal(typeof cm[f], 'function', f);
    assert.equal(typeof cm.watcherManager?.emit, 'function', 'watcherManager.emit');
  });

  it('on a real client: framing guard, chroot, addWatch through the queue, notifications, dropping and abandoning a connection', async () => {
    const errors: Error[] = [];
    const c = createZkClient(`127.0.0.1:${port}/root`, 4000, 50, (e) => errors.push(e));
    clients.push(c);
    const events: RawEvent[] = [];
    onNotification(c, (e) => events.push(e));
    let connected = 0;
    c.on('connected', () => connected++);
    assert.ok(Object.hasOwn(cmOf(c), 'onSocketData') && Object.hasOwn(cmOf(c), 'onSocketClosed'), 'the framing guard is installed');
    c.connect();
    // the handshake's reply went through the framing guard's handlers into the library's
    await waitFor(() => connected === 1, 'connected');
    assert.equal(chrootOf(c), '/root');

    const err = await new Promise<Error | null>((r) => addWatch(c, '/svc', ADD_WATCH_MODE.PERSISTENT_RECURSIVE, r));
    assert.equal(err, null, 'addWatch answered');
    const req = server.requests.find((q) => q.type === 106)!;
    assert.ok(req, 'addWatch sent with its own op code');
    const len = req.body.readInt32BE(8);
    assert.equal(req.body.subarray(12, 12 + len).toString(), '/root/svc', 'the path under the chroot');
    assert.equal(req.body.readInt32BE(12 + len), ADD_WATCH_MODE.PERSISTENT_RECURSIVE, 'the mode');

    server.notify(1, '/root/svc/a:80'); // NODE_CREATED
    await waitFor(() => events.length === 1, 'the event');
    assert.deepEqual({ type: events[0].type, path: events[0].path }, { type: 1, path: '/svc/a:80' });

    destroySocket(c); // dropped: the client reconnects with its session
    await waitFor(() => server.connects.length === 2 && connected === 2, 'reconnected');
    assert.equal(server.connects[1].readInt32BE(4), 7, 'the same session id');

    const closedBefore = server.closed;
    markClosing(c);
    destroySocket(c); // in CLOSING a closed socket is not reconnected
    await waitFor(() => server.closed > closedBefore, 'closed');
    await waitFor(() => cmOf(c).state === -2, 'the client CLOSED (STATES.CLOSED)');
    assert.equal(server.connects.length, 2, 'no new connection');
    assert.deepEqual(errors, [], 'no frame refused');
  });
});
