/**
 * Single-use markers with an expiry: the replay cache for jti values of client assertions and DPoP
 * proofs, and any other artifact that must be accepted at most once across every process and
 * instance. The SQL backend is the default; with REDIS_URL the Redis backend stands in for it.
 */
export interface ReplayStore {
  /**
   * Atomically records `key` as used until `expiresAt` (epoch seconds). Returns true when the key
   * was not in use (the caller may accept the artifact), false when it was already recorded and has
   * not expired (a replay). Keys are namespaced by the caller (e.g. `dpop:<jkt>:<jti>`), at most
   * 512 characters. Fails (throws) when the backend is unreachable: callers fail closed.
   */
  claim(key: string, expiresAt: number, now: number): Promise<boolean>;
}
