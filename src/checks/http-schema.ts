/**
 * The keys of the `http` check (`rise`, `fall`, `timeout` are common and handled by the
 * reporter). docs/CHECKS-AND-NOTIFICATIONS.md has an example of each.
 *
 *   uri:        path and query to request, starting with "/". Required.
 *   method:     HTTP method. Default GET.
 *   host:       Host header (and TLS server name when it is a name). Default: the target's
 *               host:port.
 *   expect:     passing statuses: a code (200), a list of codes ([200, 204]), or a string of
 *               codes and ranges ("200-399", "200,301-302"). Default any 2xx ("200-299").
 *   headers:    extra request headers (map of strings; not Host). Optional; default none.
 *   search:     what the body must contain (Platus): a string is a regular expression searched
 *               in the body (a plain word matches itself); a mapping must be a subset of the
 *               body parsed as JSON. Optional; default: the body is not looked at.
 *   max_body:   bytes of body read at most; a longer body fails the check. Default 1048576.
 *   username + password (or password_file): HTTP basic auth. Optional.
 *   token (or token_file): sent in `token_header`. Optional.
 *   token_header: the header carrying `token`. Default Authorization, as `Bearer TOKEN`; any
 *               other header (PRIVATE-TOKEN, X-Api-Key) carries the token as it is.
 *   https:      use TLS. Default false.
 *   tls_verify: with https, verify the server's certificate chain and name. Default false, like
 *               the Python Lighthouse (urllib did not verify): health endpoints on loopback or a
 *               private address rarely carry a certificate valid for that address.
 *   ca (or ca_file): PEM certificates to verify the server with (instead of the system's), when
 *               tls_verify is on. Optional.
 *   cert + key (or cert_file + key_file): a PEM client certificate and its key, for servers
 *               that require one. Optional; needs https.
 *   follow_redirects: follow 3xx answers (at most `max_redirects`, default 5) and judge the
 *               last. Default false: a redirect is judged by its own status. Credentials are
 *               never sent to another origin than the target's.
 *
 * Every string may be a `${env:NAME}` or `${file:/path}` reference (src/config/refs.ts);
 * every `*_file` key reads an absolute path when the service file is loaded.
 */
import { z } from 'zod';
import { fileForms } from '../config/secret-file.js';
import { compileSearch, type Search } from './http-search.js';

/** "200", "200-399", "200,204,300-399" -> inclusive ranges; anything else is a config error. */
function parseExpect(spec: string, ctx: z.RefinementCtx): [number, number][] {
  const ranges: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] ? Number(m[2]) : lo;
    if (!m || lo < 100 || hi > 599 || lo > hi) {
      ctx.addIssue({ code: 'custom', message: `bad status ${JSON.stringify(part.trim())}: expected a code 100-599 or a range like 200-399` });
      return z.NEVER;
    }
    ranges.push([lo, hi]);
  }
  return ranges;
}

const statusCode = z.int().min(100).max(599);
// Header values go on the wire as they are: CR/LF would let a config value inject headers.
const noNewline = (what: string) => z.string().regex(/^[^\r\n]*$/, `${what} must not contain CR or LF`);
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const absolutePath = z.string().regex(/^\//, 'must be an absolute path');
const pem = (what: string) => z.string().regex(/-----BEGIN [A-Z0-9 ]+-----/, `${what} must be PEM text (-----BEGIN ...)`);

const SECRET_FILE_KEYS = ['password', 'token', 'key', 'cert', 'ca'] as const;

const httpKeys = z.strictObject({
  uri: z.string().regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces'),
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')
    .default('GET'),
  https: z.boolean().default(false),
  tls_verify: z.boolean().default(false),
  host: z
    .string()
    .regex(/^[^\s]+$/, 'must be a host name, optionally with :port')
    .optional(),
  expect: z
    .union([
      statusCode.transform((c): [number, number][] => [[c, c]]),
      z.array(statusCode).min(1).transform((cs) => cs.map((c): [number, number] => [c, c])),
      z.string().transform(parseExpect),
    ])
    .default([[200, 299]]),
  headers: z.record(headerName.refine((n) => n.toLowerCase() !== 'host', 'set the Host header with the `host` key'), noNewline('a header value')).optional(),
  search: z
    .union([z.string().min(1), z.record(z.string(), z.unknown())])
    .transform((v, ctx): Search => {
      try {
        return compileSearch(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  max_body: z.int().min(1).max(64 * 1024 * 1024).default(1024 * 1024),
  username: noNewline('username').refine((u) => !u.includes(':'), 'a basic-auth username cannot contain ":"').optional(),
  password: noNewline('password').optional(),
  password_file: absolutePath.optional(),
  token: noNewline('token').min(1).optional(),
  token_file: absolutePath.optional(),
  token_header: headerName.default('Authorization'),
  ca: z.string().optional(),
  ca_file: absolutePath.optional(),
  cert: z.string().optional(),
  cert_file: absolutePath.optional(),
  key: z.string().optional(),
  key_file: absolutePath.optional(),
  follow_redirects: z.boolean().default(false),
  max_redirects: z.int().min(1).max(20).default(5),
  });

export const httpSchema = httpKeys
  .transform(fileForms<z.output<typeof httpKeys>>(SECRET_FILE_KEYS))
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    // values read from *_file are checked here (the schema above saw only their paths)
    for (const k of ['password', 'token'] as const) if (c[k] !== undefined && /[\r\n]/.test(c[k])) issue(k, `${k} must not contain CR or LF`);
    for (const k of ['ca', 'cert', 'key'] as const) if (c[k] !== undefined && !pem(k).safeParse(c[k]).success) issue(k, `${k} must be PEM text (-----BEGIN ...)`);
    if (c.password !== undefined && c.username === undefined) issue('password', 'a password needs a `username`');
    if (c.username !== undefined && c.password === undefined) issue('username', 'basic auth needs a `password` (or `password_file`)');
    if ((c.cert === undefined) !== (c.key === undefined)) issue(c.cert === undefined ? 'key' : 'cert', 'a client certificate needs both `cert` and `key`');
    for (const k of ['cert', 'ca'] as const) if (c[k] !== undefined && !c.https) issue(k, `\`${k}\` needs \`https: true\``);
    const sent = new Set(Object.keys(c.headers ?? {}).map((h) => h.toLowerCase()));
    if (c.username !== undefined && sent.has('authorization')) issue('headers', 'Authorization is set by `username`/`password`: remove it from `headers`');
    if (c.token !== undefined) {
      const th = c.token_header.toLowerCase();
      if (sent.has(th)) issue('headers', `${c.token_header} is set by \`token\`: remove it from \`headers\``);
      if (th === 'authorization' && c.username !== undefined) issue('token', 'basic auth and a token both use Authorization: set `token_header` or use one of them');
    }
  });
export type HttpConfig = z.output<typeof httpSchema>;
