import type { UserRecord } from './users.ts';
import type { SessionClient } from './sessions.ts';

/**
 * A grant is what one authorization produced: the family of refresh tokens and the access tokens
 * issued from it. Revoking the grant revokes all of them at once.
 */
export interface GrantRecord {
  id: string;
  clientId: string;
  userId: string;
  scope: string;
  resource: string | null;
  sid: string | null;
  authTime: number | null;
  amr: string[];
  createdAt: number;
  /** Absolute end of the refresh-token family. */
  expiresAt: number;
  revokedAt: number | null;
  /** RFC 9449 section 5: the DPoP key (JWK thumbprint) the refresh tokens of a public client are bound to. */
  dpopJkt?: string | null;
  /** RFC 9396: the authorization_details granted (JSON array text), kept for every refresh. */
  authorizationDetails?: string | null;
  /** OIDC Core 5.5: the user claims the authorization request's `claims` parameter asked for (ID token, userinfo). */
  claims?: { id_token: string[]; userinfo: string[]; acr?: string[] } | null;
  /** RFC 8705 section 4: the client certificate (x5t#S256) the refresh tokens of a public client are bound to. */
  certThumbprint?: string | null;
}

export interface RefreshTokenRecord {
  /** timeOrderedKey of the token (protocol/hash.ts). */
  tokenHash: string;
  grantId: string;
  clientId: string;
  scope: string;
  createdAt: number;
  /** Idle expiry (capped by the grant's absolute expiry). */
  expiresAt: number;
  usedAt: number | null;
}

/** An access token issued from a grant, remembered so that revoking the grant reaches it. */
export interface IssuedAccessToken {
  jti: string;
  expiresAt: number;
}

/**
 * What `accept` decided about a presented refresh token: go on, with `value` (what the decision
 * found, handed to `next` and returned in the store's result), or refuse, with members of the
 * caller's own (`R`) that the store returns as they are.
 */
export type Verdict<A, R extends object = object> = { ok: true; value: A } | ({ ok: false } & R);

/** The records a rotation stores: the presented token's successor and the new access token. */
export interface Rotation {
  refresh: RefreshTokenRecord;
  access: IssuedAccessToken;
  /**
   * With a reuse grace (rotate's `grace`): the successor's token response, sealed by the caller
   * (never a token value in clear), kept until the grace ends and handed back, as it is, to a
   * presentation of the same token with the same binding in the meantime.
   */
  replay?: string;
}

/**
 * The reuse grace of one rotation (TESSERA_REFRESH_REUSE_GRACE): until `until` (exclusive), the
 * presented token, once rotated, may be presented again with the same `binding` (what identifies
 * the presenter and its request: client, sender-constraint keys, parameters; compared exactly)
 * and is then answered with the stored successor instead of revoking the family, as long as that
 * successor has not been used itself.
 */
export interface RefreshGrace {
  until: number;
  binding: string;
}

/**
 * Refused: the token is unknown, of a revoked grant, or `accept` refused it, in which case the
 * refusal's members (`R`) are here.
 */
export type RefusedRefresh<R extends object> = { status: 'invalid' } & Partial<R>;

export type UseRefreshResult<A = unknown, R extends object = object, N extends IssuedAccessToken = IssuedAccessToken> =
  /** `accepted` is the value of accept's verdict, `issued` what next returned (of the run that was committed). */
  | { status: 'used'; grant: GrantRecord; refresh: RefreshTokenRecord; accepted: A; issued: N }
  /** A rotated-out token was presented again: the family has been revoked (as in rotate). */
  | { status: 'reused'; grantId: string; clientId: string }
  | RefusedRefresh<R>;

