/** One security-relevant action, as the audit trail records it. Never a token value or secret. */
export interface AuditEvent {
  /** When it happened, epoch milliseconds. */
  at: number;
  type: string;
  /** Who acted: a user id, a client id, 'admin' or 'system'; null when unknown (a failed login). */
  actor: string | null;
  clientId: string | null;
  ip: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, string | number | boolean | null>;
}

/**
 * A stored event, chained to the one before it: hash = SHA-256(prevHash + '\n' + canonical JSON of the event and its
 * seq).
 */
export type AuditRecord = AuditEvent & { seq: number; prevHash: string; hash: string };

export interface AuditQuery {
  /** Inclusive lower bound of `at`, epoch ms. */
  from?: number;
  /** Exclusive upper bound of `at`, epoch ms. */
  to?: number;
  type?: string;
  /** Only the records with this actor (a user's own actions: their user id). */
  actor?: string;
  /** Only records of one of these types. */
  types?: readonly string[];
  limit?: number;
  /** Only records of this client (its clientId column). */
  clientId?: string;
  /** Only records about this user: its actor, or its `user` / `user_id` detail (exactly that id). */
  userId?: string;
  outcome?: 'success' | 'failure';
  /**
   * Only records before this seq (cursor paging of the admin API and console: with `descending` and
   * a limit, the next page is asked for with the last seq of the page before); `from`/`to` still apply.
   */
  beforeSeq?: number;
  /** Newest first (default: oldest first; with a limit, the latest records of the selection either way). */
  descending?: boolean;
}

export type AuditVerifyResult =
  | { ok: true; checked: number }
  | { ok: false; checked: number; firstBroken: number; reason: string };

/**
 * The append-only, hash-chained audit trail, shared by every process. append() extends the chain
 * atomically (one transaction holding the chain head), so concurrent writers never fork it.
 */
export interface AuditStore {
  append(events: AuditEvent[]): Promise<void>;
  /** Records in seq order, oldest first unless `descending`. */
  query(q: AuditQuery): Promise<AuditRecord[]>;
  /**
   * Recomputes every remaining record's hash and link in seq order and names the first broken seq.
   * The first remaining record's prevHash is taken on trust (retention deletes the records before it).
   */
  verify(): Promise<AuditVerifyResult>;
  /** Retention: deletes records older than `at` (epoch ms); returns how many. */
  deleteBefore(at: number): Promise<number>;
}
