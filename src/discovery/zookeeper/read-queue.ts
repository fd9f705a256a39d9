/** members' reads after a listing in flight at once, over every watch of one session */
export const READ_WINDOW = 400;

/**
 * The reads of listed members, of every cluster watch (watcher.ts) on one session, in the order the listings came,
 * READ_WINDOW at a time; the discovery instance owns one and gives it to each watch. A
 * cluster's first listing asks for every member, and with every read of a large writer's load
 * pending at once (each a promise, an async frame and the session's callbacks) its memory peaked
 * well above its steady state (bench/writer-process-scale.ts). A window per cluster bounded that
 * but made every cluster finish at the same moment, at the end of the load; one window in
 * listing order finishes clusters one after another. A few hundred reads in flight keep
 * ZooKeeper as busy as all of them.
 */
export class ReadQueue {
  private readonly jobs: (() => Promise<void>)[] = [];
  private head = 0;
  private active = 0;
  private readonly done = () => {
    this.active--;
    this.run();
  };
  add(job: () => Promise<void>): void {
    this.jobs.push(job);
    this.run();
  }
  private run(): void {
    const q = this.jobs;
    while (this.active < READ_WINDOW && this.head < q.length) {
      const job = q[this.head];
      q[this.head++] = undefined as unknown as () => Promise<void>;
      this.active++;
      job().then(this.done, this.done);
    }
    if (this.head === q.length) (q.length = 0), (this.head = 0);
    else if (this.head > 4096 && this.head * 2 > q.length) q.splice(0, this.head), (this.head = 0);
  }
}
