/**
 * CONFIG_DIR/notify.yaml, read by both daemons (docs/CHECKS-AND-NOTIFICATIONS.md has examples):
 *
 *   retries_before_notify: a state change is notified once it was seen this many consecutive
 *               times (Platus). Default 3. The reporter sees an instance's state at each probe
 *               of its first check; the writer looks at a cluster once a second while a change
 *               waits for confirmation. A reload failure is notified at once.
 *   state_file: where the last notified state of each subject is kept, so a restart does not
 *               notify again what was notified before it. Default
 *               $LIGHTHOUSE_STATE_DIR/notify-<daemon>.json ($LIGHTHOUSE_STATE_DIR defaults to
 *               /var/lib/lighthouse); a directory that cannot be written is logged once and the
 *               state then lives in memory only.
 *   queue_size: notifications waiting per backend; when full the oldest is dropped (and
 *               counted). Default 100.
 *   max_attempts: deliveries tried per notification and backend, with backoff (1 s, 2 s, 4 s,
 *               ... at most 60 s) between them. Default 5.
 *   timeout:    seconds one delivery may take. Default 10.
 *   backends:   a list, each with `type`:
 *     webhook:  url (http/https), headers (map, optional): a JSON POST of the notification.
 *     slack:    url (or url_file; a Slack incoming-webhook URL), channel, username (optional):
 *               an incoming-webhook payload with a one-line text.
 *     email:    host, port (default 587), secure (TLS from the start, port 465; default false),
 *               starttls (require STARTTLS; default true unless secure), tls_verify (default
 *               true), from, to (an address or a list), username + password (or
 *               password_file; optional), subject (default "Lighthouse: {subject} is {to}").
 */
import { z } from 'zod';
import { fileForms } from '../config/secret-file.js';

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const headerValue = z.string().regex(/^[^\r\n]*$/, 'must not contain CR or LF');
const httpUrl = z.string().refine((u) => {
  try {
    return ['http:', 'https:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');
const absolutePath = z.string().regex(/^\//, 'must be an absolute path');
const address = z.string().regex(/^[^\s<>@]+@[^\s<>@]+$/, 'must be an email address (user@host)');

const webhook = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  headers: z.record(headerName, headerValue).default({}),
});

const slackKeys = z.strictObject({
  type: z.literal('slack'),
  url: z.string().optional(),
  url_file: absolutePath.optional(),
  channel: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
});
const slack = slackKeys.transform(fileForms<z.output<typeof slackKeys>>(['url'])).superRefine((c, ctx) => {
  if (c.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a slack backend needs `url` (or `url_file`)' });
  else if (!httpUrl.safeParse(c.url).success) ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be an http:// or https:// URL' });
});

const emailKeys = z.strictObject({
  type: z.literal('email'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(587),
  secure: z.boolean().default(false),
  starttls: z.boolean().optional(),
  tls_verify: z.boolean().default(true),
  from: address,
  to: z.union([address.transform((a) => [a]), z.array(address).min(1)]),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  password_file: absolutePath.optional(),
  subject: z.string().min(1).default('Lighthouse: {subject} is {to}'),
});
const email = emailKeys.transform(fileForms<z.output<typeof emailKeys>>(['password'])).superRefine((c, ctx) => {
  if ((c.username === undefined) !== (c.password === undefined)) ctx.addIssue({ code: 'custom', path: [c.username === undefined ? 'password' : 'username'], message: 'SMTP auth needs both `username` and `password` (or `password_file`)' });
});

export const notifySchema = z.strictObject({
  retries_before_notify: z.int().min(1).max(1000).default(3),
  state_file: absolutePath.optional(),
  queue_size: z.int().min(1).max(100_000).default(100),
  max_attempts: z.int().min(1).max(100).default(5),
  timeout: z.number().positive().max(300).default(10),
  backends: z.array(z.discriminatedUnion('type', [webhook, slack, email])).default([]),
});

export type NotifyConfig = z.output<typeof notifySchema>;
export type BackendConfig = NotifyConfig['backends'][number];
export type WebhookConfig = z.output<typeof webhook>;
export type SlackConfig = z.output<typeof slack>;
export type EmailConfig = z.output<typeof email>;
