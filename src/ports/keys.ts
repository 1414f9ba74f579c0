/**
 * The life of a signing key: prepublished (in the JWKS, not signing yet, so relying parties'
 * caches hold it before it signs) -> active (signs, published) -> grace (no longer signs, still
 * published until `retiredAt` so tokens it signed keep verifying) -> retired (neither).
 */
export type KeyState = 'prepublished' | 'active' | 'grace' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  state: KeyState;
  /** Public JWK (JSON). */
  publicJwk: Record<string, unknown>;
  /** Private JWK encrypted under the key-encryption key (compact JWE, dir + A256GCM). */
  privateJwe: string;
  createdAt: number;
  /** For grace keys: when they stop being published. For retired keys: when they were retired. */
  retiredAt: number | null;
  /**
   * Prepublished keys: when the schedule makes them active. Other keys: when they became active
   * (null for keys made before the schedule existed: `createdAt` stands in).
   */
  activatesAt: number | null;
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /**
   * Inserts the key; if `onlyIfNoActive`, does so only when no active key of its algorithm exists
   * (returns false then). Each algorithm has its own active key, prepublished key and schedule.
   */
  insert(key: SigningKeyRecord, onlyIfNoActive: boolean): Promise<boolean>;
  setState(kid: string, state: KeyState, now: number): Promise<void>;
  /**
   * Atomically moves the active key `expectedActive` to grace until `graceUntil` and makes `next`
   * the active key. Returns false, changing nothing, when `expectedActive` is no longer an active
   * key of `next`'s algorithm (someone else rotated first): so concurrent rotations give exactly one.
   */
  rotate(expectedActive: string, next: SigningKeyRecord, graceUntil: number): Promise<boolean>;
  /**
   * Stores `key` as the prepublished key of its algorithm unless one exists already (false then,
   * changing nothing): concurrent prepublishes give exactly one per algorithm.
   */
  prepublish(key: SigningKeyRecord): Promise<boolean>;
  /**
   * Atomically moves the active key `expectedActive` to grace until `graceUntil` and the
   * prepublished key `next` (of the same algorithm) to active (activatesAt = `now`). Returns false,
   * changing nothing, when either is no longer in that state or their algorithms differ:
   * concurrent promotions give exactly one.
   */
  promote(expectedActive: string, next: string, graceUntil: number, now: number): Promise<boolean>;
  /**
   * Moves the active key `kid` to grace until `graceUntil` with no successor (its algorithm is no
   * longer configured). Returns whether this call did it: exactly one of concurrent callers.
   */
  demote(kid: string, graceUntil: number): Promise<boolean>;
  /**
   * Retires the key `kid` if it is in `from` (and, for grace, only when its end `retiredAt` has
   * come by `now`, unless `early`). Returns whether this call retired it: exactly one of several
   * concurrent callers gets true.
   */
  retire(kid: string, now: number, opts: { early: boolean }): Promise<boolean>;
  /** Replaces the wrapped private key of `kid` only if it is still `expectedJwe` (re-wrapping under a new KEK). */
  rewrap(kid: string, expectedJwe: string, nextJwe: string): Promise<boolean>;
}
