/**
 * Single-use tokens mailed to users (migration 0024): email verification and password reset links.
 * Only the SHA-256 of a token is stored. Times are epoch seconds.
 */
export type AccountTokenPurpose = 'verify_email' | 'reset_password';

export interface AccountTokenRecord {
  tokenHash: string;
  userId: string;
  purpose: AccountTokenPurpose;
  /** The address the link was mailed to. */
  address: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export interface AccountTokenStore {
  /**
   * Stores a new token. With `replace`, every earlier unused token of the user for this purpose is
   * ended in the same transaction (a newer reset link invalidates the older ones).
   */
  issue(token: Omit<AccountTokenRecord, 'usedAt'>, opts: { replace: boolean }): Promise<void>;
  /** The token if it is unused and unexpired (no change: a page that only shows a form). */
  peek(tokenHash: string, purpose: AccountTokenPurpose, now: number): Promise<AccountTokenRecord | undefined>;
  /** Marks the token used if it is unused and unexpired, atomically: of concurrent callers one gets it. */
  consume(tokenHash: string, purpose: AccountTokenPurpose, now: number): Promise<AccountTokenRecord | undefined>;
  /** Ends every unused token of the user for this purpose (a sign-in ends reset links); how many. */
  invalidate(userId: string, purpose: AccountTokenPurpose, now: number): Promise<number>;
  /** Sets the user's email_verified when their email is still `address` (case-insensitive); whether it did. */
  markEmailVerified(userId: string, address: string, now: number): Promise<boolean>;
  /**
   * The users whose verified email is `address` (case-insensitive), at most a few; disabled accounts
   * only with `includeDisabled` (an upstream sign-in must see them, so as not to make a second account
   * for a disabled person).
   */
  usersWithVerifiedEmail(address: string, opts?: { includeDisabled?: boolean }): Promise<string[]>;
}
