/**
 * The members of one watched cluster (watcher.ts), by znode name.
 */
import type { ServiceNode } from '../../core/node.js';

export interface Member {
  /** the zxid of the data's last change (stat.mzxid): equal means the same data; -1 while its
   * read is in flight (the data itself is not kept: a large writer would hold every znode's bytes) */
  mzxid: number;
  node: ServiceNode | null; // null if the data does not parse
  /** `listings` when it became a member: a children list asked for before that (number <=
   * since) may not have it and must not remove it (listings) */
  since: number;
  /** its node's index in the member list the last full pass built (send), -1 if none */
  pos: number;
}

/** Members by znode name, with their names in order: sorted once per change of the set of
 * names, not per member list (a member's data changing keeps it). */
export class Members extends Map<string, Member> {
  private order: string[] | null = null;
  override set(name: string, m: Member): this {
    if (!this.has(name)) this.order = null;
    return super.set(name, m);
  }
  override delete(name: string): boolean {
    const had = super.delete(name);
    if (had) this.order = null;
    return had;
  }
  override clear(): void {
    this.order = null;
    super.clear();
  }
  names(): readonly string[] {
    return (this.order ??= [...this.keys()].sort());
  }
}

/** two znodes for one host:port (nerve's sequential names): the first one wins */
export function firstOfEachName(nodes: readonly ServiceNode[]): ServiceNode[] {
  const seen = new Set<string>();
  return nodes.filter((n) => !seen.has(n.name) && seen.add(n.name));
}
