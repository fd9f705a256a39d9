/**
 * Which nodes an action goes to: names and host lists (`node01,node02`, `node[01-10]`,
 * `web[1-3,7].example.com`, as pdsh and genders write them), matched against the inventory by
 * full name or, when unique, by the name's first label (`node01` for node01.example.com).
 */
import { LighthouseError } from '../../core/errors.js';
import type { NodeRecord } from '../../core/node-record.js';

/** a range may name at most this many nodes: a typo (`[1-100000]`) is not a plan */
export const MAX_EXPANSION = 10_000;

const usage = (message: string) => new LighthouseError('LH_ERR_USAGE', message);

/** `a[01-03]b,c` -> a01b a02b a03b c (zero padding kept; several bracket groups multiply). */
export function expandHostList(list: string): string[] {
  const out: string[] = [];
  for (const item of splitTop(list)) {
    if (!item) continue;
    for (const name of expandOne(item)) {
      out.push(name);
      if (out.length > MAX_EXPANSION) throw usage(`'${list}' names more than ${MAX_EXPANSION} nodes`);
    }
  }
  return [...new Set(out)];
}

/** split on commas outside brackets */
function splitTop(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (depth < 0 || depth > 1) throw usage(`unbalanced brackets in '${list}'`);
    if (ch === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) throw usage(`unbalanced brackets in '${list}'`);
  parts.push(cur.trim());
  return parts;
}

function expandOne(item: string): string[] {
  const m = /^([^[\]]*)\[([^\]]*)\](.*)$/.exec(item);
  if (!m) return [item];
  const [, prefix, body, rest] = m;
  const values: string[] = [];
  for (const part of body.split(',')) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!r) throw usage(`'[${body}]' in '${item}': expected numbers and ranges such as [01-10,15]`);
    const [a, b] = [r[1], r[2] ?? r[1]];
    const lo = Number(a);
    const hi = Number(b);
    if (hi < lo) throw usage(`'${part}' in '${item}': a range goes up`);
    if (hi - lo + 1 > MAX_EXPANSION) throw usage(`'[${body}]' names more than ${MAX_EXPANSION} nodes`);
    const width = a.length > 1 && a.startsWith('0') ? a.length : 0;
    for (let i = lo; i <= hi; i++) values.push(String(i).padStart(width, '0'));
  }
  const tails = expandOne(rest);
  const out: string[] = [];
  for (const v of values) {
    for (const t of tails) {
      out.push(`${prefix}${v}${t}`);
      if (out.length > MAX_EXPANSION) throw usage(`'${item}' names more than ${MAX_EXPANSION} nodes`);
    }
  }
  return out;
}

export interface Resolved {
  nodes: NodeRecord[];
  /** names asked for that the inventory does not hold (or holds more than one of) */
  missing: { name: string; why: string }[];
}

/** Match `names` against the inventory, in the order asked. */
export function resolveNames(names: readonly string[], inventory: readonly NodeRecord[]): Resolved {
  const byName = new Map(inventory.map((n) => [n.name, n]));
  const nodes: NodeRecord[] = [];
  const missing: Resolved['missing'] = [];
  for (const name of names) {
    let node = byName.get(name);
    if (!node) {
      const short = inventory.filter((n) => n.name.split('.')[0] === name);
      if (short.length > 1) {
        missing.push({ name, why: `ambiguous: ${short.map((n) => n.name).join(', ')}` });
        continue;
      }
      node = short[0];
    }
    if (!node) missing.push({ name, why: 'not in the node inventory (no reporter publishes it: is it running?)' });
    else if (!nodes.includes(node)) nodes.push(node);
  }
  return { nodes, missing };
}
