import type { SessionUpstream } from './sessions.ts';

/**
 * A sign-in waiting for its second factor: the password (or another first factor) was right, but no
 * session exists yet. It is bound to the browser by a random cookie, of which only the hash is kept,
 * used once, and lives as long as an interaction.
 */
export interface PendingSignInRecord {
  /** Hash of the browser's sign-in cookie. */
  idHash: string;
  userId: string;
  /** The methods passed so far (RFC 8176), e.g. ['pwd']. */
  amr: string[];
  /** Where the sign-in goes on: `ia:<uid>` (an authorization request's interaction) or `account`. */
  continueTo: string;
  /** The user was signed in already and is asked for more (step-up), not signing in. */
  stepUp: boolean;
  /** An upstream sign-in's identity (issue 17): the session made after the factor records it. */
  upstream?: SessionUpstream;
  createdAt: number;
  expiresAt: number;
}

/** A browser remembered after a second factor (TESSERA_MFA_REMEMBER_DEVICE): the hash of its cookie. */
export interface RememberedDeviceRecord {
  idHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

export interface SignInStore {
  createPending(record: PendingSignInRecord): Promise<void>;
  /** The live pending sign-in with this cookie hash (an expired one is not returned). */
  getPending(idHash: string, now: number): Promise<PendingSignInRecord | undefined>;
  /** Deletes it and returns it to the first caller only (while it is live). */
  consumePending(idHash: string, now: number): Promise<PendingSignInRecord | undefined>;
  rememberDevice(record: RememberedDeviceRecord): Promise<void>;
  /** Whether this cookie hash is a live remembered device of this user. */
  isRememberedDevice(idHash: string, userId: string, now: number): Promise<boolean>;
  /**
   * A user's credentials changed (password changed or reset, a factor removed or reset, the account
   * deleted, sessions ended by an operator): forgets every remembered device of the user and drops
   * the user's sign-ins waiting for a second factor (begun with what may be the old password); how
   * many devices.
   */
  forgetUser(userId: string): Promise<number>;
}
