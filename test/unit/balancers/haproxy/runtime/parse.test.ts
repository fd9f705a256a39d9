import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminMode, filterServersState, formatServersState, infoField, parseInfo, parseServersState, parseStat, replyError } from '../../../../../src/balancers/haproxy/runtime/parse.js';
import { parseShowProc } from '../../../../../src/balancers/haproxy/process/process.js';

// captured from HAProxy 2.6.12
const STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 b1 1 a:1 127.0.0.1 2 8 7 1 0 1 0 2 0 0 0 0 - 19001 - 0 0 - - 0
3 b1 2 lh_slot1 127.0.0.1 2 4 1 1 0 1 0 0 8 0 0 0 - 19002 - 0 0 - - 0
3 b1 3 lh_slot2 0.0.0.0 0 5 1 1 10 1 0 0 8 0 0 0 - 0 - 0 0 - - 0
`;

describe('runtime API parsers', () => {
  it('parses show servers state by its header', () => {
    const s = parseServersState(STATE);
    assert.equal(s.version, '1');
    assert.equal(s.rows.length, 3);
    assert.deepEqual(
      s.rows.map((r) => [r.backend, r.name, r.addr, r.port, r.opState, r.adminState, r.uweight, r.iweight]),
      [
        ['b1', 'a:1', '127.0.0.1', 19001, 2, 8, 7, 1],
        ['b1', 'lh_slot1', '127.0.0.1', 19002, 2, 4, 1, 1],
        ['b1', 'lh_slot2', '0.0.0.0', 0, 0, 5, 1, 1],
      ],
    );
    assert.deepEqual(s.rows.map((r) => adminMode(r.adminState)), ['drain', 'up', 'maint'], 'CMAINT alone (disabled in config, set ready since) is up');
    assert.equal(formatServersState(s, s.rows.slice(0, 1)), STATE.split('\n').slice(0, 3).join('\n') + '\n');
    assert.deepEqual(parseServersState('').rows, []);
    const loose = parseServersState(STATE.replace(/ (?=3 b1 1 )/, '').replace('3 b1 1 a:1', '  3\tb1  1 a:1').replace(/\n/g, '\r\n'), { raw: false });
    assert.deepEqual(loose.rows.map((r) => [r.backend, r.name, r.port, r.adminState, r.raw]), s.rows.map((r) => [r.backend, r.name, r.port, r.adminState, '']), 'runs of blanks, tabs, CRLF');
    assert.equal(loose.rows[0].backend, loose.rows[2].backend);
    const seen: string[] = [];
    const f = filterServersState(STATE, (be, name, addr, port) => (seen.push(`${be}/${name}@${addr}:${port}`), name !== 'lh_slot1'));
    assert.deepEqual(seen, ['b1/a:1@127.0.0.1:19001', 'b1/lh_slot1@127.0.0.1:19002', 'b1/lh_slot2@0.0.0.0:0']);
    assert.deepEqual(f, { text: formatServersState(s, [s.rows[0], s.rows[2]]), kept: 2 });
  });

  it('parses show info and show stat', () => {
    const info = parseInfo('Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 7557\nStopping: 1\n');
    assert.equal(info.Version, '2.6.12-1+deb12u4');
    assert.equal(info.Pid, '7557');
    assert.equal(info.Stopping, '1');
    const text = 'Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 7557\nStopping: 1\n';
    assert.deepEqual(['Name', 'Pid', 'Stopping', 'Nope', 'Stop'].map((k) => infoField(text, k)), ['HAProxy', '7557', '1', undefined, undefined]);
    assert.equal(infoField('Pid: 5', 'Pid'), '5');
    const stat = parseStat('# pxname,svname,qcur,status,\nweb,FRONTEND,,OPEN,\nweb,a:1,0,UP,\n');
    assert.deepEqual(stat[1], { pxname: 'web', svname: 'a:1', qcur: '0', status: 'UP' });
  });

  it('tells errors from success replies', () => {
    assert.equal(replyError('set server b/s state ready', ''), null);
    assert.equal(replyError('set server b/x state ready', 'No such server.\n'), 'No such server.');
    assert.equal(replyError('set server b/s addr 10.0.0.1 port 80', "IP changed from '0.0.0.0' to '10.0.0.1', port changed from '+0' to '80' by 'stats socket command'\n"), null);
    assert.equal(replyError('set server b/s addr 10.0.0.1 port 80', 'No such server.\n'), 'No such server.');
    assert.equal(replyError('set server b/s weight 300', 'Integer out of range.\n'), 'Integer out of range.');
    assert.equal(replyError('show servers state', '1\n# be_id\n'), null);
    assert.equal(replyError('show servers state nope', "Can't find backend.\n"), "Can't find backend.");
    assert.match(replyError('bogus', 'Unknown command, but maybe one of the following ones is a better match:\n  help\n') ?? '', /^Unknown command/);
  });

  it('parses show proc of the master', () => {
    const p = parseShowProc(
      '#<PID>          <type>          <reloads>       <uptime>        <version>      \n' +
        '7406            master          1 [failed: 0]   0d00h00m12s     2.6.12-1+deb12u4\n# workers\n' +
        '7557            worker          0               0d00h00m00s     2.6.12-1+deb12u4\n# old workers\n' +
        '7407            worker          1               0d00h00m12s     2.6.12-1+deb12u4\n# programs\n\n',
    );
    assert.deepEqual(p, { masterPid: 7406, reloads: 1, failed: 0, workers: [7557], oldWorkers: [7407] });
    assert.equal(parseShowProc(''), null);
  });
});
