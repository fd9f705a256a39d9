/**
 * Templates -> text. `createRenderer` reads and compiles the templates once (I/O); the
 * `render(model)` it returns is pure. Handlebars runs in its own `Handlebars.create()` instance
 * (no global helpers or partials leak in or out), compiled with `noEscape` (HTML escaping would
 * turn HAProxy's `&&`, `<`, `'` into entities) and `strict` (a field missing from the model is
 * an error naming the template, not a silently empty directive).
 *
 * Shipped templates live in the repo's `templates/`: `haproxy.cfg.hbs` and `partials/*.hbs`
 * (a partial's name is its file name without `.hbs`). A user `template_dir` overrides them file
 * by file and may add partials.
 *
 * Speed: a template within the subset of fast-template.ts runs as a generated function, any
 * other one through Handlebars (same output, several times slower: bench/writer-scale.ts).
 * The output of the `backend` and `frontend` partials is cached per context object (models are
 * readonly, render-model.ts, and the balancer reuses an unchanged cluster's objects), so
 * rendering after a one-node change renders one backend; the cache applies when the partial and the partials it calls are all in the
 * subset, whose output depends on their context only.
 */
import type Handlebars from 'handlebars';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LighthouseError } from '../../../core/errors.js';
import type { RenderModel } from './model.js';
import { compileFast, TemplateCode, type FastTemplate, type RenderFn } from './fast-template.js';

export const MAIN_TEMPLATE = 'haproxy.cfg.hbs';
/** partials whose output is cached per context object */
const CACHED_PARTIALS = ['backend', 'frontend'];

export interface Renderer {
  render(model: RenderModel): string;
  /** The same text as `render`, as pieces to be written one after the other: the cached
   * partials' texts as they are kept (see `renderParts` below), the rest between them. */
  renderParts(model: RenderModel): string[];
  /** the template files in use, main first */
  readonly files: readonly string[];
  /** the templates Handlebars runs (outside the fast subset), by file */
  readonly slow: readonly string[];
}

type TemplateFn = (context: unknown, options?: Handlebars.RuntimeOptions) => string;

/** The shipped `templates/` dir: found by walking up from this module, so it works both from
 * src/ (tsx) and from dist/src/ (built). */
export function shippedTemplateDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'templates');
    if (existsSync(join(candidate, MAIN_TEMPLATE))) return candidate;
    dir = dirname(dir);
  }
  throw new LighthouseError('LH_ERR_TEMPLATE', `shipped templates not found above ${fileURLToPath(import.meta.url)}`);
}

/** Handlebars, loaded when the first renderer is made: the reporter loads this plugin's module
 * for its config schema but never renders, and Handlebars with its sources and inline source
 * maps is ~3 MB of its heap. */
const loadHandlebars = (): typeof Handlebars => createRequire(import.meta.url)('handlebars') as typeof Handlebars;

/** `fast: false`: Handlebars only (tests compare the two) */
export function createRenderer(opts: { templateDir?: string; shippedDir?: string; fast?: boolean } = {}): Renderer {
  const shipped = opts.shippedDir ?? shippedTemplateDir();
  const dirs = opts.templateDir ? [shipped, resolve(opts.templateDir)] : [shipped];
  const hb = loadHandlebars().create();

  // later dirs win: user files replace shipped ones of the same name
  let mainFile = '';
  const partials = new Map<string, string>();
  for (const dir of dirs) {
    if (existsSync(join(dir, MAIN_TEMPLATE))) mainFile = join(dir, MAIN_TEMPLATE);
    const pdir = join(dir, 'partials');
    if (!existsSync(pdir)) continue;
    for (const f of readdirSync(pdir).sort()) if (f.endsWith('.hbs')) partials.set(f.slice(0, -4), join(pdir, f));
  }
  if (!mainFile) throw new LighthouseError('LH_ERR_TEMPLATE', `${MAIN_TEMPLATE} not found in ${dirs.join(', ')}`);

  const templates = new Map([...partials].map(([name, file]) => [name, load(hb, file)]));
  const main = load(hb, mainFile);
  for (const [name, t] of templates) hb.registerPartial(name, t.slow as Handlebars.Template);

  // fast functions where the subset allows; partials resolved at their first call (any order)
  const helpers = new Set(Object.keys(hb.helpers));
  const known = new Set(templates.keys());
  const resolved = new Map<string, RenderFn>();
  const partial = (name: string) => resolved.get(name)!;
  const fast = new Map<string, FastTemplate | null>();
  const sink = new Sink();
  const code = new TemplateCode();
  const compile = (ast: hbs.AST.Program) => (opts.fast === false ? null : compileFast(ast, known, helpers, partial, code));
  for (const [name, t] of templates) fast.set(name, compile(t.ast));
  const pure = (name: string, seen = new Set<string>()): boolean => {
    const f = fast.get(name);
    if (!f) return false;
    seen.add(name);
    return [...f.partials].every((p) => seen.has(p) || pure(p, seen));
  };
  for (const [name, t] of templates) {
    const f = fast.get(name);
    const fn = f ? tagged(t.file, f.render) : t.slow;
    resolved.set(name, CACHED_PARTIALS.includes(name) && pure(name) ? cached(fn, sink) : fn);
  }
  const mainFast = compile(main.ast);
  const render = mainFast ? tagged(main.file, mainFast.render) : main.slow;
  // pieces need the fast main template, and no re-indented output holding a marker: an
  // indented call, outside a cached partial, of a partial that is or calls a cached one
  const isCached = (name: string) => CACHED_PARTIALS.includes(name) && pure(name);
  const reaches = (name: string, seen = new Set<string>()): boolean =>
    isCached(name) || (!seen.has(name) && (seen.add(name), [...(fast.get(name)?.partials ?? [])].some((p) => reaches(p, seen))));
  const outer = [mainFast, ...[...fast].filter(([name]) => !isCached(name)).map(([, f]) => f)];
  const pieces = mainFast !== null && !outer.some((f) => f && [...f.indented].some((p) => reaches(p)));
  return {
    files: [mainFile, ...partials.values()],
    slow: [...(mainFast ? [] : [mainFile]), ...[...templates].filter(([name]) => !fast.get(name)).map(([, t]) => t.file)],
    render: (model) => render(model),
    renderParts: (model) => (pieces ? sink.collect(() => render(model)) : [render(model)]),
  };
}

