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
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /**
   * The same count, done synchronously: offered by in-process adapters only, so callers can skip
   * an asynchronous hop on every request. Same semantics as `hit`.
   */
  hitNow?(key: string, windowMs: number): { count: number; resetMs: number };
  /**
   * Several hits at once (a request's rules), each with `hit`'s semantics, the results in the
   * order asked: offered by adapters for which one exchange costs less than one per key.
   */
  hitMany?(hits: readonly { key: string; windowMs: number }[]): Promise<{ count: number; resetMs: number }[]>;
}
