// What operating Tessera needs of storage (issue 20): the admin roles of users, the per-minute
// figures each instance writes for the console's dashboard, and the paging every admin list uses.

/**
 * The roles of Tessera's own operators (distinct from the application roles users hold for apps):
 * owner (everything), admin (everything but making owners and admins), support (users and sessions,
 * no keys or settings), auditor (read-only and the audit export). protocol/admin-scopes.ts maps each
 * to its admin scopes.
 */
export const ADMIN_ROLES = ['owner', 'admin', 'support', 'auditor'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminRoleAssignment {
  userId: string;
  role: AdminRole;
  /** Epoch seconds. */
  grantedAt: number;
  /** Who assigned it: a user id, a client id, 'admin' (the break-glass token) or 'cli'. */
  grantedBy: string;
}

/** At most one admin role per user. */
export interface AdminRoleStore {
  get(userId: string): Promise<AdminRoleAssignment | undefined>;
  /** Sets (or replaces) the user's role. */
  set(assignment: AdminRoleAssignment): Promise<void>;
  /** Removes the user's role; false when there was none. */
  remove(userId: string): Promise<boolean>;
  list(): Promise<AdminRoleAssignment[]>;
  /** How many users hold the role (the last owner is never removed: admin/roles). */
  count(role: AdminRole): Promise<number>;
}

/**
 * Per-minute figures (tokens issued, sign-ins ok and failed, ...), added to by every instance, so the
 * dashboard shows one total for all instances behind a load balancer.
 */
export interface StatsStore {
  /**
   * Adds each value (an integer; zeros skipped) to the figure `name` of the minute that starts at
   * `minute` (epoch seconds, a multiple of 60), atomically: adds of several instances at once all count.
   * Cleanup deletes the minutes older than 8 days.
   */
  add(minute: number, values: Record<string, number>): Promise<void>;
  /**
   * The figures of the minutes in [from, to), summed over instances, oldest first; minutes without figures are absent.
   */
  range(from: number, to: number): Promise<{ minute: number; values: Record<string, number> }[]>;
  /** Retention: deletes the minutes before `minute`; how many rows. */
  deleteBefore(minute: number): Promise<number>;
}

/**
 * One page of an admin list: `after` is the key of the last item of the page before (absent: the
 * first page), `limit` at most 200 (more is cut to 200); `search` a case-insensitive substring of the
 * list's search fields, its characters taken literally (no wildcards).
 */
export interface PageQuery {
  after?: string;
  limit: number;
  search?: string;
}

/** The items of a page in key order, and the key to ask for the next page with (absent: this was the last). */
export interface Page<T> {
  items: T[];
  next?: string;
}
