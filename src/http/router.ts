/**
 * The daemons' HTTP routes: method + path pattern (`/state`, `/services/:name`) -> handler,
 * each with the access it needs. Handlers get a parsed request and return a reply (a string is
 * sent as text/plain, anything else as JSON); they throw HttpError for a 4xx. HEAD is answered
 * by the GET route, without a body. Hand-written: a table lookup over a handful of routes is
 * all the daemons need (fastify pulls in a dependency that wants Node 22).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenClaims } from '../actions/tokens.js';

/** `public`: anyone who reaches the port; `read`: the local socket, or over TCP (only with a
 * users.yaml) a user of it (who sees what their roles allow) or a token of `token_file`; `change`: the local socket, or a valid
 * bearer token of `token_file`; `action`: a valid signed action token (src/actions/tokens.ts),
 * over either listener. A function: decided at each request (http.yaml may change it live). */
export type Access = 'public' | 'read' | 'change' | 'action';
export type AccessRule = Access | (() => Access);

export interface Caller {
  via: 'socket' | 'tcp';
  /** who, as recorded: "local:USER" (the socket), "token:SUBJECT", "user:NAME" or
   * "action-token:SUBJECT"; null: not authenticated */
  subject: string | null;
  /** the roles of a user of users.yaml; absent for the socket and token_file tokens, which
   * see everything */
  roles?: readonly string[];
  /** on `action` routes: the verified token's claims (the handler checks its scope) */
  claims?: TokenClaims;
}

export interface Request {
  method: string;
  url: URL;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  caller: Caller;
  /** the body as JSON (HttpError 400 / 413 if it is not, or is too large) */
  json(): Promise<unknown>;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** a body sent as it is produced (chunked): `write` it piece by piece; `signal` aborts when
   * the caller goes away. Headers are sent first, so the status is final. */
  stream?: (write: (chunk: string) => void, signal: AbortSignal) => Promise<void>;
}

export type Handler = (req: Request) => Reply | Promise<Reply>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** more JSON fields for the error body */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface Route {
  method: Method;
  segments: string[];
  access: AccessRule;
  handler: Handler;
}

export type Match = { route: { access: AccessRule; handler: Handler }; params: Record<string, string> } | { status: 404 | 405; allow?: string[] };

export class Router {
  private readonly routes: Route[] = [];

  add(method: Method, path: string, access: AccessRule, handler: Handler): this {
    this.routes.push({ method, segments: split(path), access, handler });
    return this;
  }

  /** The route for `method` (HEAD: the GET route) and `pathname`, or why there is none. */
  match(method: string, pathname: string): Match {
    const want = method === 'HEAD' ? 'GET' : method;
    const parts = split(pathname);
    const allow: string[] = [];
    for (const r of this.routes) {
      const params = matchSegments(r.segments, parts);
      if (!params) continue;
      if (r.method === want) return { route: r, params };
      allow.push(r.method);
    }
    return allow.length ? { status: 405, allow: allow.includes('GET') ? [...allow, 'HEAD'] : allow } : { status: 404 };
  }
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i].startsWith(':')) {
      let v: string;
      try {
        v = decodeURIComponent(parts[i]);
      } catch {
        return null;
      }
      params[pattern[i].slice(1)] = v;
    } else if (pattern[i] !== parts[i]) return null;
  }
  return params;
}
