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
 */
import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LighthouseError } from '../../core/errors.js';
import type { RenderModel } from './model.js';

export const MAIN_TEMPLATE = 'haproxy.cfg.hbs';

export interface Renderer {
  render(model: RenderModel): string;
  /** the template files in use, main first */
  readonly files: readonly string[];
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

export function createRenderer(opts: { templateDir?: string; shippedDir?: string } = {}): Renderer {
  const shipped = opts.shippedDir ?? shippedTemplateDir();
  const dirs = opts.templateDir ? [shipped, resolve(opts.templateDir)] : [shipped];
  const hb = Handlebars.create();

  // later dirs win: user files replace shipped ones of the same name
  let main = '';
  const partials = new Map<string, string>();
  for (const dir of dirs) {
    if (existsSync(join(dir, MAIN_TEMPLATE))) main = join(dir, MAIN_TEMPLATE);
    const pdir = join(dir, 'partials');
    if (!existsSync(pdir)) continue;
    for (const f of readdirSync(pdir).sort()) if (f.endsWith('.hbs')) partials.set(f.slice(0, -4), join(pdir, f));
  }
  if (!main) throw new LighthouseError('LH_ERR_TEMPLATE', `${MAIN_TEMPLATE} not found in ${dirs.join(', ')}`);

  for (const [name, file] of partials) hb.registerPartial(name, compileFile(hb, file) as Handlebars.Template);
  const template = compileFile(hb, main);
  return {
    files: [main, ...partials.values()],
    render: (model) => template(model),
  };
}

/** Parse now (syntax errors surface at load, naming the file), compile, and tag any error
 * raised while rendering with the file it came from. */
function compileFile(hb: typeof Handlebars, file: string): TemplateFn {
  let src: string;
  try {
    src = readFileSync(file, 'utf8');
    hb.parse(src);
  } catch (err) {
    throw new LighthouseError('LH_ERR_TEMPLATE', `${file}: ${(err as Error).message}`, { cause: err });
  }
  const fn = hb.compile(src, { noEscape: true, strict: true });
  return (context, options) => {
    try {
      return fn(context, options);
    } catch (err) {
      if (err instanceof LighthouseError) throw err; // tagged by an inner partial already
      throw new LighthouseError('LH_ERR_TEMPLATE', `${file}: ${(err as Error).message}`, { cause: err });
    }
  };
}
