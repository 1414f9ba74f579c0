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
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | undefined>;
  touch(idHash: string, now: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  deleteByUser(userId: string): Promise<number>;
  /** The user's sessions not yet expired at `now`, oldest first (operators' listing, the account page). */
  listByUser(userId: string, now: number): Promise<SessionRecord[]>;
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
