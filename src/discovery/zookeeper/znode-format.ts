/**
 * The znode format: what a service instance's znode holds, compatible in both directions with
 * the Python Lighthouse. (ZooKeeper's own wire protocol is the library's, and framing.ts's.)
 *
 * One ephemeral znode per service instance at `PATH/SERVICE/HOST:PORT`. Its data is what Python's
 * `json.dumps(obj, sort_keys=True)` prints (separators ", " and ": ", non-ASCII as \uXXXX):
 *
 *   {"host": "app01.example.com", "ip": "10.0.0.5", "metadata": "{\"a\": \"x\"}",
 *    "peer": "{\"ip\": \"10.0.0.5\", \"name\": \"app01.example.com\", \"port\": 1024}", "port": 8080}
 *
 *  - `metadata` is itself a JSON *string* (json.dumps of the metadata dict, sorted keys), "{}" if none.
 *  - `peer` is a JSON *string* of {ip, name, port} (the reporter host, for HAProxy `peers`; port
 *    defaults to 1024). When a node has no peer the key is left out rather than written as null:
 *    the Python reader calls json.loads(peer) on whatever is there and a null would make it raise.
 *  - `weight` (0..256), `state` (up | drain | maint) and `labels` ({string: string}) are our
 *    additions, written only when set; Python readers ignore unknown keys.
 * We write exactly those bytes, so a Python writer and a Node writer see identical znodes.
 *
 * Reading is lenient where old writers differ:
 *  - Lighthouse: `port` and `ip` required; `host` defaults to `ip`; `peer` and `metadata` may be
 *    JSON strings or objects (or absent / null).
 *  - Nerve (SmartStack): {host, port, name, weight, labels} with no `ip`: `host` is an address, so
 *    it is both host and ip; `name` goes to metadata.name.
 * The node's name is always HOST:PORT from the data, as in Python's Node.name.
 *
 * Reading is strict where a value reaches HAProxy: anyone who can write under the discovery path
 * must not be able to write a line of haproxy.cfg or a runtime command. Every field is parsed
 * into a validated value here, once per znode data (src/core/address.ts); a znode with any
 * field refused throws LH_ERR_ZNODE naming it, and the watcher skips it (its siblings serve):
 *  - `ip`: an IPv4 / IPv6 literal (no zone id), never unspecified (0.0.0.0/8, ::): HAProxy
 *    takes those as "this host". The Python Lighthouse writes gethostbyname()'s answer here.
 *  - `host`: an IP literal or a strict RFC 1123 host name. In the Lighthouse format it only
 *    names the node (HOST:PORT, the server name); as Nerve's address it may be a host name:
 *    the one place a host name becomes a server address. The balancer knows it
 *    (BackendModel.hostnames): `set server addr` takes IPs only, so such a node is placed by a
 *    reload, and every file naming one is checked with `haproxy -c`.
 *  - `port` 1-65535 (an integer, or a string of digits); `weight` an integer 0-256; `state`
 *    up | drain | maint.
 *  - `peer`: `name` from HAProxy's name alphabet (letters, digits, `_ . : -`), `ip` an IP
 *    literal as above, `port` 1-65535 (default 1024). It reaches the `peers` section, on the
 *    membership-only write that skips `haproxy -c`.
 *  - `labels`: keys and values from a safe alphabet (letters, digits, `_ . : - @ / + =`).
 *  - the znode's own name (`child`): the same safe alphabet.
 *  - `metadata`: any JSON object, kept as data. It never reaches a template, a config line, a
 *    runtime command or a shell line: the render model (src/balancers/haproxy/config/render-model.ts) has no
 *    field for it, by design. A template that wants a node's attribute gets a validated field
 *    added to the model, not the metadata.
 */
import { addressProblem, excerpt, hostProblem, isHaproxyName, isSafeWord } from '../../core/address.js';
import { LighthouseError } from '../../core/errors.js';
import { DEFAULT_PEER_PORT, nodeName, type NodeState, type Peer, type ServiceNode } from '../../core/node.js';

export function encodeNode(node: ServiceNode): string {
  const obj: Record<string, unknown> = {
    host: node.host,
    ip: node.ip,
    port: node.port,
    metadata: pythonJsonDumps(node.metadata ?? {}),
  };
  if (node.peer) obj.peer = pythonJsonDumps({ ip: node.peer.ip, name: node.peer.name, port: node.peer.port });
  if (node.weight !== undefined) obj.weight = node.weight;
  if (node.state !== undefined) obj.state = node.state;
  if (node.labels !== undefined) obj.labels = node.labels;
  return pythonJsonDumps(obj);
}

const STATES: readonly NodeState[] = ['up', 'drain', 'maint'];

/** every node without metadata shares this one (frozen) object: a writer holds 50,000 nodes */
const NO_METADATA: Record<string, unknown> = Object.freeze({});

/** Parse a znode's data into a validated node (see the header); throws LH_ERR_ZNODE naming
 * `znodePath` and what is wrong. `child`, the znode's own name ("HOST:PORT" as Lighthouse names
 * it), is reused as the node's name when equal, as are `host` and `ip` for the peer's: one
 * string each, not three (a writer holds 50,000 of these). */
