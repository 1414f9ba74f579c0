/**
 * active: signs and is published. grace: no longer signs, still published until `retiredAt` so
 * tokens it signed keep verifying. retired: neither.
 */
export type KeyState = 'active' | 'grace' | 'retired';

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
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /** Inserts the key; if `onlyIfNoActive`, does so only when no active key exists (returns false then). */
  insert(key: SigningKeyRecord, onlyIfNoActive: boolean): Promise<boolean>;
  setState(kid: string, state: KeyState, now: number): Promise<void>;
  /**
   * Atomically moves the active key `expectedActive` to grace until `graceUntil` and makes `next`
   * the active key. Returns false, changing nothing, when `expectedActive` is no longer the active
   * key (someone else rotated first): so concurrent rotations give exactly one.
   */
  rotate(expectedActive: string, next: SigningKeyRecord, graceUntil: number): Promise<boolean>;
}
