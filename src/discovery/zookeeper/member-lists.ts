/**
 * The memberLists of one watched cluster (watcher.ts): built from its members, sent to the
 * listener when they differ from the last one sent.
 */
import { isDeepStrictEqual } from 'node:util';
import { markSorted, sameNodes, sortNodes, type ServiceNode } from '../../core/node.js';
import type { MembersListener } from '../../core/plugin.js';
import { firstOfEachName, type Member, type Members } from './members.js';

export class MemberLists {
  /** the last member list sent */
  private last: readonly ServiceNode[] | null = null;
  /** the member order the last full pass (send) went through, when it set every `pos` and
   * every znode was named as its node: while it is the order, one member's new data is one
   * slot of the last member list */
  private passed: readonly string[] | null = null;

  constructor(private readonly listener: MembersListener) {}

  /** The next member list is sent even if it equals the last (a new session: the Discovery contract). */
  forget(): void {
    this.last = null;
  }

  /**
   * Send the member list of `members` unless a read is still in flight or it equals the last one
   * sent. Runs on every answer (`changed`: the member it was about). One member's new data
   * while the members are those of the last full pass is one slot of the last member list, found
   * by the member's `pos`. Otherwise one pass over the
   * members: a member named HOST:PORT as Lighthouse names it has a node of that name, the names
   * are unique and already in order, so the pass is the member list; only znodes named otherwise
   * (nerve's sequential names) need the de-duplication and the sort, and no slot path after.
   * The slot path keeps a one-node change in a large cluster from costing a pass over every
   * member (bench/writer-process-scale.ts --clusters 2 --nodes 5000).
   */
  send(members: Members, changed?: Member): void {
    const last = this.last;
    const order = members.names();
    // one member's data, the members as the last pass saw them: its slot (a member that came,
    // went, or has no node is a change of order or of slots: the full pass)
    if (changed && last && order === this.passed && changed.pos >= 0 && changed.node?.name === last[changed.pos].name) {
      const was = last[changed.pos];
      if (was === changed.node || isDeepStrictEqual(was, changed.node)) return;
      const next = last.slice();
      next[changed.pos] = changed.node;
      markSorted(next);
      this.last = next;
      this.listener(next);
      return;
    }
    const nodes: ServiceNode[] = [];
    let renamed = false;
    for (const n of order) {
      const m = members.get(n)!;
      if (m.mzxid < 0) return;
      m.pos = m.node ? nodes.length : -1;
      if (m.node) nodes.push(m.node), (renamed ||= m.node.name !== n);
    }
    this.passed = renamed ? null : order;
    const sorted = renamed ? sortNodes(firstOfEachName(nodes)) : markSorted(nodes);
    if (last && sameNodes(last, sorted)) return;
    this.last = sorted;
    this.listener(sorted);
  }
}
