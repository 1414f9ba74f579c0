import type { AdminRole, Page, PageQuery } from './admin.ts';
import type { ConsentRecord } from './consents.ts';
import type { UserRecord } from './users.ts';

/** A browser login session. The cookie holds a random value; only its hash is stored. */
export interface SessionRecord {
  idHash: string;
  /** Public session id, put in ID tokens as `sid`. */
  sid: string;
  userId: string;
  authTime: number;
  amr: string[];
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end. */
  expiresAt: number;
  /** The browser's User-Agent header when the session started, truncated (shown on the account page). */
  userAgent?: string;
  /** The address the session started from. */
  ip?: string;
  /** The hash of the browser's long-lived device cookie (never the cookie itself). */
  deviceHash?: string;
  /** The upstream sign-in that started it (issue 17), for the upstream's back-channel logout. */
  upstream?: SessionUpstream;
}

/** Which upstream identity a session was signed in with, and the upstream's own session id. */
export interface SessionUpstream {
  providerId: string;
  issuer: string;
  subject: string;
  sid?: string;
}

/**
 * A session with what a signed-in authorization request is decided from (SessionStore.getForClient):
 * who it is, whether that person is an operator, and what they consented to for the client.
 */
export interface SessionForClient {
  session: SessionRecord;
  /** The session's user, as users.get answers (undefined: no such user). */
  user: UserRecord | undefined;
  /** The user's admin role, as adminRoles.get has it (undefined: none). */
  adminRole: AdminRole | undefined;
  /** The user's remembered consent to the client, as consents.get answers (undefined: none). */
  consent: ConsentRecord | undefined;
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  /**
   * The session with this id hash (as get), with its user, the user's admin role and the user's
   * consent to `clientId`, read together (one statement: /authorize with a session reads them all,
   * at every single sign-on). Undefined when there is no such session, expired or not: the caller
   * judges expiry and the user, as with get.
   */
  getForClient(idHash: string, clientId: string): Promise<SessionForClient | undefined>;
  touch(idHash: string, now: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteByUser(userId: string): Promise<number>;
  /**
   * A page of every user's live sessions (not expired at `now`), by sid; `search` matches the sid, the user id or the
   * address.
   */
  page(q: PageQuery, now: number): Promise<Page<SessionRecord>>;
  /** How many sessions are live at `now` (the dashboard). */
  countLive(now: number): Promise<number>;
  /** The user's sessions (expired ones too, until cleanup), most recently seen first. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /**
   * Deletes the session with this public sid, only when it is this user's; the deleted record, or
   * undefined (no such session of this user).
   */
  deleteBySid(userId: string, sid: string): Promise<SessionRecord | undefined>;
  /**
   * Deletes the sessions signed in through this upstream identity (`subject`) or upstream session
   * (`sid`; both given: both must match), for the upstream's back-channel logout; the deleted records.
   */
  deleteByUpstream(
    providerId: string,
    issuer: string,
    match: { subject?: string; sid?: string },
  ): Promise<SessionRecord[]>;
  /**
   * Records a sign-in of the user from a browser (its device cookie's hash): `known` when the account
   * signed in from it before; else `new` when the account knew another browser already, or `first`
   * when it knew none (its very first sign-in). Atomic: of concurrent sign-ins from one browser
   * exactly one is not `known`; of concurrent first sign-ins from several, at most one is `first`.
   */
  rememberDevice(userId: string, deviceHash: string, now: number): Promise<DeviceSighting>;
  /**
   * Remembers that a client got tokens under a session (OpenID Connect back-/front-channel
   * logout). Idempotent; a later call extends the expiry.
   */
  addClient(entry: SessionClient): Promise<void>;
  /** The clients of a session, removed as they are returned: of concurrent callers exactly one gets each. */
  takeClients(sid: string): Promise<SessionClient[]>;
  /** The same, for every session of a user (user disabled, credentials changed). */
  takeClientsByUser(userId: string): Promise<SessionClient[]>;
}

/** One client that got tokens under a session. */
export interface SessionClient {
  sid: string;
  clientId: string;
  userId: string;
  createdAt: number;
  /** When the row may be dropped: the session's absolute end. */
  expiresAt: number;
}

/** What rememberDevice found: a browser the account knew, a new one beside others, or its first. */
export type DeviceSighting = 'known' | 'new' | 'first';
