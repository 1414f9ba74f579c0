export type KeyState = 'active' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  state: KeyState;
  /** Public JWK (JSON). */
  publicJwk: Record<string, unknown>;
  /** Private JWK encrypted under the key-encryption key (compact JWE, dir + A256GCM). */
  privateJwe: string;
  createdAt: number;
  retiredAt: number | null;
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /** Inserts the key; if `onlyIfNoActive`, does so only when no active key exists (returns false then). */
  insert(key: SigningKeyRecord, onlyIfNoActive: boolean): Promise<boolean>;
  setState(kid: string, state: KeyState, now: number): Promise<void>;
}
