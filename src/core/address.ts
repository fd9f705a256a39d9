/**
 * Validators for values that cross a trust boundary (znode data, config files) and end up as
 * one word of an HAProxy config line or runtime-API command. HAProxy's config is code: a
 * newline in an address is a new directive (`program` runs a command as HAProxy's user), a `;`
 * in a runtime command is a second command, a `#` comments out the rest of a line. So:
 *
 *  - addresses are parsed at the edge (the znode format, config schemas): an IP literal, or,
 *    where hostnames are allowed, a strict RFC 1123 host name; never an unspecified address;
 *  - names come from small alphabets (safe in every position HAProxy takes a name);
 *  - `token()` is the last line where a config line or command is built: it refuses any value
 *    that is not one printable word, so even a future bug cannot split a line or a command.
 *
 * All checks are O(length) string tests; they run once per value at decode time, and `token()`
 * once per model object built (not per render).
 */
import { BlockList, isIP } from 'node:net';
import { LighthouseError } from './errors.js';

/**
 * Unspecified addresses: "this host" to HAProxy and to Linux (a connect to 0.0.0.0 reaches
 * loopback), never a remote node. 0.0.0.0/8 is "this network" (RFC 1122), valid as a source
 * only. BlockList matches IPv4-mapped IPv6 (::ffff:0.0.0.0) against the IPv4 rule; it is slow
 * next to a string check, so it only sees the rare addresses that may be mapped ones. Built once and
 * never changed.
 */
const MAPPED_UNSPECIFIED = new BlockList();
MAPPED_UNSPECIFIED.addSubnet('0.0.0.0', 8, 'ipv4');

function unspecified(s: string, v: 4 | 6): boolean {
  if (v === 4) return s.startsWith('0.'); // isIP takes no leading zeros: exactly 0.0.0.0/8
  if (/^[0:.]*$/.test(s)) return true; // ::, 0:0::0, ::0.0.0.0
  return /ffff/i.test(s) && MAPPED_UNSPECIFIED.check(s, 'ipv6');
}

/** 4 or 6 for an IP literal naming one host, else 0: `net.isIP`, without a zone id
 * (`fe80::1%eth0`: the `%` and interface name are no address HAProxy takes) and not an
 * unspecified address. */
export function ipLiteral(s: string): 0 | 4 | 6 {
  const v = isIP(s);
  if (v === 0 || s.includes('%')) return 0;
  return unspecified(s, v as 4 | 6) ? 0 : (v as 4 | 6);
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A strict RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63
 * characters each, 253 in all, no trailing dot; the last label is not all digits (RFC 3696
 * 2), so `999.1.1.1` is neither an IP nor a host name.
 */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  for (const l of labels) if (!LABEL.test(l)) return false;
  return !/^\d+$/.test(labels[labels.length - 1]);
}

/** Why `s` is not a node address (null when it is): an IP literal, or a host name when
 * `hostnames` is true. Unspecified addresses (0.0.0.0, ::) are refused either way. */
export function addressProblem(s: unknown, hostnames: boolean): string | null {
  if (typeof s !== 'string' || s === '') return 'is not a non-empty string';
  if (ipLiteral(s)) return null;
  if (isIP(s) && !s.includes('%')) return `is an unspecified address (${s}), "this host" to HAProxy`;
  if (hostnames && isHostname(s)) return null;
  return `is not an IP address${hostnames ? ' or an RFC 1123 host name' : ''} (${excerpt(s)})`;
}

/** Why `s` is not a host (a node's `host`, a name): an IP literal or an RFC 1123 host name. */
export function hostProblem(s: unknown): string | null {
  return addressProblem(s, true);
}

/** HAProxy proxy, server and peer names: letters, digits and `_ . : -` (HAProxy's own
 * invalid_char() set), 1-255 characters. */
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;
export function isHaproxyName(s: unknown): s is string {
  return typeof s === 'string' && HAPROXY_NAME.test(s);
}

/**
 * Words that are data, not names HAProxy parses (a znode's own name, label keys and values):
 * letters, digits and `_ . : - @ / + =`, at most 255 characters. Nothing that breaks a word,
 * a line, a shell word or a log line. `empty`: the empty string passes (a label value).
 */
const SAFE_WORD = /^[A-Za-z0-9_.:@/+=-]*$/;
export function isSafeWord(s: unknown, empty = false): s is string {
  return typeof s === 'string' && s.length <= 255 && (empty || s.length > 0) && SAFE_WORD.test(s);
}

/** One printable word: no whitespace, no control or non-ASCII character, no `;` (a second
 * runtime command) and no `#` (a comment in HAProxy's config). */
const TOKEN = /^[!-"$-:<-~]+$/;
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Where a single word of a config line or a runtime command is expected, `s` if it is one;
 * otherwise LH_ERR_UNSAFE_VALUE (a bug: every such value was validated where it came in). */
export function token(s: string, what: string): string {
  if (typeof s !== 'string' || !TOKEN.test(s)) {
    throw new LighthouseError('LH_ERR_UNSAFE_VALUE', `refusing ${what} ${excerpt(String(s))}: not a single printable word (no whitespace, ';', '#' or control characters)`);
  }
  return s;
}

/** `n` where an integer min..max is expected (a port, a weight); otherwise LH_ERR_UNSAFE_VALUE,
 * as `token`. */
export function integer(n: number, min: number, max: number, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new LighthouseError('LH_ERR_UNSAFE_VALUE', `refusing ${what} ${excerpt(String(n))}: not an integer ${min}-${max}`);
  }
  return n;
}

/** A runtime-API command as one line: no line break, `;` or control character anywhere. */
const COMMAND = /^[\x20-\x3a\x3c-\x7e]+$/;
export function isSafeCommand(c: string): boolean {
  return COMMAND.test(c);
}

/** `s` quoted for a message: JSON-escaped (control characters visible), at most ~60 chars. */
export function excerpt(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}
