/**
 * A fast path for templates: the subset of Handlebars the shipped templates use, compiled to
 * plain closures. Handlebars spends ~2 us per template or partial call (per-call setup of
 * helpers and data frames, `each` frames, partial indentation), which is 100 ms for the 50,000
 * server lines of 1,000 backends x 50 nodes; these closures take ~0.3 us a line.
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
 * `ast` (from Handlebars.parse) -> closures, or null when it uses more than the subset.
 * `partial(name)` is called at render time; `known` says at compile time which names exist.
 */
export function compileFast(ast: Program, known: ReadonlySet<string>, helpers: ReadonlySet<string>, partial: (name: string) => RenderFn): FastTemplate | null {
  const called = new Set<string>();
  const indented = new Set<string>();

  const path = (node: hbs.AST.Expression, mustache: boolean): string[] => {
    if (node.type !== 'PathExpression') throw new Unsupported();
    const p = node as PathExpression;
    if (p.data || p.depth !== 0) throw new Unsupported();
    // `{{name}}` could be a helper call (`{{log}}`): Handlebars looks helpers up first
    if (mustache && p.parts.length === 1 && helpers.has(p.parts[0]) && !/^(this|\.)[./]/.test(p.original)) throw new Unsupported();
    return p.parts;
  };

  const program = (p: Program | undefined): RenderFn => {
    if (!p) return () => '';
    if (p.blockParams?.length) throw new Unsupported();
    const parts = p.body.map(statement).filter((f): f is RenderFn => f !== null);
    if (parts.length === 0) return () => '';
    if (parts.length === 1) return parts[0];
    return (ctx) => {
      let s = '';
      for (let i = 0; i < parts.length; i++) s += parts[i](ctx);
      return s;
    };
  };

  const statement = (node: Node): RenderFn | null => {
    switch (node.type) {
      case 'ContentStatement': {
        const text = (node as hbs.AST.ContentStatement).value;
        return text ? () => text : null;
      }
      case 'CommentStatement':
        return null;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (m.params.length || m.hash) throw new Unsupported();
        const get = strictGetter(path(m.path, true));
        return (ctx) => {
          let v = get(ctx);
          if (typeof v === 'function') v = v.call(ctx);
          return v == null ? '' : `${v}`;
        };
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        const helper = b.path.type === 'PathExpression' ? (b.path as PathExpression).original : '';
        if (!['if', 'unless', 'each'].includes(helper) || b.params.length !== 1) throw new Unsupported();
        const pairs = b.hash?.pairs ?? [];
        const includeZero = helper !== 'each' && pairs.length === 1 && pairs[0].key === 'includeZero' && pairs[0].value.type === 'BooleanLiteral' && (pairs[0].value as hbs.AST.BooleanLiteral).value;
        if (pairs.length && !includeZero) throw new Unsupported();
        const get = getter(path(b.params[0], false));
        const fn = program(b.program);
        const inverse = program(b.inverse);
        if (helper === 'each') return (ctx) => each(call(get(ctx), ctx), fn) ?? inverse(ctx);
        const yes = helper === 'if' ? fn : inverse;
        const no = helper === 'if' ? inverse : fn;
        return (ctx) => {
          const v = call(get(ctx), ctx);
          return (!includeZero && !v) || isEmpty(v) ? no(ctx) : yes(ctx);
        };
      }
      case 'PartialStatement': {
        const p = node as hbs.AST.PartialStatement;
        if (p.name.type !== 'PathExpression' || p.hash || p.params.length > 1) throw new Unsupported();
        const name = (p.name as PathExpression).original;
        if (!known.has(name)) throw new Unsupported(); // Handlebars says which partial is missing
        called.add(name);
        const arg = p.params.length ? getter(path(p.params[0], false)) : null;
        const indent = p.indent;
        if (indent) indented.add(name);
        return (ctx) => {
          const out = partial(name)(arg ? arg(ctx) : ctx);
          return indent ? indentLines(out, indent) : out;
        };
      }
      default:
        throw new Unsupported();
    }
  };

  try {
    return { render: program(ast), partials: called, indented };
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

/** Handlebars' lookupProperty: own properties only (its prototype-access protection). */
function own(obj: unknown, key: string): unknown {
  if (obj == null) return obj;
  const v = (obj as Record<string, unknown>)[key];
  return v == null || Object.prototype.hasOwnProperty.call(obj, key) ? v : undefined;
}

/** helper parameters: not strict */
function getter(parts: string[]): (ctx: unknown) => unknown {
  if (parts.length === 0) return (ctx) => ctx;
  if (parts.length === 1) return (ctx) => own(ctx, parts[0]);
  return (ctx) => parts.reduce(own, ctx);
}

/** mustaches, strict mode: the last segment must exist (`in`), as Handlebars' `strict()` */
function strictGetter(parts: string[]): (ctx: unknown) => unknown {
  if (parts.length === 0) return (ctx) => ctx;
  const last = parts[parts.length - 1];
  if (parts.length === 1) {
    return (obj) => {
      if (!obj || !(last in (obj as object))) throw new Error(`"${last}" not defined in ${obj}`);
      return own(obj, last);
    };
  }
  const head = getter(parts.slice(0, -1));
  return (ctx) => {
    const obj = head(ctx) as Record<string, unknown>;
    if (!obj || !(last in obj)) throw new Error(`"${last}" not defined in ${obj}`);
    return own(obj, last);
  };
}

function call(v: unknown, ctx: unknown): unknown {
  return typeof v === 'function' ? v.call(ctx) : v;
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
