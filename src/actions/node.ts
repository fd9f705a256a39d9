/**
 * This node as actions and the node inventory see it: its name (the advertised host), ranks and
 * metadata from node.yaml, and where its HTTP server is reached (the advertised address, or the
 * address http.yaml binds to when that is one address).
 */
import type { NodeConfig } from '../config/schema.js';
import { endpointUrl, type NodeRecord } from '../core/node-record.js';
import type { HttpSettings } from '../http/schema.js';
import type { Identity } from '../config/node-identity.js';
import type { ActionNode } from './service.js';

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '*']);

export function actionNodeOf(identity: Identity, node: NodeConfig): ActionNode {
  return { name: identity.host, ranks: node.ranks ?? [], metadata: node.metadata ?? {} };
}

/** `http`: the settings the server runs with, null when it is not served */
export function nodeRecordOf(identity: Identity, node: NodeConfig, http: HttpSettings | null): NodeRecord {
  const address = http?.bindAddress && !WILDCARD.has(http.bindAddress) ? http.bindAddress : identity.ip;
  return {
    name: identity.host,
    host: identity.host,
    ip: identity.ip,
    ranks: [...(node.ranks ?? [])],
    metadata: { ...(node.metadata ?? {}) },
    endpoint: http?.port ? { url: endpointUrl(address, http.port, !!http.tls), tls: !!http.tls } : null,
  };
}
