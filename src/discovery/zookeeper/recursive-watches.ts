/**
 * The handlers of persistent recursive watches (addWatch, ZooKeeper 3.6+) on one session, by the
 * watched path: one server watch per path and connection, however many handlers. An event is
 * dispatched to the handlers of its own path and of its parent's (deeper ones are not).
 */
import type { RawEvent } from './zk-internals.js';

export type RecursiveHandler = (event: RawEvent) => void;

export class RecursiveWatches {
  private readonly byPath = new Map<string, Set<RecursiveHandler>>();

  add(path: string, handler: RecursiveHandler): void {
    let set = this.byPath.get(path);
    if (!set) this.byPath.set(path, (set = new Set()));
    set.add(handler);
  }

  remove(path: string, handler: RecursiveHandler): void {
    const set = this.byPath.get(path);
    if (set?.delete(handler) && set.size === 0) this.byPath.delete(path);
  }

  dispatch(event: RawEvent): void {
    if (this.byPath.size === 0) return;
    const path = event.path;
    const set = this.byPath.get(path) ?? this.byPath.get(path.slice(0, path.lastIndexOf('/')));
    if (set) for (const h of set) h(event);
  }
}
