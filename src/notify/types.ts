/** What a notification says, and what a backend does with it. */
export interface Notification {
  /** which daemon noticed */
  daemon: 'reporter' | 'writer';
  /** instance: a reporter's service instance; cluster: a writer's cluster went empty or came
   * back; balancer: a writer's balancer failed to apply (reload) or recovered */
  kind: 'instance' | 'cluster' | 'balancer';
  /** service (instance), cluster or balancer name */
  service: string;
  /** the node that noticed (the reporter's advertised host, the writer's host name) */
  node: string;
  /** the instance's port */
  port?: number;
  from: string;
  to: string;
  detail?: string;
  /** ISO 8601 */
  time: string;
}

export interface Backend {
  /** "webhook 1", "email 2": for logs and stats */
  readonly name: string;
  /** Deliver one notification; rejects when it was not delivered. Must honour `signal`. */
  send(n: Notification, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/** One line for humans (Slack text, email subject and body). */
export function describe(n: Notification): string {
  const what = n.kind === 'instance' ? `${n.service} on ${n.node}:${n.port}` : n.kind === 'cluster' ? `cluster ${n.service} on ${n.node}` : `balancer ${n.service} on ${n.node}`;
  return `${what} is ${n.to} (was ${n.from})${n.detail ? `: ${n.detail}` : ''}`;
}
