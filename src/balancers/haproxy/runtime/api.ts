/**
 * Client of HAProxy's admin runtime socket (`stats socket ... level admin`): one persistent
 * connection in prompt mode, commands pipelined one per line, each reply ending with the
 * "\n> " prompt. Pipelining rather than `;`-joined lines keeps one reply per command, so an
 * error sentence is attributed to the command that caused it, at the same cost (one write, one
 * round trip for the whole batch).
 *
 * The connection is opened lazily and reopened after any error or close (HAProxy closes idle
 * CLI sessions after `stats timeout`, 10 s by default). A batch that fails because the
 * connection broke is retried once on a new connection: every command Lighthouse sends is
 * idempotent (set addr / state / weight, show) but `add server`, which when resent finds its
 * server exists (the runtime view then reads the state again).
 *
 * After a reload this connection still talks to the OLD worker (and keeps it alive): the owner
 * must `close()` it; `show info` says `Stopping: 1` on such a worker.
 */
import { createConnection, type Socket } from 'node:net';
import { excerpt, isSafeCommand } from '../../../core/address.js';
import { LighthouseError } from '../../../core/errors.js';
import { parseInfo, parseServersState, parseStat, replyError, type ServersState } from './parse.js';

const PROMPT = '\n> ';

interface Pending {
  count: number;
  replies: string[];
  resolve(replies: string[]): void;
  reject(err: Error): void;
}

export interface RuntimeApiOptions {
  socketPath: string;
  /** per batch; default 10 s */
  timeoutMs?: number;
  /** called when an open connection closes (worker gone, idle timeout, error) */
  onClose?: () => void;
}

export class RuntimeApi {
  private socket: Socket | null = null;
  /** data of the reply being read, in chunks: a 6 MB `show servers state` arrives in ~100
   * chunks, and searching a growing string would copy it at every chunk */
  private parts: string[] = [];
  /** the last PROMPT.length - 1 characters of `parts` (a prompt may straddle two chunks) */
  private tail = '';
  private pending: Pending[] = [];

  constructor(private readonly opts: RuntimeApiOptions) {}

  get socketPath(): string {
    return this.opts.socketPath;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** Send `commands` in one write; resolves with one raw reply per command. Does not judge
   * replies (see `run`). */
  async execute(commands: readonly string[]): Promise<string[]> {
    if (commands.length === 0) return [];
    // the last line before the socket: a line break or `;` would start another command
    for (const c of commands) {
      if (!isSafeCommand(c)) throw new LighthouseError('LH_ERR_UNSAFE_VALUE', `HAProxy runtime API ${this.opts.socketPath}: refusing command ${excerpt(c)}: a line break, ';' or control character in it`);
    }
    const fresh = !this.socket;
    try {
      return await this.send(commands);
    } catch (err) {
      // a connection that broke under us (idle close racing our write): once more, fresh
      if (!fresh && err instanceof LighthouseError && (err as SocketError).connectionLost) return this.send(commands);
      throw err;
    }
  }

  /** `execute`, then throw LH_ERR_HAPROXY_SOCKET naming the socket and every command HAProxy
   * refused (all commands have run by then: the batch is not a transaction). */
  async run(commands: readonly string[]): Promise<string[]> {
    const replies = await this.execute(commands);
    const failed = commands.flatMap((c, i) => {
      const e = replyError(c, replies[i]);
      return e ? [`'${c}': ${e}`] : [];
    });
    if (failed.length) {
      const err = new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy runtime API ${this.opts.socketPath} refused ${failed.length} of ${commands.length} commands: ${failed.join('; ')}`);
      (err as SocketError).failures = failed;
      throw err;
    }
    return replies;
  }

  async showServersState(backend?: string): Promise<ServersState> {
    const [reply] = await this.run([backend ? `show servers state ${backend}` : 'show servers state']);
    return parseServersState(reply);
  }

  async showInfo(): Promise<Record<string, string>> {
    const [reply] = await this.run(['show info']);
    return parseInfo(reply);
  }

  async showStat(): Promise<Record<string, string>[]> {
    const [reply] = await this.run(['show stat']);
    return parseStat(reply);
  }

  close(): void {
    const s = this.socket;
    this.socket = null;
    this.fail(this.error('close', 'connection closed by the client', true));
    s?.destroy();
  }

  private send(commands: readonly string[]): Promise<string[]> {
    const socket = this.socket ?? this.connect();
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop(socket, this.error(commands[0], `no reply within ${this.opts.timeoutMs ?? 10_000} ms`));
      }, this.opts.timeoutMs ?? 10_000);
      this.pending.push({
        count: commands.length,
        replies: [],
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      socket.write(commands.join('\n') + '\n');
    });
  }

  private connect(): Socket {
    const socket = createConnection(this.opts.socketPath);
    this.socket = socket;
    this.parts = [];
    this.tail = '';
    socket.setEncoding('utf8');
    // the reply to `prompt` itself is the first prompt: swallow it
    this.pending.push({ count: 1, replies: [], resolve: () => {}, reject: () => {} });
    socket.write('prompt\n');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.drop(socket, this.error('connect', err.message, true, err)));
    socket.on('close', () => this.drop(socket, this.error('read', 'connection closed by HAProxy', true)));
    return socket;
  }

  private onData(chunk: string): void {
    for (let data = chunk; ; ) {
      const i = (this.tail + data).indexOf(PROMPT) - this.tail.length; // in data; < 0: straddles
      if (i < -this.tail.length) {
        if (data) this.parts.push(data);
        this.tail = (this.tail + data).slice(1 - PROMPT.length);
        return;
      }
      let reply = this.parts.join('') + data.slice(0, Math.max(0, i));
      if (i < 0) reply = reply.slice(0, i);
      data = data.slice(i + PROMPT.length);
      this.parts = [];
      this.tail = '';
      const head = this.pending[0];
      if (!head) continue; // stray prompt: nothing waits for it
      head.replies.push(reply.replace(/^\n/, ''));
      if (head.replies.length === head.count) {
        this.pending.shift();
        head.resolve(head.replies);
      }
    }
  }

  private drop(socket: Socket, err: SocketError): void {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.destroy();
    this.fail(err);
    this.opts.onClose?.();
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = [];
    this.parts = [];
    this.tail = '';
    for (const p of pending) p.reject(err);
  }

  private error(command: string, what: string, connectionLost = false, cause?: unknown): SocketError {
    const err = new LighthouseError('LH_ERR_HAPROXY_SOCKET', `HAProxy runtime API ${this.opts.socketPath}: '${command}': ${what}`, { cause }) as SocketError;
    err.connectionLost = connectionLost;
    return err;
  }
}

type SocketError = LighthouseError & { connectionLost?: boolean; failures?: string[] };
