/**
 * Initial access tokens (RFC 7591 section 3): minted by operators, presented as Bearer tokens at
 * /register when TESSERA_REGISTRATION is initial_access_token. Only the SHA-256 of a token is kept.
 */
export interface InitialAccessTokenRecord {
  /** A short public id for listing and revoking (not the token). */
  id: string;
  tokenHash: string;
  /** Registrations still allowed; null for any number until expiry. */
  usesLeft: number | null;
  createdAt: number;
  expiresAt: number;
}

export interface InitialAccessTokenStore {
  create(record: InitialAccessTokenRecord): Promise<void>;
  /** The live token with this hash (unexpired, uses left), without using it. */
  find(tokenHash: string, now: number): Promise<InitialAccessTokenRecord | undefined>;
  /** Uses the token once, atomically: true when it was live and had a use left. */
  consume(tokenHash: string, now: number): Promise<boolean>;
  list(now: number): Promise<InitialAccessTokenRecord[]>;
  /** Deletes a token by its id; false when there was none. */
  revoke(id: string): Promise<boolean>;
}