export type RotateResult<A = unknown, R extends object = object, N extends Rotation = Rotation> =
  /** `accepted` is the value of accept's verdict, `issued` what next returned (of the run that was committed). */
  | { status: 'rotated'; grant: GrantRecord; previous: RefreshTokenRecord; accepted: A; issued: N }
  /** A rotated-out token was presented again: the family has been revoked. */
  | { status: 'reused'; grantId: string; clientId: string }
  /**
   * Within the reuse grace of the rotation that used the token, with the same binding, its
   * successor still unused: `replay` is what that rotation's next stored (Rotation.replay), made at
   * `rotatedAt`. Nothing was written.
   */
  | { status: 'replayed'; grant: GrantRecord; accepted: A; replay: string; rotatedAt: number }
  | RefusedRefresh<R>;

export interface GrantStore {
  /**
   * Stores the grant, its first refresh token (if any) and first access token in one transaction;
   * with `sessionClient`, the same transaction records the client under the browser session the
   * grant was made in (as SessionStore.addClient does), for back- and front-channel logout.
   *
   * `redeemedCode`: the hash of the authorization code this grant redeems (CodeStore.consume
   * answered 'ok' for it). The same transaction reads the code's replay mark, under the code row's
   * lock where there are row locks, and `codeReplayed` says whether it was set: true as well for a
   * code no longer stored. A replay marks the code, then revokes the code's grant; the mark is read
   * as the grant is committed, so either the replay's mark is seen here or the replay's revocation
   * comes after the grant exists (its mark waited for the lock, or came later): the grant is revoked
   * either way, by the caller when `codeReplayed`.
   */
  create(
    grant: GrantRecord,
    refresh: RefreshTokenRecord | null,
    access: IssuedAccessToken,
    sessionClient?: SessionClient,
    redeemedCode?: string,
  ): Promise<{ codeReplayed: boolean }>;
  get(id: string): Promise<GrantRecord | undefined>;
  getRefresh(tokenHash: string): Promise<{ refresh: RefreshTokenRecord; grant: GrantRecord } | undefined>;
  /**
   * Atomic rotation: marks the presented token used and stores its successor, for exactly one
   * caller. A token already used revokes the whole family and returns 'reused'. The checks of
   * client binding, expiry and grant state are passed in as `accept`, run inside the transaction;
   * it is given the grant's user as read in that transaction (undefined when there is none), so
   * that nothing has to be read after the rotation has committed. `next` makes the records to
   * store from the accepted token, its grant and the verdict's value.
   *
   * The callbacks may run more than once for one call: when a group commit fails (SQLite, see
   * adapters/sql/batching.ts) each transaction of the group is run again on its own, and a
   * transaction may be retried. So they must be pure functions of their arguments: no writes to
   * anything outside them, their results reaching the caller only through the result of rotate(),
   * which carries the verdict's value (`accepted`) and next's output (`issued`) of the run that was
   * committed. They may draw fresh random values (a new token each run): only the committed run's
   * are stored and returned.
   *
   * With `grace`, a rotation also keeps `replay` (what next returned in it) for the presented
   * token until `grace.until`, replacing whatever the family kept before (one per family: the
   * token rotated last). A used token presented again is then answered 'replayed' instead of
   * revoking the family when all of these hold, read under the same locks: it is the token a
   * rotation kept a replay for, `now` is before that rotation's `until`, the binding is the one it
   * was rotated with, its successor is unused and unexpired, the grant is unexpired; and accept()
   * (run on the used token, next not at all) agrees, its refusal returned as for a live token.
   * Anything else is reuse, as without grace. The replay kept is erased when the family rotates
   * again, is revoked, or when the cleanup runs after `until`.
   */
  rotate<A, R extends object, N extends Rotation>(
    tokenHash: string,
    now: number,
    accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
    next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
    grace?: RefreshGrace,
  ): Promise<RotateResult<A, R, N>>;
  /**
   * Use without rotation (FAPI 2.0 clients): the presented token stays valid, its idle expiry moves
   * to `idleExpiresAt` (capped by the grant's) and the new access token `next` returns is recorded
   * with the grant; the same checks as rotate() run under the same locks, and its callbacks may be
   * run more than once just as rotate's (they must be pure). A token that was rotated out earlier
   * is still reuse: the family is revoked and 'reused' returned.
   */
  useRefresh<A, R extends object, N extends IssuedAccessToken>(
    tokenHash: string,
    now: number,
    idleExpiresAt: number,
    accept: (refresh: RefreshTokenRecord, grant: GrantRecord, user: UserRecord | undefined) => Verdict<A, R>,
    next: (refresh: RefreshTokenRecord, grant: GrantRecord, accepted: A) => N,
  ): Promise<UseRefreshResult<A, R, N>>;
  /** Revokes the grant, every refresh token of it and every access token issued from it. */
  revoke(id: string, now: number): Promise<boolean>;
  revokeByUserAndClient(userId: string, clientId: string, now: number): Promise<number>;
  /** Revokes every active grant of a client (disabling it), in one transaction; returns how many. */
  revokeByClient(clientId: string, now: number): Promise<number>;
  /** Revokes every active grant of a user (disabling them), in one transaction; returns how many. */
  revokeByUser(userId: string, now: number): Promise<number>;
  listActiveByUser(userId: string, now: number): Promise<GrantRecord[]>;
  /** The active grants of a client (neither revoked nor expired at `now`), newest first, at most `limit`. */
  listActiveByClient(clientId: string, now: number, limit: number): Promise<GrantRecord[]>;
  /** How many grants are active at `now` (the dashboard: counts from the database). */
  countActive(now: number): Promise<number>;
  /** The grant an access token was issued from (by its jti), if it was issued from one. */
  findByAccessToken(jti: string): Promise<GrantRecord | undefined>;
  /**
   * Remembers one more access token as issued from a grant (token exchange), so revoking the
   * grant reaches it. False, and nothing stored, when the grant is missing or revoked; a
   * concurrent revocation either sees the new token or makes this return false.
   */
  addAccessToken(grantId: string, access: IssuedAccessToken): Promise<boolean>;
}

