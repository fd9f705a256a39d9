/**
 * Side by side with the Python Lighthouse: for every example dir, the config its own generator
 * writes for the same inputs (test/fixtures/python-lighthouse/, see the README there) and ours,
 * section by section. Each difference allowed here is one row of the README's compatibility
 * table (named in the comments); any other difference fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderExample } from '../../../helpers/examples.js';

const FIXTURES = resolve(fileURLToPath(import.meta.url), '../../../../fixtures/python-lighthouse');

/** header line -> its directive lines (trimmed; comments and blank lines dropped), in order */
export function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (/^\s/.test(raw)) {
      assert.ok(current, `a directive outside any section: ${raw}`);
      current.push(line.replace(/\s+/g, ' '));
    } else {
      current = [];
      out.set(line, current);
    }
  }
  return out;
}

/** lines where the Python input had to be adapted (fixtures README): theirs -> what ours took */
const ADAPTED: Record<string, Record<string, string>> = {
  features: { 'timeout client 30000': 'timeout client 30s' }, // "stats page": HAProxy times
};

const sorted = (xs: readonly string[]) => [...xs].sort();
const without = (xs: readonly string[], drop: RegExp[]) => xs.filter((l) => !drop.some((re) => re.test(l)));

/** The Python sections as ours writes them, by the rows of the compatibility table. */
function expected(python: Map<string, string[]>, bindAddress: string | undefined, adapted: Record<string, string> = {}): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [header, given] of python) {
    const lines = given.map((l) => adapted[l] ?? l);
    const stats = /^listen stats :(\d+)$/.exec(header);
    if (stats) {
      // "stats page": `listen stats` + a bind line, every interface unless bind_address is set
      out.set('listen stats', [`bind ${bindAddress ?? ''}:${stats[1]}`, ...lines]);
    } else if (header === 'global') {
      // "global": the Lighthouse lines are ours (compared apart)
      out.set(header, without(lines, [/^stats socket /, /^stats timeout 2m$/]));
    } else if (header.startsWith('frontend ')) {
      // "frontends without bind_address": loopback
      out.set(header, lines.map((l) => l.replace(/^bind :(\d+)$/, `bind 127.0.0.1:$1`)));
    } else {
      out.set(header, lines);
    }
  }
  return out;
}

describe('side by side with the Python Lighthouse', () => {
  const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.cfg')).map((f) => f.slice(0, -4)).sort();

  it('has the Python output of every example dir', () => {
    assert.deepEqual(names, ['cache', 'client', 'features', 'multiapp', 'partner-proxy', 'sprockets', 'webapp', 'widgets']);
  });

  for (const name of names) {
    it(`${name}: every difference is one the README explains`, async () => {
      const { snap, text } = await renderExample(name);
      const bindAddress = (snap.balancers.get('haproxy') as { bind_address?: string }).bind_address;
      const want = expected(sections(readFileSync(join(FIXTURES, `${name}.cfg`), 'utf8')), bindAddress, ADAPTED[name]);
      const got = sections(text);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same sections');

      for (const [header, lines] of got) {
        const theirs = want.get(header)!;
        if (header === 'global') {
          // "global": our socket line (absolute path, expose-fd), stats timeout, state file first
          assert.match(lines[0], /^stats socket \/\S+ mode 600 level admin expose-fd listeners$/);
          assert.deepEqual(lines.slice(1, 3), ['stats timeout 2m', lines[2]]);
          assert.match(lines[2], /^server-state-file \/\S+$/);
          assert.deepEqual(lines.slice(3), theirs, 'the user lines, in order');
        } else if (header === 'defaults') {
          // "defaults": the state file loaded; idle-close for mode http on HAProxy >= 2.6
          assert.deepEqual(without(lines, [/^load-server-state-from-file global$/, /^option idle-close-on-response$/]), theirs);
          assert.ok(lines.includes('load-server-state-from-file global'), 'server state is loaded from the global file');
        } else if (header.startsWith('backend ')) {
          // "backends": the same lines and servers, plus the free slots
          assert.deepEqual(without(lines, [/^server-template lh_slot 1-\d+ 0\.0\.0\.0:0( .*)? disabled$/]), theirs);
          assert.equal(lines.length, theirs.length + 1, 'one slot line');
        } else {
          // "frontend line order", "peers sections", stats: the same lines, our order
          assert.deepEqual(sorted(lines), sorted(theirs), header);
        }
      }
    });
  }
});
