/**
 * The one rise/fall state machine shared by every check (HAProxy / nerve semantics).
 *
 * A new instance starts not passing (unless `initial` says otherwise) and needs `rise`
 * consecutive passes before it first passes: a service that just started is not sent traffic on
 * one lucky probe. Once passing, `fall` consecutive failures make it fail, so one dropped probe
 * does not unpublish a healthy node. Each counter resets on a result of the opposite kind.
 */
export interface HysteresisState {
  passing: boolean;
  /** true only on the result that flipped `passing` */
  changed: boolean;
}

function assertCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`hysteresis ${name} must be an integer >= 1, got ${n}`);
}

export class Hysteresis {
  private rise: number;
  private fall: number;
  private state: boolean;
  /** consecutive results that disagree with the current state */
  private streak = 0;

  constructor(rise: number, fall: number, initial = false) {
    assertCount('rise', rise);
    assertCount('fall', fall);
    this.rise = rise;
    this.fall = fall;
    this.state = initial;
  }

  get passing(): boolean {
    return this.state;
  }

  record(ok: boolean): HysteresisState {
    if (ok === this.state) {
      // a result that agrees with the current state breaks any streak towards the other one
      this.streak = 0;
      return { passing: this.state, changed: false };
    }
    this.streak++;
    if (this.streak >= (this.state ? this.fall : this.rise)) {
      this.state = ok;
      this.streak = 0;
      return { passing: this.state, changed: true };
    }
    return { passing: this.state, changed: false };
  }

  /** New thresholds apply from the next result; the current state is kept (a config reload
   * must not unpublish a healthy node). A streak already past the new threshold flips on the
   * next result that continues it. */
  reconfigure(rise: number, fall: number): void {
    assertCount('rise', rise);
    assertCount('fall', fall);
    this.rise = rise;
    this.fall = fall;
  }
}
