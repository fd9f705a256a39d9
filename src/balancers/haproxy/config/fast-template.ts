/**
 * A fast path for templates: the subset of Handlebars the shipped templates use, compiled to
 * generated functions. Handlebars' per-call setup (helpers and data frames, `each` frames,
 * partial indentation) on every template or partial call dominates a render of tens of
 * thousands of server lines; these functions do without it (bench/writer-scale.ts compares).
 *
 * The subset, with Handlebars' own semantics (noEscape, strict): text; comments; `{{path}}` and
 * `{{{path}}}` (strict: a missing last segment throws `"name" not defined in ...`; a function is
 * called); `{{#if p}}` / `{{#unless p}}` (optionally `includeZero=true`) and `{{#each p}}`, each
 * with `{{else}}`; `{{> name}}` and `{{> name path}}`, standalone ones indented like Handlebars
 * does. Paths are plain: no `../`, no `@data`, no literals, no helper names. The whitespace
 * rules (standalone lines) are Handlebars' own: the AST comes from `Handlebars.parse`.
 *
 * Anything else makes `compileFast` return null and the caller uses Handlebars for that
 * template. test/unit/balancers/haproxy/render.test.ts checks both give the same bytes.
 */
type Node = hbs.AST.Node;
type Program = hbs.AST.Program;
type PathExpression = hbs.AST.PathExpression;

/** A template or partial: context -> text. */
export type RenderFn = (ctx: unknown) => string;

export interface FastTemplate {
  render: RenderFn;
  /** partials it calls (by name) */
  partials: Set<string>;
  /** partials it calls as indented standalone lines (their output is re-indented) */
  indented: Set<string>;
}

class Unsupported extends Error {}

/**
 * `ast` (from Handlebars.parse) -> a render function, or null when it uses more than the subset.
 * `partial(name)` is called at render time; `known` says at compile time which names exist.
 *
 * Each program (the template, and the body of every `each`) becomes one generated function
 * whose property reads name their property (`o["name"]`): every read site has an inline cache
 * of its own, seeing one kind of object (a server model, a backend model). Closures reading
 * `obj[key]` through one shared helper made every read megamorphic, a cost per server line
 * that adds up at scale (bench/writer-scale.ts). Names come from Handlebars' parser and are embedded as
 * JSON string literals.
 *
 * Only own properties are printed (Handlebars' lookupProperty). For a plain object (its
 * prototype Object.prototype) a key Object.prototype does not have (when the template is
 * compiled) is own whenever `in` finds it, so the own-property check is left to objects of
 * other kinds and to keys like `toString`: `hasOwnProperty.call` is a builtin call V8 does not
 * inline, and six per server line made a full render measurably slower (bench/writer-scale.ts).
 */
