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
}
