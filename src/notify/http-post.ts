/**
 * POST a JSON body with undici (webhook and Slack backends): one Client per backend, kept
 * alive between notifications; a 2xx answer is a delivery, anything else an error naming
 * the status. The URL is never part of an error message (a Slack URL is a secret).
 */
import { clientClass, type Client, type Dispatcher } from '../core/undici.js';

export class JsonPoster {
  private client: Client | null = null;
  private readonly url: URL;

  constructor(
    url: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.url = new URL(url);
  }

  post(body: unknown, signal: AbortSignal): Promise<void> {
    const payload = Buffer.from(JSON.stringify(body));
    const Client = clientClass();
    const client = (this.client ??= new Client(this.url.origin, { headersTimeout: 0, bodyTimeout: 0 }));
    return new Promise<void>((resolve, reject) => {
      let status = 0;
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          // a connection in an unknown state is not reused
          this.client = null;
          client.destroy().catch(() => {});
          reject(err);
        } else resolve();
      };
      const onAbort = () => done(new Error('timed out'));
      signal.addEventListener('abort', onAbort, { once: true });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: () => {},
        onResponseStart: (_c, statusCode) => void (status = statusCode),
        onResponseData: () => {},
        onResponseEnd: () => (status >= 200 && status < 300 ? done() : done(new Error(`HTTP status ${status}`))),
        onResponseError: (_c, err) => done(new Error(err.message)),
      };
      client.dispatch(
        {
          path: `${this.url.pathname}${this.url.search}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'lighthouse-notify', ...this.headers },
          body: payload,
        },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => {});
    this.client = null;
  }
}