/**
 * A holder of access tokens that can be taken out of service as a whole: a client (`client:<id>`,
 * matched against a token's client_id) or a user (`user:<id>`, matched against its sub).
 */
export type TokenHolder = `client:${string}` | `user:${string}`;

/**
 * How long after a holder is enabled again its cut-off is kept: the longest access-token lifetime
 * (TESSERA_ACCESS_TOKEN_TTL at most 86 400 s) and an hour of margin. A holder's row in
 * revoked_tokens is keyed by the holder and its expires_at is the cut-off plus this span (the
 * far future while disabled), so the periodic cleanup forgets it once every token it could refuse
 * has expired.
 */
export const HOLDER_CUTOFF_SPAN = 86_400 + 3600;
/** expires_at of a disabled holder's row (9999-12-31): every token it issued or holds is refused. */
export const HOLDER_DISABLED = 253_402_300_799;

export interface RevocationStore {
  /** Revokes one access token by its jti until it would have expired anyway. */
  revokeAccessToken(jti: string, expiresAt: number): Promise<void>;
  isAccessTokenRevoked(jti: string): Promise<boolean>;
  /**
   * Whether an access token is revoked: its jti, or its client or user (by sub) disabled now or
   * since it was issued. One lookup of three keys, read fresh from the database (no cache), so a
   * disable counts at once on every instance.
   */
  isTokenRevoked(token: { jti: string; iat: number; client_id: string; sub: string }): Promise<boolean>;
  /**
   * Disabling a holder refuses every token of it from now on; enabling it again refuses only the
   * tokens issued up to `now`, that second included (so none issued earlier comes back; iat has
   * whole seconds), until they have all expired.
   */
  setHolderDisabled(holder: TokenHolder, disabled: boolean, now: number): Promise<void>;
  /**
   * Refuses every token the holder was issued up to `now` (that second included), whether or not
   * it was disabled: what a deleted client's tokens need, so they stop at introspection and
   * userinfo at once; a client created later under the same id starts clean.
   */
  cutOffHolder(holder: TokenHolder, now: number): Promise<void>;
}
