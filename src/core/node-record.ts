/**
 * A node of the inventory (OpenFlight's nodes file, kept by the nodes themselves): each reporter
 * publishes its own record through discovery, clients (lighthousectl action, nodes) read them to
 * find where to send an action. Records come from the network: `parseNodeRecord` accepts only
 * names, addresses and URLs of a safe shape, so nothing read from discovery reaches a request
 * line or a terminal unchecked.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export interface NodeEndpoint {
  /** http(s)://ADDRESS:PORT of the node's HTTP server */
  url: string;
  tls: boolean;
}

export interface NodeRecord {
  /** the node's name: its advertised host */
  name: string;
  host: string;
  ip: string;
  ranks: string[];
  metadata: Record<string, string | number | boolean>;
  /** null: the node serves no TCP listener */
  endpoint: NodeEndpoint | null;
}

export const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;
const host = z.string().refine((s) => isIP(s) !== 0 || HOST_NAME.test(s), 'expected a host name or an IP address');
const printable = z.string().max(4096).regex(/^[^\0]*$/);

const recordSchema = z.object({
  name: host,
  host,
  ip: z.string().refine((s) => isIP(s) !== 0, 'expected an IP address'),
  ranks: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)).max(64).default([]),
  metadata: z.record(z.string().min(1).max(128).regex(/^[^\0]*$/), z.union([printable, z.number(), z.boolean()])).default({}),
  endpoint: z
    .object({
      url: z.string().refine(isEndpointUrl, 'expected http(s)://ADDRESS:PORT'),
      tls: z.boolean(),
    })
    .nullable()
    .default(null),
});

/** A record from discovery, or a message saying what is wrong with it. */
export function parseNodeRecord(value: unknown): { record?: NodeRecord; problem?: string } {
  const r = recordSchema.safeParse(value);
  if (r.success) return { record: r.data };
  return { problem: r.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ') };
}

/** The URL a node's HTTP server is reached at: its address (IPv6 in brackets) and port. */
export function endpointUrl(address: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

function isEndpointUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.port !== '' && (u.pathname === '/' || u.pathname === '') && !u.username && !u.password && !u.search && !u.hash && (isIP(h) !== 0 || HOST_NAME.test(h));
}