/**
 * Why pieces: the full text of 1,000 backends is a 4 MB rope of their cached texts, and
 * writing it makes V8 flatten it first (a 4 MB copy in fresh memory, many times the cost of
 * writing the pieces one after the other: bench/writer-scale.ts). While `collect` runs, a cached partial
 * returns a marker (NUL, its number, SOH: bytes no HAProxy config holds) and the sink keeps
 * its text; the main template's small output is then cut at the markers.
 */
class Sink {
  private texts: string[] | null = null;
  /** a cached partial computing its own text: partials it calls return text, not markers */
  depth = 0;

  mark(text: string): string {
    if (!this.texts || this.depth > 0) return text;
    this.texts.push(text);
    return `\u0000${this.texts.length - 1}\u0001`;
  }

  collect(render: () => string): string[] {
    const texts: string[] = (this.texts = []);
    let out: string;
    try {
      out = render();
    } finally {
      this.texts = null;
    }
    const parts: string[] = [];
    let at = 0;
    for (let i = out.indexOf('\u0000'); i >= 0; i = out.indexOf('\u0000', at)) {
      const end = out.indexOf('\u0001', i);
      if (i > at) parts.push(out.slice(at, i));
      parts.push(texts[Number(out.slice(i + 1, end))]);
      at = end + 1;
    }
    if (at < out.length) parts.push(out.slice(at));
    return parts;
  }
}

/** Output per context object (objects only; models are immutable). */
function cached(fn: RenderFn, sink?: Sink): RenderFn {
  const memo = new WeakMap<object, string>();
  return (ctx) => {
    if (typeof ctx !== 'object' || ctx === null) return sink ? sink.mark(fn(ctx)) : fn(ctx);
    let text = memo.get(ctx);
    if (text === undefined) {
      if (sink) sink.depth++;
      try {
        text = fn(ctx);
      } finally {
        if (sink) sink.depth--;
      }
      /$/.test(text); // flattens the rope V8 built: ~3x smaller kept (Number() is optimized away)
      memo.set(ctx, text);
    }
    return sink ? sink.mark(text) : text;
  };
}

interface Loaded {
  file: string;
  ast: hbs.AST.Program;
  /** compiled by Handlebars */
  slow: TemplateFn;
}

function load(hb: typeof Handlebars, file: string): Loaded {
  let src: string;
  let ast: hbs.AST.Program;
  try {
    src = readFileSync(file, 'utf8');
    ast = hb.parse(src);
  } catch (err) {
    throw new LighthouseError('LH_ERR_TEMPLATE', `${file}: ${(err as Error).message}`, { cause: err });
  }
  return { file, ast, slow: tagged(file, hb.compile(src, { noEscape: true, strict: true })) };
}

/** Tag any error raised while rendering with the file it came from. */
function tagged(file: string, fn: TemplateFn): TemplateFn {
  return (context, options) => {
    try {
      return fn(context, options);
    } catch (err) {
      if (err instanceof LighthouseError) throw err; // tagged by an inner partial already
      throw new LighthouseError('LH_ERR_TEMPLATE', `${file}: ${(err as Error).message}`, { cause: err });
    }
  };
}
