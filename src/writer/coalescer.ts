/**
 * Runs an async job as soon as possible after `trigger()`, never two at once: triggers that
 * arrive while the job runs are folded into one more run right after it. Bursts of ZooKeeper
 * events (one per znode) thus become one apply without adding a fixed delay to the first.
 */
export class Coalescer {
  private running = false;
  private again = false;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(private readonly job: () => Promise<void>) {}

  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: let events already read from the socket in this tick join the batch
    setImmediate(() => void this.run());
  }

  /** Resolves when no run is pending or in progress (tests, shutdown). */
  settled(): Promise<void> {
    if (!this.running && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      do {
        this.again = false;
        await this.job();
      } while (this.again);
    } finally {
      this.running = false;
      if (!this.scheduled) for (const f of this.idle.splice(0)) f();
    }
  }
}
