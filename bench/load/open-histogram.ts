// A latency histogram with logarithmic buckets: every value is kept (no sampling), in constant
// memory, and any percentile is read back within 0.5% of the true value (for values of 1 µs and more; within 5 ns
// below). Values are recorded in microseconds, kept in units of 10 ns.

/** Relative width of a bucket: a bucket's midpoint is within GROWTH/2 of any value in it. */
const GROWTH = 0.01;
const LOG_GROWTH = Math.log1p(GROWTH);
/** Units per microsecond. */
const SCALE = 100;
/** Below this many units every integer has its own bucket (log buckets would be finer than 1 unit). */
const LINEAR = Math.ceil(1 / GROWTH);
const LOG_BASE = Math.floor(Math.log(LINEAR) / LOG_GROWTH);

export interface Percentiles {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LogHistogram {
  #counts: number[] = [];
  #count = 0;
  #max = 0;

  /** Records one value, microseconds (negative values count as 0). */
  record(us: number): void {
    const v = Math.max(0, us * SCALE);
    const i = v < LINEAR ? Math.floor(v) : LINEAR + Math.floor(Math.log(v) / LOG_GROWTH) - LOG_BASE;
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  #low(i: number): number {
    return i < LINEAR ? i : Math.exp((i - LINEAR + LOG_BASE) * LOG_GROWTH);
  }

  /** The bucket's midpoint (its value for the linear ones). */
  #value(i: number): number {
    return i < LINEAR ? i + 0.5 : this.#low(i) * (1 + GROWTH / 2);
  }

  /** The p-th percentile (nearest rank), microseconds; the exact maximum for p = 100; 0 when empty. */
  percentile(p: number): number {
    return this.#units(p) / SCALE;
  }

  #units(p: number): number {
    if (this.#count === 0) return 0;
    if (p >= 100) return this.#max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.#value(i), this.#max);
    }
    return this.#max;
  }

  summary(): Percentiles {
    const ms = (p: number) => Math.round(this.percentile(p)) / 1000;
    return { count: this.#count, p50Ms: ms(50), p90Ms: ms(90), p99Ms: ms(99), p999Ms: ms(99.9), maxMs: ms(100) };
  }
}
