/**
 * fast-template.ts against Handlebars itself (noEscape, strict, as render.ts compiles): every
 * construct of the subset, on contexts that take each branch, must give the same bytes, and
 * throw where Handlebars throws. Constructs outside the subset must be refused (null).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type HandlebarsType from 'handlebars';
import { compileFast, type RenderFn } from '../../../../../src/balancers/haproxy/config/fast-template.js';

const Handlebars = createRequire(import.meta.url)('handlebars') as typeof HandlebarsType;

/** Both renderers of `source` with `partials` registered in each. */
function both(source: string, partials: Record<string, string> = {}) {
  const hb = Handlebars.create();
  for (const [name, src] of Object.entries(partials)) hb.registerPartial(name, hb.compile(src, { noEscape: true, strict: true }));
  const helpers = new Set(Object.keys(hb.helpers));
  const known = new Set(Object.keys(partials));
  const fastPartials = new Map<string, RenderFn>();
  const fast = (src: string) => compileFast(hb.parse(src), known, helpers, (name) => fastPartials.get(name)!);
  for (const [name, src] of Object.entries(partials)) {
    const f = fast(src);
    assert.ok(f, `partial ${name} is in the subset`);
    fastPartials.set(name, f.render);
  }
  return { fast: fast(source), slow: hb.compile(source, { noEscape: true, strict: true }) };
}

/** Same output, or both throw (the message naming the same missing field). */
function same(source: string, contexts: unknown[], partials: Record<string, string> = {}): void {
  const { fast, slow } = both(source, partials);
  assert.ok(fast, `in the subset: ${source}`);
  for (const ctx of contexts) {
    let want: string | Error;
    try {
      want = slow(ctx);
    } catch (err) {
      want = err as Error;
    }
    if (want instanceof Error) {
      assert.throws(() => fast.render(ctx), (err: Error) => {
        const field = /"([^"]+)" not defined/.exec(want.message)?.[1];
        return field === undefined || err.message.includes(`"${field}" not defined`);
      }, `${source} with ${JSON.stringify(ctx)} throws like Handlebars: ${want.message}`);
    } else {
      assert.equal(fast.render(ctx), want, `${source} with ${JSON.stringify(ctx)}`);
    }
  }
}

const proto = Object.create({ inherited: 'from the prototype' }) as Record<string, unknown>;
proto.own = 'own';

