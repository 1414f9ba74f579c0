/** One counted hit: the count in the current window, this hit included, and the milliseconds until the window ends. */
export interface Hit {
  count: number;
  resetMs: number;
}

/** A hit asked for: `ahead` as in `RateLimitStore.hit`. */
export interface HitRequest {
  key: string;
  windowMs: number;
  ahead?: number;
}

/**
 * Request counters for rate limiting: fixed windows that start at a key's first hit. The
 * in-process adapter counts per process; the Redis adapter counts for every process and instance
 * sharing the Redis.
 */
export interface RateLimitStore {
  /**
   * Atomically counts one hit of `key` and returns the count in the current window, this hit
   * included, and the milliseconds until the window ends. A window of `windowMs` starts at the
   * first hit of a key with no running window. N concurrent hits of a fresh key get the counts
   * 1..N, each exactly once. Throws BackendUnavailableError when the backend is unreachable.
   *
   * `ahead` (default 1): how many counts a shared adapter may reserve for this process at once,
   * this hit's included, so that the next hits of the key in the window are counted without asking
   * the backend (see `reserved`). Every count is still given to one hit at most and one process's
   * counts come in order, so a limit is not passed while the backend keeps its counts; a count
   * reserved by one process and not used before the window ends is given to no one, so a rule may
   * refuse hits before its limit (typically up to `ahead - 1` per process). Adapters that count in
   * this process ignore it.
   */
  hit(key: string, windowMs: number, ahead?: number): Promise<Hit>;
  /**
   * The same count, done synchronously: offered by in-process adapters only, so callers can skip
   * an asynchronous hop on every request. Same semantics as `hit`.
   */
  hitNow?(key: string, windowMs: number): Hit;
  /**
   * Several hits at once (a request's rules), each with `hit`'s semantics, the results in the
   * order asked: offered by adapters for which one exchange costs less than one per key.
   */
  hitMany?(hits: readonly HitRequest[]): Promise<Hit[]>;
  /**
   * The next count this process holds reserved for `key` (by a hit with `ahead` above 1), taken
   * synchronously; undefined when none is left in a running window (then `hit` asks the backend).
   */
  reserved?(key: string): Hit | undefined;
}
