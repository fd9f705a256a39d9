/**
 * Counting the connections a drain waits for: the kernel's table parsed, this process's own
 * connections (health checks) left out, on the real /proc of this machine as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { countOpen, hexAddress, openConnections, parseProcNetTcp } from '../../../src/control/drain.js';
import { waitFor } from '../../helpers/wait.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F90 0200007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 3001 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:1F90 0200007F:C001 06 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
   5: 0100007F:1F91 0200007F:C002 01 00000000:00000000 00:00000000 00000000     0        0 3002 1 0000000000000000 20 4 30 10 -1
`;
// a dual-stack server's end: our (IPv4) check connection seen from the service, in tcp6
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D432 01 00000000:00000000 00:00000000 00000000     0        0 4001 1 0000000000000000 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:D432 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4002 1 0000000000000000 20 4 30 10 -1
   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:E000 01 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000000000000 20 4 30 10 -1
`;

test('addresses as the kernel prints them: IPv4, IPv4-mapped IPv6 as IPv4, IPv6', () => {
  assert.equal(hexAddress('0100007F'), '127.0.0.1');
  assert.equal(hexAddress('0000000000000000FFFF00000100007F'), '127.0.0.1');
  assert.equal(hexAddress('00000000000000000000000001000000'), '::1');
  assert.equal(hexAddress('B80D0120000000000000000001000000'), '2001:db8::1');
});

test('rows parsed: ports, state, inode', () => {
  const rows = parseProcNetTcp(TCP);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[1], { local: '127.0.0.1', localPort: 0xd431, remote: '127.0.0.1', remotePort: 8080, state: 1, inode: 2001 });
});

test('ESTABLISHED on the ports only; a connection whose other end is ours is left out', () => {
  const rows = [...parseProcNetTcp(TCP), ...parseProcNetTcp(TCP6)];
  const all = openConnections(rows, new Set([8080]), new Set());
  // listening (0A) and TIME_WAIT (06) rows are not connections; port 8081 is not asked for;
  // our own client ends (local port 0xD431 / 0xD432) are not on 8080
  assert.deepEqual(all.map((c) => c.remote), ['127.0.0.1:54321', '127.0.0.2:49152', '127.0.0.1:54322', '[::1]:57344']);
  // our check connections: inode 2001 (tcp) and 4002 (its service end is in tcp6, mapped)
  const less = openConnections(rows, new Set([8080]), new Set([2001, 4002]));
  assert.deepEqual(less.map((c) => c.remote), ['127.0.0.2:49152', '[::1]:57344']);
  assert.deepEqual(less[0], { local: '127.0.0.1:8080', remote: '127.0.0.2:49152' });
});

/** a TCP server on a free port; `host` '::' listens dual-stack */
async function server(host: string): Promise<{ port: number; srv: Server; peers: Socket[] }> {
  const peers: Socket[] = [];
  const srv = createServer((s) => peers.push(s));
  await new Promise<void>((r) => srv.listen(0, host, r));
  return { port: (srv.address() as { port: number }).port, srv, peers };
}

test('on this machine: another process\'s connections count, this process\'s own do not', async () => {
  const { port, srv, peers } = await server('::');
  const mine: Socket[] = [];
  let child: ReturnType<typeof spawn> | undefined;
  try {
    // ours: like the reporter's keep-alive http check, to the very port being drained
    for (let i = 0; i < 2; i++) mine.push(connect(port, '127.0.0.1'));
    await waitFor(() => peers.length === 2, 'own connections accepted');
    assert.equal((await countOpen(new Set([port]))).length, 0, 'own connections are not waited for');
    // the other process connects only now, so that the two accepted above are ours
    child = spawn(process.execPath, ['-e', `const s = require('net').connect(${port}, '127.0.0.1'); s.on('connect', () => console.log('connected')); process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await waitFor(() => peers.length === 3, "the other process's connection accepted");
    const open = await countOpen(new Set([port]));
    assert.equal(open.length, 1, `one connection of another process: ${JSON.stringify(open)}`);
    assert.match(open[0].local, new RegExp(`:${port}$`));
    child.stdin!.end();
    await waitFor(async () => (await countOpen(new Set([port]))).length === 0, 'drained once it closed');
  } finally {
    child?.kill();
    for (const s of mine) s.destroy();
    for (const s of peers) s.destroy();
    srv.close();
  }
});
