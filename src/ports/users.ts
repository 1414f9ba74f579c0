import type { Page, PageQuery } from './admin.ts';

/** Who created an account: an operator (bootstrap file, CLI, demo seed), the user (sign-up), or an upstream sign-in. */
export type UserOrigin = 'operator' | 'signup' | 'upstream';

export interface UserRecord {
  id: string;
  /** As the user or operator wrote it; compared by its canonical form (src/accounts/usernames.ts). */
  username: string;
  passwordHash: string | null;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Absent: operator (what every account created before origins were recorded is taken to be). */
  origin?: UserOrigin;
  /** An operator requires a second factor of this user, whatever the policy (absent: false). */
  mfaRequired?: boolean;
  /**
   * Under a required policy: until when this user, who has no factor yet, may skip enrolling one (absent: not started).
   */
  mfaEnrolBy?: number | null;
  /** The language the user chose on their account page (en, de, fr; i18n/negotiate.ts); absent: none chosen. */
  locale?: string | null;
}

/**
 * The keys a user store compares usernames by: the canonical form (RFC 8265; undefined for a name
 * that is not a valid username) and the confusable skeleton (UTS #39). accounts/usernames.ts
 * defines them (`usernameKeys`); the composition root gives them to the storage adapter.
 */
export interface UsernameKeys {
  canonical(username: string): string | undefined;
  skeleton(username: string): string;
}

/**
 * What is left of a deleted account: its id, never issued again, and its username (canonical form)
 * that no new account may take until `reservedUntil` (epoch seconds).
 */
export interface UserTombstone {
  userId: string;
  /** Null for a username without a canonical form. */
  usernameCanonical: string | null;
  deletedAt: number;
  reservedUntil: number;
}

export interface UserStore {
  get(id: string): Promise<UserRecord | undefined>;
  /**
   * The user whose username has the same canonical form (RFC 8265) as `username`; an existing
   * username without a canonical form (a collision left by migration 0014) matches exactly only.
   */
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** The user holding the canonical form of `username` (rows kept without one are not considered). */
  findByCanonical(username: string): Promise<UserRecord | undefined>;
  /** A user whose username has the same confusable skeleton (UTS #39) as `username`, if any. */
  findConfusable(username: string): Promise<UserRecord | undefined>;
  /** The users whose username has no canonical form: collisions and invalid names kept by migration 0014. */
  listUnresolved(): Promise<UserRecord[]>;
  list(): Promise<UserRecord[]>;
  /** A page of users in id order; `search` matches username, email or name (case-insensitive substring). */
  page(q: PageQuery): Promise<Page<UserRecord>>;
  /** How many users there are (the dashboard). */
  count(): Promise<number>;
  /** Creates the user or replaces it whole (matched by id); fails if its canonical username is another user's. */
  put(user: UserRecord): Promise<void>;
  /** Creates the user unless its id or (canonical) username exists already (atomically); whether it was created. */
  create(user: UserRecord): Promise<boolean>;
  /**
   * Deletes the user (and the devices it signed in from, and its admin role) and leaves its tombstone, in one
   * transaction: the username's canonical form is computed by the store. False when there was no
   * such user.
   */
  deleteWithTombstone(id: string, at: number, reservedUntil: number): Promise<boolean>;
  /** The tombstone of a deleted account with this id, if any. */
  tombstone(id: string): Promise<UserTombstone | undefined>;
  /** Whether a deleted account's username with the same canonical form is still reserved at `now`. */
  usernameReserved(username: string, now: number): Promise<boolean>;
}
