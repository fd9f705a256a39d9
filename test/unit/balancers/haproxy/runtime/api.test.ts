import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeApi } from '../../../../../src/balancers/haproxy/runtime/api.js';
import { LighthouseError } from '../../../../../src/core/errors.js';

/** A fake HAProxy CLI in prompt mode: reply + "\n> " per line, as 2.6 does. */
async function fakeCli(path: string, reply: (cmd: string, socket: Socket) => string | null): Promise<{ server: Server; connections: number }> {
  const state = { server: createServer(), connections: 0 };
  state.server.on('connection', (socket) => {
    state.connections++;
    let buf = '';
    socket.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const cmd = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (cmd === 'prompt') {
          socket.write('\n> ');
          continue;
        }
        const r = reply(cmd, socket);
        if (r === null) return; // the handler closed the connection
        socket.write((r ? r + '\n' : '') + '\n> ');
      }
    });
  });
  await new Promise<void>((r) => state.server.listen(path, r));
  return state;
}

describe('runtime API client', () => {
  it('pipelines a batch on one persistent connection, one reply per command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-rt-'));
    const path = join(dir, 'admin.sock');
    const received: string[] = [];
    const cli = await fakeCli(path, (cmd) => (received.push(cmd), cmd === 'set server b/x state ready' ? 'No such server.' : cmd.startsWith('show info') ? 'Pid: 42\nStopping: 0' : ''));
    const api = new RuntimeApi({ socketPath: path });
    try {
      const replies = await api.execute(['show info', 'set server b/s state ready', 'set server b/x state ready']);
      assert.deepEqual(replies, ['Pid: 42\nStopping: 0\n', '', 'No such server.\n']);
      assert.equal((await api.showInfo()).Pid, '42');
      await assert.rejects(api.run(['set server b/s state ready', 'set server b/x state ready']), (err: LighthouseError) => {
        assert.equal(err.code, 'LH_ERR_HAPROXY_SOCKET');
        assert.ok(err.message.includes(path), 'names the socket');
        assert.match(err.message, /'set server b\/x state ready': No such server\./);
        return true;
      });
      assert.equal(cli.connections, 1);
      await assert.rejects(api.execute(['set server a/b state ready\nshutdown']), /line break/);
      // nothing of a refused batch is sent: not one command more reaches the socket
      const before = received.length;
      for (const c of ['set server a/b state ready;shutdown sessions server a/b', 'show info\r', 'set server a/b addr 1.2.3.4\u0000']) {
        await assert.rejects(api.execute(['show info', c]), (err: LighthouseError) => err.code === 'LH_ERR_UNSAFE_VALUE' && err.message.includes(path), JSON.stringify(c));
      }
      assert.equal(received.length, before, 'nothing sent');
    } finally {
      api.close();
      cli.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reconnects after HAProxy closes the connection, retrying a batch cut short once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-rt-'));
    const path = join(dir, 'admin.sock');
    let cut = 1;
    const cli = await fakeCli(path, (cmd, socket) => {
      if (cmd === 'cut' && cut-- > 0) {
        socket.destroy();
        return null;
      }
      return '';
    });
    let closes = 0;
    const api = new RuntimeApi({ socketPath: path, onClose: () => closes++ });
    try {
      await api.execute(['set server b/s state ready']);
      assert.deepEqual(await api.execute(['cut', 'set server b/s state ready']), ['', '']);
      assert.equal(cli.connections, 2);
      assert.equal(closes, 1);
      cli.server.close();
      api.close();
      await assert.rejects(api.execute(['show info']), (err: LighthouseError) => err.code === 'LH_ERR_HAPROXY_SOCKET' && err.message.includes(path));
    } finally {
      api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads replies whatever the chunking: big ones, prompts split across chunks, several per chunk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lh-rt-'));
    const path = join(dir, 'admin.sock');
    const big = Array.from({ length: 20000 }, (_, i) => `row ${i} > x`).join('\n');
    const server = createServer((socket) => {
      socket.setEncoding('utf8').once('data', async () => {
        // prompt's reply, then: big reply in pieces, prompt split as "\n" | ">" | " ", then two
        // replies and the start of a third's prompt in one piece
        const pieces = ['\n> ', big.slice(0, 70000), big.slice(70000) + '\n', '>', ' one\n\n> two\n\n', '> ', 'three\n\n> '];
        for (const p of pieces) {
          socket.write(p);
          await new Promise((r) => setTimeout(r, 5));
        }
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    const api = new RuntimeApi({ socketPath: path });
    try {
      assert.deepEqual(await api.execute(['show servers state', 'a', 'b', 'c']), [big, 'one\n', 'two\n', 'three\n']);
    } finally {
      api.close();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