describe('fast templates give the bytes Handlebars gives', () => {
  it('text, comments, and characters that mean something in generated code', () => {
    same('plain `backtick` ${not a field} \\ "quote" \'apos\'\nline 2\u2028\n{{!-- gone --}}{{! gone too }}end', [{}]);
  });

  it('paths: one and several segments, this, ., literal segments, missing ones (strict)', () => {
    const ctx = { a: 'A', b: { c: 'C', d: { e: 0 } }, n: null, u: undefined, z: 0, f: false, 'we"ird`${x}': 'W', arr: ['x', 'y'] };
    for (const src of ['{{a}}', '{{{a}}}', '{{b.c}}', '{{b.d.e}}', '{{n}}|{{u}}|{{z}}|{{f}}', '{{[we"ird`${x}]}}', '{{arr.[1]}}', '{{arr.length}}']) same(src, [ctx]);
    same('{{this}}', ['text', 5, 0, null]);
    same('{{.}}', ['dot']);
    same('{{missing}}', [ctx, {}]);
    same('{{b.missing}}', [ctx]);
    same('{{nope.c}}', [ctx]);
    same('{{own}}|{{inherited}}', [proto]);
    // keys Object.prototype has are never taken from it; a null-prototype object's own keys are
    // printed (plain objects are checked by their prototype, others key by key)
    same('{{toString}}|{{valueOf}}|{{hasOwnProperty}}|{{b.toString}}', [ctx, {}]);
    same('{{#if toString}}Y{{else}}N{{/if}}{{#each valueOf}}x{{/each}}', [{}]);
    same('{{a}}|{{b.c}}|{{#if a}}Y{{/if}}', [Object.assign(Object.create(null), { a: 'A', b: Object.assign(Object.create(null), { c: 'C' }) })]);
  });

  it('a function value is called with the context', () => {
    same('{{greet}}', [{ who: 'you', greet(this: { who: string }) { return `hi ${this.who}`; } }]);
    same('{{#if check}}yes{{else}}no{{/if}}', [{ check: () => true }, { check: () => 0 }]);
  });

  it('if / unless, with else and includeZero, on every kind of value', () => {
    const values = [true, false, 0, 1, '', 'x', null, undefined, [], [0], {}, { a: 1 }];
    const ctxs = values.map((v) => ({ v }));
    for (const src of ['{{#if v}}Y{{/if}}', '{{#if v}}Y{{else}}N{{/if}}', '{{#if v includeZero=true}}Y{{else}}N{{/if}}', '{{#unless v}}U{{else}}E{{/unless}}', '{{#unless v includeZero=true}}U{{/unless}}']) same(src, ctxs);
    same('{{#if a}}{{#if b}}ab{{else}}a{{/if}}{{else}}{{#unless b}}none{{/unless}}{{/if}}', [{ a: 1, b: 1 }, { a: 1, b: 0 }, { a: 0, b: 0 }, { a: 0, b: 1 }]);
  });

  it('each over arrays (holes skipped), objects, iterables, nothing; with else; nested', () => {
    const sparse = ['a', , 'c']; // eslint-disable-line no-sparse-arrays
    const src = '{{#each xs}}[{{this}}]{{else}}empty{{/each}}';
    same(src, [{ xs: ['a', 'b'] }, { xs: sparse }, { xs: { k: 1, j: 2 } }, { xs: new Set(['s', 't']) }, { xs: [] }, { xs: {} }, { xs: null }, {}, { xs: 'str' }]);
    same('{{#each rows}}{{name}}:{{#each cells}}{{.}},{{/each}};{{/each}}', [{ rows: [{ name: 'r1', cells: [1, 2] }, { name: 'r2', cells: [] }] }]);
    same('{{#each rows}}{{name}}{{/each}}', [{ rows: [{ name: 'ok' }, {}] }]);
  });

  it('partials: with and without an argument, indented standalone, nested', () => {
    const partials = { line: '{{name}} {{addr}}', block: 'one {{name}}\ntwo\n', outer: 'outer\n  {{> block}}\n' };
    const ctx = { name: 'n', addr: 'a:1', sub: { name: 's', addr: 'b:2' }, list: [{ name: 'x', addr: '1' }, { name: 'y', addr: '2' }] };
    same('{{> line}}|{{> line sub}}', [ctx], partials);
    same('head\n{{#each list}}\n  {{> line}}\n{{/each}}\ntail\n', [ctx], partials);
    same('start\n    {{> block}}\nend\n', [ctx], partials);
    same('{{> outer}}', [ctx], partials);
    same('x {{> block}} y', [ctx], partials);
    same('{{> line nothing}}', [ctx], partials);
  });

  it('indented standalone partials: every line of what they print, none when they print nothing', () => {
    const partials = {
      one: '{{a}}{{#if b}} b={{b}}{{/if}}',
      oneEnd: '{{a}} x\n',
      maybe: '{{#if a}}A{{/if}}',
      several: 'l1 {{a}}\nl2\n',
      inIf: '{{#if a}}x\ny{{/if}}',
      nested: '{{> one}}',
    };
    const ctxs = [{ a: 'v', b: 'w' }, { a: 'v\nw', b: 'p\nq\n' }, { a: '', b: '' }, { a: 5, b: 0 }, { a: 'end\n', b: null }, { a: '\n' }];
    same('head\n  {{> one}}\n  {{> oneEnd}}\n    {{> maybe}}\n  {{> several}}\n  {{> inIf}}\n   {{> nested}}\ntail\n', ctxs, partials);
    same('{{#each xs}}\n  {{> one}}\n{{/each}}', [{ xs: [{ a: 'x', b: 'y' }, { a: 'm\nn', b: 1 }, { a: 0, b: '' }] }], partials);
  });

  it('the shipped server line, on every field combination', () => {
    const src = 'server {{name}} {{address}}{{#if cookie}} cookie {{cookie}}{{/if}}{{#if options}} {{options}}{{/if}}{{#if weight includeZero=true}} weight {{weight}}{{/if}}{{#if disabled}} disabled{{/if}}';
    const base = { name: 'h:80', address: '10.0.0.1:80', cookie: null, options: '', weight: null, disabled: false };
    same(src, [base, { ...base, cookie: 'h:80', options: 'check', weight: 0, disabled: true }, { ...base, weight: 7 }, { name: 'x' }]);
  });
});

describe('fast templates refuse what is outside the subset', () => {
  for (const src of ['{{../up}}', '{{@index}}', '{{#each xs as |x|}}{{x}}{{/each}}', '{{lookup a "b"}}', '{{#with a}}{{b}}{{/with}}', '{{log "x"}}', '{{a "literal"}}', '{{#if a b}}{{/if}}', '{{> missing}}', '{{"str"}}']) {
    it(src, () => assert.equal(both(src).fast, null, `${src} runs through Handlebars`));
  }
});
