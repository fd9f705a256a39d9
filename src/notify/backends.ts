/**
 * The notification backends: webhook (the notification as JSON), Slack (an incoming-webhook
 * payload), email (SMTP through nodemailer, loaded only when an email backend is configured).
 * One table, as the plugin registry: adding a backend means a factory here and a schema in
 * schema.ts.
 */
import type { BackendConfig, EmailConfig, SlackConfig, WebhookConfig } from './schema.js';
import { describe, type Backend, type Notification } from './types.js';
import { JsonPoster } from './http-post.js';

function webhookBackend(c: WebhookConfig, name: string): Backend {
  const poster = new JsonPoster(c.url, c.headers);
  return { name, send: (n, signal) => poster.post(n, signal), close: () => poster.close() };
}

function slackBackend(c: SlackConfig, name: string): Backend {
  const poster = new JsonPoster(c.url!);
  const extra = { ...(c.channel ? { channel: c.channel } : {}), ...(c.username ? { username: c.username } : {}) };
  return { name, send: (n, signal) => poster.post({ text: describe(n), ...extra }, signal), close: () => poster.close() };
}

function emailBackend(c: EmailConfig, name: string): Backend {
  type Transport = { sendMail(m: object): Promise<unknown>; close(): void };
  let transport: Transport | null = null;
  const open = async (): Promise<Transport> => {
    if (transport) return transport;
    const nodemailer = (await import('nodemailer')).default;
    transport = nodemailer.createTransport({
      host: c.host,
      port: c.port,
      secure: c.secure,
      requireTLS: c.starttls ?? !c.secure,
      tls: { rejectUnauthorized: c.tls_verify },
      ...(c.username !== undefined ? { auth: { user: c.username, pass: c.password } } : {}),
    }) as unknown as Transport;
    return transport;
  };
  return {
    name,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const t = await open();
      const subject = c.subject.replaceAll('{subject}', n.kind === 'instance' ? `${n.service}:${n.port}` : n.service).replaceAll('{to}', n.to).replaceAll('{from}', n.from);
      const sending = t.sendMail({ from: c.from, to: c.to, subject, text: `${describe(n)}\n\n${JSON.stringify(n, null, 2)}\n` });
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          // nodemailer has no per-message abort: drop the pooled connection instead
          transport?.close();
          transport = null;
          reject(new Error('timed out'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        sending.then(
          () => (signal.removeEventListener('abort', onAbort), resolve()),
          (err: Error) => (signal.removeEventListener('abort', onAbort), reject(new Error(err.message))),
        );
      });
    },
    async close() {
      transport?.close();
      transport = null;
    },
  };
}

export function createBackend(c: BackendConfig, index: number): Backend {
  const name = `${c.type} ${index + 1}`;
  switch (c.type) {
    case 'webhook':
      return webhookBackend(c, name);
    case 'slack':
      return slackBackend(c, name);
    case 'email':
      return emailBackend(c, name);
  }
}