export function decodeNode(data: Buffer, znodePath: string, child?: string): ServiceNode {
  const bad = (what: string, cause?: unknown) =>
    new LighthouseError('LH_ERR_ZNODE', `znode ${znodePath}: ${what}`, cause ? { cause } : undefined);
  if (child !== undefined && !isSafeWord(child)) throw bad(`znode name ${excerpt(child)} has characters outside letters, digits and _ . : - @ / + =`);
  if (data.length === 0) throw bad('no data');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw bad(`data is not JSON (${(err as Error).message})`, err);
  }
  if (!isObject(parsed)) throw bad('data is not a JSON object');
  const d = parsed;

  const port = toPort(d.port);
  if (port === undefined) throw bad(`"port" missing or not a port number (${excerpt(JSON.stringify(d.port) ?? 'undefined')})`);
  const nerve = d.ip === undefined;
  const ip = nerve ? d.host : d.ip;
  if (typeof ip !== 'string' || ip === '') throw bad(nerve ? 'neither "ip" nor "host" is a non-empty string' : '"ip" is not a non-empty string');
  // Nerve's host is its address and may be a host name; Lighthouse's ip is an IP literal
  const ipProblem = addressProblem(ip, nerve);
  if (ipProblem) throw bad(`"${nerve ? 'host' : 'ip'}" ${ipProblem}`);
  if (!nerve && d.host !== undefined && d.host !== null && typeof d.host !== 'string') throw bad('"host" is not a string');
  const host = !nerve && typeof d.host === 'string' && d.host !== '' ? d.host : ip;
  const badHost = host === ip ? null : hostProblem(host);
  if (badHost) throw bad(`"host" ${badHost}`);

  let metadata = nested(d.metadata, 'metadata', bad) ?? NO_METADATA;
  if (metadata !== NO_METADATA && Object.keys(metadata).length === 0) metadata = NO_METADATA;
  if (nerve && typeof d.name === 'string') metadata = { ...metadata, name: d.name };
  const peerObj = nested(d.peer, 'peer', bad);
  const peer = peerObj ? toPeer(peerObj, bad) : null;
  if (peer && peer.ip === ip) peer.ip = ip;
  if (peer && peer.name === host) peer.name = host;
  const name = nodeName(host, port);

  let weight: number | undefined;
  if (d.weight !== undefined && d.weight !== null) {
    if (typeof d.weight !== 'number' || !Number.isInteger(d.weight) || d.weight < 0 || d.weight > 256) throw bad('"weight" is not an integer 0-256');
    weight = d.weight;
  }
  let state: NodeState | undefined;
  if (d.state !== undefined && d.state !== null) {
    if (!STATES.includes(d.state as NodeState)) throw bad(`"state" is not one of ${STATES.join(', ')}`);
    state = d.state as NodeState;
  }
  let labels: Record<string, string> | undefined;
  if (d.labels !== undefined && d.labels !== null) {
    if (!isObject(d.labels)) throw bad('"labels" is not a map of strings');
    for (const [k, v] of Object.entries(d.labels)) {
      if (!isSafeWord(k) || !isSafeWord(v, true)) throw bad(`"labels" entry ${excerpt(k)}: keys and values are strings of letters, digits and _ . : - @ / + =`);
    }
    labels = d.labels as Record<string, string>;
  }

  return {
    name: name === child ? child : name,
    host,
    ip,
    port,
    peer,
    metadata,
    ...(weight !== undefined && { weight }),
    ...(state !== undefined && { state }),
    ...(labels !== undefined && { labels }),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toPort(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** `metadata` / `peer`: a JSON string (Lighthouse) or an object; absent or null -> undefined. */
function nested(v: unknown, key: string, bad: (what: string, cause?: unknown) => Error): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch (err) {
      throw bad(`"${key}" is a string but not JSON (${(err as Error).message})`, err);
    }
  }
  if (!isObject(obj)) throw bad(`"${key}" is not a JSON object`);
  return obj;
}

function toPeer(p: Record<string, unknown>, bad: (what: string) => Error): Peer {
  if (typeof p.name !== 'string' || typeof p.ip !== 'string') throw bad('"peer" needs string "name" and "ip"');
  if (!isHaproxyName(p.name)) throw bad(`"peer.name" ${excerpt(p.name)} is not a peer name (letters, digits, _ . : -)`);
  const ipProblem = addressProblem(p.ip, false);
  if (ipProblem) throw bad(`"peer.ip" ${ipProblem}`);
  const port = p.port === undefined || p.port === null ? DEFAULT_PEER_PORT : toPort(p.port);
  if (port === undefined) throw bad('"peer.port" is not a port number');
  return { name: p.name, ip: p.ip, port };
}

/**
 * Python's json.dumps(value, sort_keys=True) with its defaults: ", " and ": " separators,
 * ensure_ascii (every char outside space..~ escaped, lowercase \uXXXX per UTF-16 unit), keys
 * sorted by code point, NaN/Infinity as Python prints them. JS has one number type: an integral
 * value prints as a Python int ("1"), anything else as Python's float repr ("0.5", "1e-05").
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return value.length ? `[${value.map(pythonJsonDumps).join(', ')}]` : '[]';
  if (typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort(byCodePoint);
    return `{${keys.map((k) => `${pyString(k)}: ${pythonJsonDumps((value as Record<string, unknown>)[k])}`).join(', ')}}`;
  }
  throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
}

function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** float.__repr__: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n)) return Object.is(n, -0) ? '0' : BigInt(n).toString();
  const [mant, expStr] = n.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp < 0) s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length > exp + 1) s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else s = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return neg ? `-${s}` : s;
}