export function compileFast(ast: Program, known: ReadonlySet<string>, helpers: ReadonlySet<string>, partial: (name: string) => RenderFn, cache: TemplateCode = new TemplateCode()): FastTemplate | null {
  const called = new Set<string>();
  const indented = new Set<string>();
  /** what generated code refers to by index (texts are literals in it): nested programs, and
   * partials by name, resolved at their first call */
  const fns: RenderFn[] = [];
  const names: string[] = [];
  const resolved: (RenderFn | undefined)[] = [];
  const part = (i: number): RenderFn => resolved[i] ?? (resolved[i] = partial(names[i]));

  const path = (node: hbs.AST.Expression, mustache: boolean): string[] => {
    if (node.type !== 'PathExpression') throw new Unsupported();
    const p = node as PathExpression;
    if (p.data || p.depth !== 0) throw new Unsupported();
    // `{{name}}` could be a helper call (`{{log}}`): Handlebars looks helpers up first
    if (mustache && p.parts.length === 1 && helpers.has(p.parts[0]) && !/^(this|\.)[./]/.test(p.original)) throw new Unsupported();
    return p.parts;
  };

  /** code leaving in `o` the value at `parts` from `ctx`, own properties only, not strict
   * (Handlebars' lookupProperty for helper parameters) */
  const lookup = (parts: string[]): string => ['o = ctx;', ...parts.map((k) => `o = o == null ? o : (t = o[${lit(k)}], t == null || ${k in Object.prototype ? '' : 'getProto(o) === OP || '}hasOwn.call(o, ${lit(k)}) ? t : undefined);`)].join('\n');

  /** code appending a program's output to `s`, in the context `ctx` */
  const body = (p: Program | undefined): string => {
    if (!p) return '';
    if (p.blockParams?.length) throw new Unsupported();
    return p.body.map(statement).join('\n');
  };

  /** a program as a function of its own (the body of an `each`) */
  const fn = (p: Program | undefined): number => {
    fns.push(generate(body(p)));
    return fns.length - 1;
  };

  const statement = (node: Node): string => {
    switch (node.type) {
      case 'ContentStatement': {
        const text = (node as hbs.AST.ContentStatement).value;
        return text ? `s += ${lit(text)};` : '';
      }
      case 'CommentStatement':
        return '';
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (m.params.length || m.hash) throw new Unsupported();
        const parts = path(m.path, true);
        // strict, as Handlebars' `strict()`: the last segment must exist (`in`)
        const get = parts.length === 0
          ? 'v = ctx;'
          : `${lookup(parts.slice(0, -1))}
if (!o || !(${lit(parts.at(-1)!)} in o)) throw notDefined(${lit(parts.at(-1)!)}, o);
v = o[${lit(parts.at(-1)!)}];
if (v != null && ${parts.at(-1)! in Object.prototype ? '' : 'getProto(o) !== OP && '}!hasOwn.call(o, ${lit(parts.at(-1)!)})) v = undefined;`;
        return `${get}
if (typeof v === 'function') v = v.call(ctx);
if (v != null) s += \`\${v}\`;`;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        const helper = b.path.type === 'PathExpression' ? (b.path as PathExpression).original : '';
        if (!['if', 'unless', 'each'].includes(helper) || b.params.length !== 1) throw new Unsupported();
        const pairs = b.hash?.pairs ?? [];
        const includeZero = helper !== 'each' && pairs.length === 1 && pairs[0].key === 'includeZero' && pairs[0].value.type === 'BooleanLiteral' && (pairs[0].value as hbs.AST.BooleanLiteral).value;
        if (pairs.length && !includeZero) throw new Unsupported();
        const get = `${lookup(path(b.params[0], false))}
v = typeof o === 'function' ? o.call(ctx) : o;`;
        if (helper === 'each') {
          return `${get}
v = each(v, fns[${fn(b.program)}]);
if (v === null) {
${body(b.inverse)}
} else s += v;`;
        }
        const yes = body(helper === 'if' ? b.program : b.inverse);
        const no = body(helper === 'if' ? b.inverse : b.program);
        return `${get}
if (${includeZero ? '' : '!v || '}isEmpty(v)) {
${no}
} else {
${yes}
}`;
      }
      case 'PartialStatement': {
        const p = node as hbs.AST.PartialStatement;
        if (p.name.type !== 'PathExpression' || p.hash || p.params.length > 1) throw new Unsupported();
        const name = (p.name as PathExpression).original;
        if (!known.has(name)) throw new Unsupported(); // Handlebars says which partial is missing
        called.add(name);
        names.push(name);
        const call = `part(${names.length - 1})(${p.params.length ? 'o' : 'ctx'})`;
        const arg = p.params.length ? `${lookup(path(p.params[0], false))}\n` : '';
        if (p.indent) indented.add(name);
        return `${arg}s += ${p.indent ? `indentLines(${call}, ${lit(p.indent)})` : call};`;
      }
      default:
        throw new Unsupported();
    }
  };

  /** `code` appends to `s`; the function returns it */
  const generate = (code: string): RenderFn => {
    if (!code.trim()) return () => '';
    return cache.factory(code)(Object.getPrototypeOf, Object.prototype, Object.prototype.hasOwnProperty, notDefined, each, isEmpty, indentLines, part, fns);
  };

  try {
    return { render: generate(body(ast)), partials: called, indented };
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

type Factory = (...env: unknown[]) => RenderFn;

/** Generated code -> its factory, owned by a renderer (render.ts): templates compiled twice
 * to the same code (partials that read alike) share one function V8 optimizes once. Bounded:
 * a few entries per template. */
export class TemplateCode {
  private readonly factories = new Map<string, Factory>();

  factory(code: string): Factory {
    let f = this.factories.get(code);
    if (!f) {
      if (this.factories.size >= 1000) this.factories.clear();
      f = new Function('getProto', 'OP', 'hasOwn', 'notDefined', 'each', 'isEmpty', 'indentLines', 'part', 'fns', `return function render(ctx) {\nlet s = '', v, o, t;\n${code}\nreturn s;\n};`) as Factory;
      this.factories.set(code, f);
    }
    return f;
  }
}

/** a string as a JS literal in generated code (JSON is a subset of JS since ES2019) */
function lit(text: string): string {
  return JSON.stringify(text);
}

function notDefined(key: string, obj: unknown): Error {
  return new Error(`"${key}" not defined in ${obj}`);
}

function isEmpty(v: unknown): boolean {
  return (!v && v !== 0) || (Array.isArray(v) && v.length === 0);
}

/** Handlebars' `each`: arrays (holes skipped), iterables, else own enumerable values; null when
 * nothing was iterated (the caller renders the inverse) */
function each(v: unknown, fn: RenderFn): string | null {
  if (!v || typeof v !== 'object') return null;
  let out = '';
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (i in v) (out += fn(v[i])), n++;
  } else if (Symbol.iterator in v) {
    for (const x of v as Iterable<unknown>) (out += fn(x)), n++;
  } else {
    for (const k of Object.keys(v)) (out += fn((v as Record<string, unknown>)[k])), n++;
  }
  return n ? out : null;
}

/** Handlebars' standalone-partial indentation: every line, but not after a final newline */
function indentLines(text: string, indent: string): string {
  if (text === '') return ''; // nothing printed: no indent either (Handlebars)
  const first = text.indexOf('\n');
  if (first < 0 || first === text.length - 1) return indent + text; // one line (a server's)
  let out = '';
  for (let start = 0; start < text.length; ) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    out += indent + text.slice(start, end);
    start = end;
  }
  return out;
}
