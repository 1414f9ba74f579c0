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
   *
   * `issuedAt`: the earliest time the artifact may have been made: its `iat` (or, without one, its `exp` minus the
   * longest lifetime accepted) less the clock skew allowed to its issuer. A store that lost its markers (see `epoch`)
   * answers false for an artifact that may have been made before the loss: it may have been claimed in the markers
   * lost. `madeIn`: the generation the artifact is known to have been made in (a DPoP proof with a server nonce of that
   * generation): no date check while it is current.
   */
  claim(key: string, expiresAt: number, now: number, issuedAt?: number, madeIn?: number): Promise<boolean>;
  /**
   * Stores that can lose their markers (Redis restarted empty) keep an epoch in the database and
   * check it in the same atomic step as each marker, so a loss is seen by the first claim after
   * it. What this process knows of it now (synchronous; undefined before it is first read).
   */
  epoch?(now: number): ReplayEpoch | undefined;
}

export interface ReplayEpoch {
  /** Grows with each loss detected. DPoP server nonces are derived from it. */
  generation: number;
  /** When the last loss was detected, database time (epoch seconds); 0: never. */
  lostAt: number;
  /**
   * True from the loss until every artifact issued before it has expired (the longest accepted
   * lifetime plus the clock skew): DPoP proofs then need a server nonce of this generation.
   */
  recovering: boolean;
}

/** The epoch of a replay store that can lose its markers, kept in the database (the durable side). */
export interface ReplayEpochStore {
  /** The current generation, creating generation 1 (no loss) when there is none yet; `created` when this call did. */
  read(): Promise<{ generation: number; lostAt: number; created: boolean }>;
  /**
   * Records a loss seen while the generation was `seen`: the generation becomes at least
   * `atLeast` (and more than `seen`), with the database's time as `lostAt`. If the generation is
   * no longer `seen` (another process recorded it first), changes nothing. Returns the current one.
   */
  advance(seen: number, atLeast: number): Promise<{ generation: number; lostAt: number; advanced: boolean }>;
}
