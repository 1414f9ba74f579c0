import { randomUUID } from 'node:crypto';
import { sql, type Compilable, type CompiledQuery, type Kysely, type QueryResult, type Selectable, type Transaction } from 'kysely';
import type {
  AuditEvent, AuditRecord, AuditVerifyResult, ClientRecord, CodeRecord, ConsentRecord, DeviceCodeRecord, DeviceCodeStatus, GrantRecord, InteractionRecord, IssuedAccessToken, KeyState,
  RefreshTokenRecord, ResourceServerRecord, RotateResult, UseRefreshResult, SessionClient, SessionRecord, SigningKeyRecord, Stores, UserRecord,
} from '../../ports/index.ts';
import type { UserOrigin, UsernameKeys } from '../../ports/users.ts';
import { DEFAULT_AUDIENCE } from '../../ports/consents.ts';
import { canonicalDetails, chainHash, GENESIS_HASH, normalizeEvent } from './audit-chain.ts';
import { batchedLookup } from './batched-lookups.ts';
import { groupCommit } from './group-commit.ts';
import type { DatabaseHandle } from './database.ts';
import { HOLDER_CUTOFF_SPAN, HOLDER_DISABLED } from '../../ports/grants.ts';
import type {
  AuditEventsTable, AuthCodesTable, ClientsTable, ConsentsTable, DeviceCodesTable, GrantsTable, InteractionsTable, RefreshTokensTable, Schema,
  ResourceServersTable, SessionClientsTable, SessionsTable, SigningKeysTable, UsersTable,
} from './schema.ts';

type Db = Kysely<Schema> | Transaction<Schema>;
type Row<T> = Selectable<T>;

// ---- row <-> record mappers: one pair per table -------------------------------------------------

const bool = (v: boolean) => (v ? 1 : 0);
const json = (v: unknown) => JSON.stringify(v);

const clientRow = (c: ClientRecord): ClientsTable => ({
  client_id: c.clientId, client_name: c.clientName, secret_hash: c.secretHash,
  token_endpoint_auth_method: c.tokenEndpointAuthMethod, application_type: c.applicationType,
  redirect_uris: json(c.redirectUris), post_logout_redirect_uris: json(c.postLogoutRedirectUris),
  grant_types: json(c.grantTypes), scopes: json(c.scopes), allowed_resources: json(c.allowedResources),
  skip_consent: bool(c.skipConsent), disabled: bool(c.disabled), metadata: json(c.metadata), created_at: c.createdAt, updated_at: c.updatedAt,
});
const toClient = (r: Row<ClientsTable>): ClientRecord => ({
  clientId: r.client_id, clientName: r.client_name, secretHash: r.secret_hash,
  tokenEndpointAuthMethod: r.token_endpoint_auth_method as ClientRecord['tokenEndpointAuthMethod'],
  applicationType: r.application_type as ClientRecord['applicationType'],
  redirectUris: JSON.parse(r.redirect_uris), postLogoutRedirectUris: JSON.parse(r.post_logout_redirect_uris),
  grantTypes: JSON.parse(r.grant_types), scopes: JSON.parse(r.scopes), allowedResources: JSON.parse(r.allowed_resources),
  skipConsent: r.skip_consent === 1, disabled: r.disabled === 1, metadata: JSON.parse(r.metadata), createdAt: r.created_at, updatedAt: r.updated_at,
});

const resourceServerRow = (r: ResourceServerRecord): ResourceServersTable => ({
  identifier: r.identifier, display_name: r.displayName, scopes: json(r.scopes), access_token_ttl: r.accessTokenTtl,
  signing_alg: r.signingAlg, dpop: r.dpop, created_at: r.createdAt, updated_at: r.updatedAt,
});
const toResourceServer = (r: Row<ResourceServersTable>): ResourceServerRecord => ({
  identifier: r.identifier, displayName: r.display_name, scopes: JSON.parse(r.scopes),
  accessTokenTtl: r.access_token_ttl === null ? null : Number(r.access_token_ttl), signingAlg: r.signing_alg,
  dpop: r.dpop === 'required' ? 'required' : 'optional', createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
});

/** The row of a user: its username's canonical form and skeleton computed by `keys`. */
const userRow = (u: UserRecord, keys: UsernameKeys): UsersTable => ({
  id: u.id, username: u.username, password_hash: u.passwordHash, email: u.email, email_verified: bool(u.emailVerified),
  name: u.name, given_name: u.givenName, family_name: u.familyName, disabled: bool(u.disabled),
  created_at: u.createdAt, updated_at: u.updatedAt,
  username_canonical: keys.canonical(u.username) ?? null, username_skeleton: keys.skeleton(u.username), origin: u.origin ?? 'operator',
});
const toUser = (r: Row<UsersTable>): UserRecord => ({
  id: r.id, username: r.username, passwordHash: r.password_hash, email: r.email, emailVerified: r.email_verified === 1,
  name: r.name, givenName: r.given_name, familyName: r.family_name, disabled: r.disabled === 1,
  createdAt: r.created_at, updatedAt: r.updated_at, origin: r.origin as UserOrigin,
});

const sessionRow = (s: SessionRecord): SessionsTable => ({
  id_hash: s.idHash, sid: s.sid, user_id: s.userId, auth_time: s.authTime, amr: json(s.amr),
  created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt,
});
const toSession = (r: Row<SessionsTable>): SessionRecord => ({
  idHash: r.id_hash, sid: r.sid, userId: r.user_id, authTime: r.auth_time, amr: JSON.parse(r.amr),
  createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at,
});
const toSessionClient = (r: Row<SessionClientsTable>): SessionClient => ({
  sid: r.sid, clientId: r.client_id, userId: r.user_id, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
});

const interactionRow = (i: InteractionRecord): InteractionsTable => ({
  uid: i.uid, client_id: i.clientId, params: json(i.params), browser_hash: i.browserHash,
  session_id_hash: i.sessionIdHash, login_at: i.loginAt, created_at: i.createdAt, expires_at: i.expiresAt,
});
const toInteraction = (r: Row<InteractionsTable>): InteractionRecord => ({
  uid: r.uid, clientId: r.client_id, params: JSON.parse(r.params), browserHash: r.browser_hash,
  sessionIdHash: r.session_id_hash, loginAt: r.login_at, createdAt: r.created_at, expiresAt: r.expires_at,
});

/** Consent to `scopes` at each of `resources` (none: the default audience) added to `before`. */
function mergeConsent(before: Record<string, string[]>, scopes: readonly string[], resources: readonly string[]): Record<string, string[]> {
  const merged: Record<string, string[]> = { ...before };
  for (const r of resources.length ? resources : [DEFAULT_AUDIENCE]) {
    merged[r] = [...new Set([...(Object.hasOwn(merged, r) ? merged[r]! : []), ...scopes])];
  }
  return merged;
}

const toConsent = (r: Row<ConsentsTable>): ConsentRecord => ({
  userId: r.user_id, clientId: r.client_id, scopes: JSON.parse(r.scopes), resources: JSON.parse(r.resources), grantedAt: r.granted_at,
});

const codeRow = (c: CodeRecord): AuthCodesTable => ({
  code_hash: c.codeHash, grant_id: c.grantId, client_id: c.clientId, user_id: c.userId, redirect_uri: c.redirectUri,
  scope: c.scope, nonce: c.nonce, code_challenge: c.codeChallenge, resource: c.resource, sid: c.sid,
  auth_time: c.authTime, amr: json(c.amr), created_at: c.createdAt, expires_at: c.expiresAt, consumed_at: null, dpop_jkt: c.dpopJkt ?? null,
  authorization_details: c.authorizationDetails ?? null,
  claims: c.claims ? json(c.claims) : null,
});
const toCode = (r: Row<AuthCodesTable>): CodeRecord => ({
  codeHash: r.code_hash, grantId: r.grant_id, clientId: r.client_id, userId: r.user_id, redirectUri: r.redirect_uri,
  scope: r.scope, nonce: r.nonce, codeChallenge: r.code_challenge, resource: r.resource, sid: r.sid,
  authTime: r.auth_time, amr: JSON.parse(r.amr), createdAt: r.created_at, expiresAt: r.expires_at,
  ...(r.dpop_jkt !== null ? { dpopJkt: r.dpop_jkt } : {}),
  ...(r.authorization_details !== null ? { authorizationDetails: r.authorization_details } : {}),
  ...(r.claims != null ? { claims: JSON.parse(r.claims) } : {}),
});

const deviceCodeRow = (d: DeviceCodeRecord): DeviceCodesTable => ({
  device_code_hash: d.deviceCodeHash, user_code_hash: d.userCodeHash, client_id: d.clientId, scope: d.scope, resource: d.resource,
  status: d.status, poll_interval: d.interval, last_polled_at: d.lastPolledAt, slowed: 0, approval: d.approval && json(d.approval),
  created_at: d.createdAt, expires_at: d.expiresAt,
});
const toDeviceCode = (r: Row<DeviceCodesTable>): DeviceCodeRecord => ({
  deviceCodeHash: r.device_code_hash, userCodeHash: r.user_code_hash, clientId: r.client_id, scope: r.scope, resource: r.resource,
  status: r.status as DeviceCodeStatus, interval: r.poll_interval, lastPolledAt: r.last_polled_at,
  approval: r.approval === null ? null : JSON.parse(r.approval), createdAt: r.created_at, expiresAt: r.expires_at,
});

const grantRow = (g: GrantRecord): GrantsTable => ({
  id: g.id, client_id: g.clientId, user_id: g.userId, scope: g.scope, resource: g.resource, sid: g.sid,
  auth_time: g.authTime, amr: json(g.amr), created_at: g.createdAt, expires_at: g.expiresAt, revoked_at: g.revokedAt, dpop_jkt: g.dpopJkt ?? null,
  authorization_details: g.authorizationDetails ?? null,
  claims: g.claims ? json(g.claims) : null,
  cert_thumbprint: g.certThumbprint ?? null,
});
const toGrant = (r: Row<GrantsTable>): GrantRecord => ({
  id: r.id, clientId: r.client_id, userId: r.user_id, scope: r.scope, resource: r.resource, sid: r.sid,
  authTime: r.auth_time, amr: JSON.parse(r.amr), createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at,
  ...(r.dpop_jkt !== null ? { dpopJkt: r.dpop_jkt } : {}),
  ...(r.authorization_details !== null ? { authorizationDetails: r.authorization_details } : {}),
  ...(r.claims != null ? { claims: JSON.parse(r.claims) } : {}),
  ...(r.cert_thumbprint != null ? { certThumbprint: r.cert_thumbprint } : {}),
});

const refreshRow = (t: RefreshTokenRecord): RefreshTokensTable => ({
  token_hash: t.tokenHash, grant_id: t.grantId, client_id: t.clientId, scope: t.scope,
  created_at: t.createdAt, expires_at: t.expiresAt, used_at: t.usedAt,
});
const toRefresh = (r: Row<RefreshTokensTable>): RefreshTokenRecord => ({
  tokenHash: r.token_hash, grantId: r.grant_id, clientId: r.client_id, scope: r.scope,
  createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at,
});

const keyRow = (k: SigningKeyRecord): SigningKeysTable => ({
  kid: k.kid, alg: k.alg, state: k.state, public_jwk: json(k.publicJwk), private_jwe: k.privateJwe,
  created_at: k.createdAt, retired_at: k.retiredAt, activates_at: k.activatesAt,
});
const toKey = (r: Row<SigningKeysTable>): SigningKeyRecord => ({
  kid: r.kid, alg: r.alg, state: r.state as KeyState, publicJwk: JSON.parse(r.public_jwk), privateJwe: r.private_jwe,
  createdAt: r.created_at, retiredAt: r.retired_at, activatesAt: r.activates_at,
});

/** An audit row; append() passes the values in this column order. */
const auditRow = (seq: number, prevHash: string, hash: string, e: AuditEvent): AuditEventsTable => ({
  seq, at: e.at, type: e.type, actor: e.actor, client_id: e.clientId, ip: e.ip, outcome: e.outcome,
  details: json(e.details), prev_hash: prevHash, hash,
});
const toAudit = (r: Row<AuditEventsTable>): AuditRecord => ({
  seq: Number(r.seq), at: Number(r.at), type: r.type, actor: r.actor, clientId: r.client_id, ip: r.ip,
  outcome: r.outcome as AuditRecord['outcome'], details: JSON.parse(r.details), prevHash: r.prev_hash, hash: r.hash,
});

// ---- shared helpers --------------------------------------------------------------------------------

/** Thrown inside a promotion's transaction to roll back the first update. */
class NotPromoted extends Error {}

const count = (r: { numDeletedRows?: bigint; numUpdatedRows?: bigint; numInsertedOrUpdatedRows?: bigint }) =>
  Number(r.numDeletedRows ?? r.numUpdatedRows ?? r.numInsertedOrUpdatedRows ?? 0n);

const accessRow = (grantId: string, a: IssuedAccessToken) => ({ jti: a.jti, grant_id: grantId, expires_at: a.expiresAt });

/**
 * Revokes a grant and everything issued from it: marks the grant revoked, every refresh token of it
 * used (so none rotates), and copies its access tokens' jtis into revoked_tokens. Returns false if
 * the grant does not exist or was already revoked. Must run inside a transaction. The grant row is
 * updated first, so in PostgreSQL it takes the grant's row lock before anything else, the same order
 * as rotate(): concurrent revocations and rotations of one family serialise without deadlock.
 */
async function revokeGrant(tx: Transaction<Schema>, id: string, now: number): Promise<boolean> {
  const res = await tx.updateTable('grants').set({ revoked_at: now })
    .where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  if (count(res) === 0) return false;
  await tx.updateTable('refresh_tokens').set({ used_at: now })
    .where('grant_id', '=', id).where('used_at', 'is', null).execute();
  await tx.insertInto('revoked_tokens').columns(['jti', 'expires_at'])
    .expression(tx.selectFrom('access_tokens').select(['jti', 'expires_at']).where('grant_id', '=', id))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
  return true;
}

// ---- the stores ------------------------------------------------------------------------------------

/** The advisory lock key of Stores.exclusive (an arbitrary constant: "tess" in ASCII). */
const EXCLUSIVE_LOCK = 0x74657373;
/** SQLite: the lease row of Stores.exclusive, and how long it outlives a holder that stopped renewing it (seconds). */
const EXCLUSIVE_LEASE = 'prepare';
const EXCLUSIVE_LEASE_TTL = 30;

/** Rows per multi-row insert of the audit trail (times its 10 columns: well under both engines' parameter limits). */
const AUDIT_ROWS_PER_INSERT = 50;

/**
 * Every storage port over one SQL database (SQLite or PostgreSQL, already migrated). `usernames`
 * defines the keys that the user store compares usernames by (accounts/usernames.ts: `usernameKeys`).
 */
export function createSqlStores(handle: DatabaseHandle, usernames: UsernameKeys): Stores {
  let sqliteExclusive: Promise<unknown> = Promise.resolve();
  const { db, direct } = handle;
  const pg = handle.dialect === 'postgres';
  const tx = <T>(fn: (t: Transaction<Schema>) => Promise<T>) => db.transaction().execute(fn);
  /**
   * The hot write transactions (refresh rotation, a grant's creation). PostgreSQL: one transaction
   * each. SQLite: transactions that arrive while one is committing share the next one (group
   * commit); should one throw, the group is rolled back and each runs again on its own (so these
   * must be safe to run twice: group-commit.ts). A commit writes every page it changed to the WAL,
   * and concurrent rotations change the same index pages, so one commit for several costs far
   * less than one each.
   */
  const hotTx = pg ? tx : groupCommit(tx);

  /** SQLite: runs fn holding the `prepare` lease of exclusive_locks, shared by every process on the file. */
  const withSqliteLease = async <T>(fn: () => Promise<T>): Promise<T> => {
    const holder = randomUUID();
    const epoch = () => Math.floor(Date.now() / 1000);
    for (;;) {
      await db.deleteFrom('exclusive_locks').where('name', '=', EXCLUSIVE_LEASE).where('expires_at', '<', epoch()).execute();
      const res = await db.insertInto('exclusive_locks').values({ name: EXCLUSIVE_LEASE, holder, expires_at: epoch() + EXCLUSIVE_LEASE_TTL })
        .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 100)));
    }
    const renew = setInterval(() => {
      db.updateTable('exclusive_locks').set({ expires_at: epoch() + EXCLUSIVE_LEASE_TTL }).where('name', '=', EXCLUSIVE_LEASE).where('holder', '=', holder).execute().catch(() => {});
    }, (EXCLUSIVE_LEASE_TTL * 1000) / 3);
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await db.deleteFrom('exclusive_locks').where('name', '=', EXCLUSIVE_LEASE).where('holder', '=', holder).execute();
    }
  };

  /**
   * A hot statement, built and compiled by Kysely once and then run with new parameters (in the
   * order they appear in the SQL): saves the query-building work on the token, introspection,
   * userinfo and refresh paths. Inserts take the row object's values in the mapper's key order.
   */
  const statement = <R>(build: (k: Kysely<Schema>) => Compilable<R>) => {
    let compiled: CompiledQuery<R> | undefined;
    return async (q: Db, parameters: readonly unknown[]): Promise<QueryResult<R>> => {
      compiled ??= build(db).compile();
      // SQLite, inside a transaction (a rotation, a group commit, an audit append): the
      // transaction holds the one connection, so its statements run on it at once, without the
      // several promise hops of Kysely's executor per statement.
      if (direct && q.isTransaction) return direct<R>(compiled, parameters);
      return q.executeQuery<R>({ ...compiled, parameters });
    };
  };
  /** A statement whose shape depends on a count (IN lists, multi-row inserts), compiled once per count. */
  const statementBySize = <R>(build: (k: Kysely<Schema>, n: number) => Compilable<R>) => {
    const bySize = new Map<number, (q: Db, parameters: readonly unknown[]) => Promise<QueryResult<R>>>();
    return (q: Db, parameters: readonly unknown[], n = parameters.length) => {
      let run = bySize.get(n);
      if (!run) bySize.set(n, run = statement((k) => build(k, n)));
      return run(q, parameters);
    };
  };
  const lookup = <R>(build: (k: Kysely<Schema>) => Compilable<R>) => {
    const run = statement(build);
    return async (...parameters: unknown[]): Promise<R | undefined> => (await run(db, parameters)).rows[0];
  };
  const clientById = lookup((k) => k.selectFrom('clients').selectAll().where('client_id', '=', ''));
  const selectUser = statement((k) => k.selectFrom('users').selectAll().where('id', '=', ''));
  const usersByIds = statementBySize((k, n) => k.selectFrom('users').selectAll().where('id', 'in', Array<string>(n).fill('')));
  const userById = pg
    ? async (id: string) => (await selectUser(db, [id])).rows[0]
    : batchedLookup(async (ids) => (await usersByIds(db, ids)).rows, (r) => r.id);
  const sessionById = lookup((k) => k.selectFrom('sessions').selectAll().where('id_hash', '=', ''));
  const revokedByJtis = statementBySize((k, n) => k.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('jti', 'in', Array<string>(n).fill('')));
  const revokedJti = pg
    ? lookup((k) => k.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('jti', '=', ''))
    : batchedLookup(async (jtis) => (await revokedByJtis(db, jtis)).rows, (r) => r.jti);
  /**
   * A token's jti and its holders (client, user) in revoked_tokens: one statement on PostgreSQL;
   * on SQLite the three keys join the batched IN lookup of the turn.
   */
  const revokedOrHolders = pg
    ? async (keys: string[]) => (await revokedByJtis(db, keys)).rows
    : async (keys: string[]) => (await Promise.all(keys.map(revokedJti))).filter((r) => r !== undefined);
  const auditTemplate = auditRow(0, '', '', { at: 0, type: '', actor: null, clientId: null, ip: null, outcome: 'success', details: {} });
  const insertAuditRows = statementBySize((k, n) => k.insertInto('audit_events').values(Array.from({ length: n }, () => auditTemplate)));
  // The statements of a refresh-token rotation. PostgreSQL: the grant row locked first, then the token row.
  const grantOfRefresh = statement((k) => k.selectFrom('grants').selectAll()
    .where('id', '=', (eb) => eb.selectFrom('refresh_tokens').select('grant_id').where('token_hash', '=', ''))
    .forUpdate());
  const refreshByHash = statement((k) => k.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', '').forUpdate());
  // SQLite (BEGIN IMMEDIATE serialises the writers, so there are no row locks to take in order):
  // the token and its grant in one statement.
  const refreshAndGrant = statement((k) => k.selectFrom('refresh_tokens as r').innerJoin('grants as g', 'g.id', 'r.grant_id')
    .selectAll('g')
    .select(['r.token_hash as r_token_hash', 'r.grant_id as r_grant_id', 'r.client_id as r_client_id', 'r.scope as r_scope',
      'r.created_at as r_created_at', 'r.expires_at as r_expires_at', 'r.used_at as r_used_at'])
    .where('r.token_hash', '=', ''));
  /** A refresh token's row and its grant's row, in rotate()'s lock order on PostgreSQL. */
  const tokenAndGrant = async (t: Db, tokenHash: string): Promise<{ gRow: Row<GrantsTable>; rRow: Row<RefreshTokensTable> } | undefined> => {
    if (pg) {
      const gRow = (await grantOfRefresh(t, [tokenHash])).rows[0];
      const rRow = gRow && (await refreshByHash(t, [tokenHash])).rows[0];
      return gRow && rRow ? { gRow, rRow } : undefined;
    }
    const row = (await refreshAndGrant(t, [tokenHash])).rows[0];
    if (!row) return undefined;
    // The row has every grants column under its own name (the token's are prefixed r_), so it
    // serves as the grant's row as it is.
    return {
      gRow: row,
      rRow: { token_hash: row.r_token_hash, grant_id: row.r_grant_id, client_id: row.r_client_id, scope: row.r_scope, created_at: row.r_created_at, expires_at: row.r_expires_at, used_at: row.r_used_at },
    };
  };
  const markRefreshUsed = statement((k) => k.updateTable('refresh_tokens').set({ used_at: 0 }).where('token_hash', '=', '').where('used_at', 'is', null));
  const insertRefresh = statement((k) => k.insertInto('refresh_tokens').values(refreshRow({ tokenHash: '', grantId: '', clientId: '', scope: '', createdAt: 0, expiresAt: 0, usedAt: null })));
  const insertAccess = statement((k) => k.insertInto('access_tokens').values(accessRow('', { jti: '', expiresAt: 0 })));

  const claimReplay = statement((k) => k.insertInto('replay_entries').values({ key: '', expires_at: 0 })
    .onConflict((oc) => oc.column('key').doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') }).where('replay_entries.expires_at', '<=', 0))
    .returning('key'));

  /** Revokes every active grant of a client or a user in one transaction, in id order (one lock order for concurrent callers). */
  const revokeWhere = (column: 'client_id' | 'user_id', value: string, now: number) => tx(async (t) => {
    const grants = await t.selectFrom('grants').select('id').where(column, '=', value).where('revoked_at', 'is', null).orderBy('id').execute();
    let revoked = 0;
    for (const { id } of grants) if (await revokeGrant(t, id, now)) revoked++;
    return revoked;
  });

  const getGrant = async (q: Db, id: string) => {
    const row = await q.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toGrant(row);
  };

  return {
    clients: {
      async get(clientId) {
        const row = await clientById(clientId);
        return row && toClient(row);
      },
      async list() {
        return (await db.selectFrom('clients').selectAll().orderBy('client_id').execute()).map(toClient);
      },
      async put(client) {
        const row = clientRow(client);
        const { client_id: _, ...rest } = row;
        await db.insertInto('clients').values(row).onConflict((oc) => oc.column('client_id').doUpdateSet(rest)).execute();
      },
      async replaceSecretHash(clientId, from, to) {
        return count(await db.updateTable('clients').set({ secret_hash: to })
          .where('client_id', '=', clientId).where('secret_hash', '=', from).executeTakeFirst()) > 0;
      },
      /** Deleting a client also revokes everything it was granted and forgets its consents. */
      delete: (clientId) => tx(async (t) => {
        const grants = await t.selectFrom('grants').select('id')
          .where('client_id', '=', clientId).where('revoked_at', 'is', null).orderBy('id').execute();
        const now = Math.floor(Date.now() / 1000);
        for (const { id } of grants) await revokeGrant(t, id, now);
        await t.deleteFrom('consents').where('client_id', '=', clientId).execute();
        return count(await t.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()) > 0;
      }),
    },

    users: {
      async get(id) {
        const row = await userById(id);
        return row && toUser(row);
      },
      async findByUsername(username) {
        // By canonical form; a row left without one (an existing collision) answers to its exact name
        // only, and first, so that it keeps signing in as before the migration.
        const canonical = usernames.canonical(username);
        const rows = await db.selectFrom('users').selectAll()
          .where((eb) => eb.or([
            eb.and([eb('username', '=', username), eb('username_canonical', 'is', null)]),
            ...(canonical !== undefined ? [eb('username_canonical', '=', canonical)] : []),
          ]))
          .execute();
        const row = rows.find((r) => r.username_canonical === null) ?? rows[0];
        return row && toUser(row);
      },
      async findByCanonical(username) {
        const canonical = usernames.canonical(username);
        if (canonical === undefined) return undefined;
        const row = await db.selectFrom('users').selectAll().where('username_canonical', '=', canonical).executeTakeFirst();
        return row && toUser(row);
      },
      async findConfusable(username) {
        const row = await db.selectFrom('users').selectAll().where('username_skeleton', '=', usernames.skeleton(username)).orderBy('created_at').limit(1).executeTakeFirst();
        return row && toUser(row);
      },
      async listUnresolved() {
        return (await db.selectFrom('users').selectAll().where('username_canonical', 'is', null).orderBy('username').execute()).map(toUser);
      },
      async list() {
        return (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
      },
      async put(user) {
        const row = userRow(user, usernames);
        const { id: _, ...rest } = row;
        // A row kept without a canonical form (an existing collision) keeps it so while its username
        // stays the same: updating its password or email must not collide with the other account.
        await db.insertInto('users').values(row).onConflict((oc) => oc.column('id').doUpdateSet({
          ...rest,
          username_canonical: sql<string | null>`case when users.username = excluded.username then users.username_canonical else excluded.username_canonical end`,
        })).execute();
      },
      async create(user) {
        // ON CONFLICT DO NOTHING covers every unique column (id, username, username_canonical) on SQLite and PostgreSQL.
        const res = await db.insertInto('users').values(userRow(user, usernames)).onConflict((oc) => oc.doNothing()).executeTakeFirst();
        return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
      },
    },

    sessions: {
      async create(session) {
        await db.insertInto('sessions').values(sessionRow(session)).execute();
      },
      async get(idHash) {
        const row = await sessionById(idHash);
        return row && toSession(row);
      },
      async touch(idHash, now) {
        await db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
      },
      async delete(idHash) {
        await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      },
      async deleteByUser(userId) {
        return count(await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst());
      },
      async addClient(e) {
        await db.insertInto('session_clients')
          .values({ sid: e.sid, client_id: e.clientId, user_id: e.userId, created_at: e.createdAt, expires_at: e.expiresAt })
          .onConflict((oc) => oc.columns(['sid', 'client_id']).doUpdateSet((eb) => ({ expires_at: eb.ref('excluded.expires_at') })))
          .execute();
      },
      /** DELETE ... RETURNING: a row goes to exactly one caller on both databases. */
      async takeClients(sid) {
        const rows = await db.deleteFrom('session_clients').where('sid', '=', sid).returningAll().execute();
        return rows.map(toSessionClient);
      },
      async takeClientsByUser(userId) {
        const rows = await db.deleteFrom('session_clients').where('user_id', '=', userId).returningAll().execute();
        return rows.map(toSessionClient);
      },
    },

    interactions: {
      async create(record) {
        await db.insertInto('interactions').values(interactionRow(record)).execute();
      },
      async get(uid) {
        const row = await db.selectFrom('interactions').selectAll().where('uid', '=', uid).executeTakeFirst();
        return row && toInteraction(row);
      },
      async setLogin(uid, sessionIdHash, loginAt) {
        await db.updateTable('interactions').set({ session_id_hash: sessionIdHash, login_at: loginAt })
          .where('uid', '=', uid).execute();
      },
      async consume(uid) {
        const row = await db.deleteFrom('interactions').where('uid', '=', uid).returningAll().executeTakeFirst();
        return row && toInteraction(row);
      },
    },

    consents: {
      async get(userId, clientId) {
        const row = await db.selectFrom('consents').selectAll()
          .where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
        return row && toConsent(row);
      },
      /**
       * Read-merge-write under the row lock (PostgreSQL) or the write lock (SQLite). If the row is
       * missing, insert-or-nothing; losing that race to a concurrent grant means the row now exists,
       * so go round once more and merge into it.
       */
      grant: (userId, clientId, scopes, now, resources = []) => tx(async (t) => {
        for (;;) {
          const row = await t.selectFrom('consents').select(['scopes', 'resources'])
            .where('user_id', '=', userId).where('client_id', '=', clientId)
            .$if(pg, (q) => q.forUpdate()).executeTakeFirst();
          if (row) {
            const merged = [...new Set([...JSON.parse(row.scopes) as string[], ...scopes])];
            await t.updateTable('consents').set({ scopes: json(merged), resources: json(mergeConsent(JSON.parse(row.resources), scopes, resources)), granted_at: now })
              .where('user_id', '=', userId).where('client_id', '=', clientId).execute();
            return;
          }
          const inserted = await t.insertInto('consents')
            .values({ user_id: userId, client_id: clientId, scopes: json([...new Set(scopes)]), resources: json(mergeConsent({}, scopes, resources)), granted_at: now })
            .onConflict((oc) => oc.columns(['user_id', 'client_id']).doNothing())
            .returning('user_id').executeTakeFirst();
          if (inserted) return;
        }
      }),
      async revoke(userId, clientId) {
        return count(await db.deleteFrom('consents')
          .where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst()) > 0;
      },
      async listByUser(userId) {
        return (await db.selectFrom('consents').selectAll().where('user_id', '=', userId).orderBy('client_id').execute())
          .map(toConsent);
      },
    },

    codes: {
      async create(code) {
        await db.insertInto('auth_codes').values(codeRow(code)).execute();
      },
      /**
       * One conditional UPDATE decides the winner: in PostgreSQL a concurrent UPDATE of the same row
       * waits for the first to commit and then no longer matches `consumed_at IS NULL`; in SQLite
       * statements are serialised. Expiry is the caller's to check.
       */
      async consume(codeHash, now) {
        const won = await db.updateTable('auth_codes').set({ consumed_at: now })
          .where('code_hash', '=', codeHash).where('consumed_at', 'is', null)
          .returningAll().executeTakeFirst();
        if (won) return { status: 'ok', code: toCode(won) };
        const row = await db.selectFrom('auth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
        return row ? { status: 'reused', code: toCode(row) } : { status: 'missing' };
      },
    },

    deviceCodes: {
      /** One upsert: a user code held by an expired row is taken over; one held by a live row stores nothing. */
      async create(record, now) {
        const row = deviceCodeRow(record);
        const res = await db.insertInto('device_codes').values(row)
          .onConflict((oc) => oc.column('user_code_hash').doUpdateSet(row).where('device_codes.expires_at', '<=', now))
          .executeTakeFirst();
        return count(res) === 1;
      },
      async findPendingByUserCode(userCodeHash, now) {
        const row = await db.selectFrom('device_codes').selectAll().where('user_code_hash', '=', userCodeHash)
          .where('status', '=', 'pending').where('expires_at', '>', now).executeTakeFirst();
        return row && toDeviceCode(row);
      },
      async get(deviceCodeHash) {
        const row = await db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst();
        return row && toDeviceCode(row);
      },
      /** Conditional UPDATEs decide: only a live pending row changes, once (see codes.consume). */
      async approve(deviceCodeHash, approval, now) {
        return count(await db.updateTable('device_codes').set({ status: 'approved', approval: json(approval) })
          .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending').where('expires_at', '>', now)
          .executeTakeFirst()) === 1;
      },
      async deny(deviceCodeHash, now) {
        return count(await db.updateTable('device_codes').set({ status: 'denied' })
          .where('device_code_hash', '=', deviceCodeHash).where('status', '=', 'pending').where('expires_at', '>', now)
          .executeTakeFirst()) === 1;
      },
      /**
       * One UPDATE: every SET expression reads the row as it was before this statement, so the
       * interval check, the raise and the new poll time are one atomic step; concurrent polls
       * queue on the row (PostgreSQL) or run one after another (SQLite).
       */
      async poll(deviceCodeHash, clientId, now) {
        const early = sql<boolean>`last_polled_at is not null and last_polled_at + poll_interval > ${now}`;
        const row = await db.updateTable('device_codes')
          .set({
            poll_interval: sql<number>`case when ${early} then poll_interval + 5 else poll_interval end`,
            slowed: sql<number>`case when ${early} then 1 else 0 end`,
            last_polled_at: now,
          })
          .where('device_code_hash', '=', deviceCodeHash).where('client_id', '=', clientId).where('expires_at', '>', now)
          .returningAll().executeTakeFirst();
        return row && { record: toDeviceCode(row), slowDown: row.slowed === 1 };
      },
      async consume(deviceCodeHash, clientId, _now) {
        const row = await db.updateTable('device_codes').set({ status: 'consumed' })
          .where('device_code_hash', '=', deviceCodeHash).where('client_id', '=', clientId).where('status', '=', 'approved')
          .returningAll().executeTakeFirst();
        return row && toDeviceCode(row);
      },
    },

    grants: {
      create: (grant, refresh, access) => hotTx(async (t) => {
        await t.insertInto('grants').values(grantRow(grant)).execute();
        if (refresh) await t.insertInto('refresh_tokens').values(refreshRow(refresh)).execute();
        await t.insertInto('access_tokens').values(accessRow(grant.id, access)).execute();
      }),
      get: (id) => getGrant(db, id),
      async getRefresh(tokenHash) {
        const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
        if (!row) return undefined;
        const grant = await getGrant(db, row.grant_id);
        return grant && { refresh: toRefresh(row), grant };
      },
      /**
       * Lock order (PostgreSQL): the grant row first (found through the token), then the token row —
       * the same order as revokeGrant(), so rotations and revocations of one family queue up on the
       * grant lock instead of deadlocking. Whoever comes second sees the first one's writes (READ
       * COMMITTED re-reads after the lock). In SQLite, BEGIN IMMEDIATE serialises the transaction.
       * A 'reused' outcome commits its revocation (we return, never throw, from that branch).
       * The grant's user is read in the same transaction, for `accept` and the token response.
       */
      rotate: (tokenHash, now, accept, next) => hotTx(async (t): Promise<RotateResult> => {
        const found = await tokenAndGrant(t, tokenHash);
        if (!found || found.gRow.revoked_at !== null) return { status: 'invalid' };
        const { gRow, rRow } = found;
        const grant = toGrant(gRow);
        const uRow = (await selectUser(t, [grant.userId])).rows[0];
        const reuse = async (): Promise<RotateResult> => (await revokeGrant(t, grant.id, now))
          ? { status: 'reused', grantId: grant.id, clientId: grant.clientId }
          : { status: 'invalid' };

        if (rRow.used_at !== null) return reuse();
        const refresh = toRefresh(rRow);
        if (!accept(refresh, grant, uRow && toUser(uRow))) return { status: 'invalid' };
        const marked = await markRefreshUsed(t, [now, tokenHash]);
        if (Number(marked.numAffectedRows ?? 0) !== 1) return reuse(); // cannot happen under the locks above; fail safe
        const issued = next(refresh, grant);
        await insertRefresh(t, Object.values(refreshRow(issued.refresh)));
        await insertAccess(t, Object.values(accessRow(grant.id, issued.access)));
        return { status: 'rotated', grant, previous: { ...refresh, usedAt: now } };
      }),
      /** Same locks and order as rotate(); the token row is updated in place instead of marked used. */
      useRefresh: (tokenHash, now, idleExpiresAt, accept, next) => hotTx(async (t): Promise<UseRefreshResult> => {
        const found = await tokenAndGrant(t, tokenHash);
        if (!found || found.gRow.revoked_at !== null) return { status: 'invalid' };
        const { gRow, rRow } = found;
        const grant = toGrant(gRow);
        const uRow = (await selectUser(t, [grant.userId])).rows[0];
        if (rRow.used_at !== null) {
          return (await revokeGrant(t, grant.id, now)) ? { status: 'reused', grantId: grant.id, clientId: grant.clientId } : { status: 'invalid' };
        }
        const refresh = toRefresh(rRow);
        if (!accept(refresh, grant, uRow && toUser(uRow))) return { status: 'invalid' };
        const expiresAt = Math.min(idleExpiresAt, grant.expiresAt);
        await t.updateTable('refresh_tokens').set({ expires_at: expiresAt })
          .where('token_hash', '=', tokenHash).where('used_at', 'is', null).execute();
        await insertAccess(t, Object.values(accessRow(grant.id, next(refresh, grant))));
        return { status: 'used', grant, refresh: { ...refresh, expiresAt } };
      }),
      revoke: (id, now) => tx((t) => revokeGrant(t, id, now)),
      revokeByUserAndClient: (userId, clientId, now) => tx(async (t) => {
        const grants = await t.selectFrom('grants').select('id')
          .where('user_id', '=', userId).where('client_id', '=', clientId).where('revoked_at', 'is', null)
          .orderBy('id').execute(); // one lock order for concurrent callers
        let revoked = 0;
        for (const { id } of grants) if (await revokeGrant(t, id, now)) revoked++;
        return revoked;
      }),
      revokeByClient: (clientId, now) => revokeWhere('client_id', clientId, now),
      revokeByUser: (userId, now) => revokeWhere('user_id', userId, now),
      async findByAccessToken(jti) {
        const row = await db.selectFrom('access_tokens').select('grant_id').where('jti', '=', jti).executeTakeFirst();
        return row ? getGrant(db, row.grant_id) : undefined;
      },
      /** Takes the grant row's lock (PostgreSQL) before inserting, so a revocation in flight is either waited for or sees the new row. */
      addAccessToken: (grantId, access) => tx(async (t) => {
        const grant = await t.selectFrom('grants').select('revoked_at').where('id', '=', grantId)
          .$if(pg, (q) => q.forUpdate()).executeTakeFirst();
        if (!grant || grant.revoked_at !== null) return false;
        await t.insertInto('access_tokens').values(accessRow(grantId, access)).execute();
        return true;
      }),
      async listActiveByUser(userId, now) {
        return (await db.selectFrom('grants').selectAll()
          .where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now)
          .orderBy('created_at').orderBy('id').execute()).map(toGrant);
      },
    },

    revocations: {
      async revokeAccessToken(jti, expiresAt) {
        await db.insertInto('revoked_tokens').values({ jti, expires_at: expiresAt })
          .onConflict((oc) => oc.column('jti').doNothing()).execute();
      },
      async isAccessTokenRevoked(jti) {
        return (await revokedJti(jti)) !== undefined;
      },
      async isTokenRevoked(t) {
        // A client's own token (client_credentials: sub is the client id) has no user to look up.
        const rows = await revokedOrHolders(t.sub === t.client_id ? [t.jti, `client:${t.client_id}`] : [t.jti, `client:${t.client_id}`, `user:${t.sub}`]);
        // A holder's row refuses the tokens issued up to its cut-off (expires_at - span), that second included.
        return rows.some((r) => r.jti === t.jti || t.iat <= Number(r.expires_at) - HOLDER_CUTOFF_SPAN);
      },
      async setHolderDisabled(holder, disabled, now) {
        if (disabled) {
          await db.insertInto('revoked_tokens').values({ jti: holder, expires_at: HOLDER_DISABLED })
            .onConflict((oc) => oc.column('jti').doUpdateSet({ expires_at: HOLDER_DISABLED })).execute();
        } else {
          await db.updateTable('revoked_tokens').set({ expires_at: now + HOLDER_CUTOFF_SPAN }).where('jti', '=', holder).execute();
        }
      },
      async cutOffHolder(holder, now) {
        await db.insertInto('revoked_tokens').values({ jti: holder, expires_at: now + HOLDER_CUTOFF_SPAN })
          .onConflict((oc) => oc.column('jti').doUpdateSet({ expires_at: now + HOLDER_CUTOFF_SPAN })).execute();
      },
    },

    keys: {
      async list() {
        return (await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()).map(toKey);
      },
      /**
       * A partial unique index allows one key in state 'active' per algorithm. With `onlyIfNoActive`
       * a conflict on it makes the insert a no-op (false); without, inserting a second active key of
       * an algorithm throws — rotate by inserting the new key retired (or setState(old, 'retired')
       * first), then activating it.
       */
      insert: (key, onlyIfNoActive) => tx(async (t) => {
        if (!onlyIfNoActive) {
          await t.insertInto('signing_keys').values(keyRow(key)).execute();
          return true;
        }
        const active = await t.selectFrom('signing_keys').select('kid').where('state', '=', 'active').where('alg', '=', key.alg).executeTakeFirst();
        if (active) return false;
        const inserted = await t.insertInto('signing_keys').values(keyRow(key))
          .onConflict((oc) => oc.columns(['alg', 'state']).where('state', '=', sql.lit('active')).doNothing())
          .returning('kid').executeTakeFirst();
        return inserted !== undefined;
      }),
      rotate: (expectedActive, next, graceUntil) => tx(async (t) => {
        const moved = await t.updateTable('signing_keys').set({ state: 'grace', retired_at: graceUntil })
          .where('kid', '=', expectedActive).where('state', '=', 'active').where('alg', '=', next.alg).executeTakeFirst();
        if (count(moved) !== 1) return false;
        await t.insertInto('signing_keys').values(keyRow({ ...next, state: 'active', retiredAt: null, activatesAt: next.activatesAt ?? next.createdAt })).execute();
        return true;
      }),
      /** One prepublished key per algorithm at most (partial unique index): a conflict makes the insert a no-op. */
      async prepublish(key) {
        const inserted = await db.insertInto('signing_keys').values(keyRow({ ...key, state: 'prepublished', retiredAt: null }))
          .onConflict((oc) => oc.columns(['alg', 'state']).where('state', '=', sql.lit('prepublished')).doNothing())
          .returning('kid').executeTakeFirst();
        return inserted !== undefined;
      },
      promote: (expectedActive, next, graceUntil, now) => tx(async (t) => {
        const moved = await t.updateTable('signing_keys').set({ state: 'grace', retired_at: graceUntil })
          .where('kid', '=', expectedActive).where('state', '=', 'active').returning('alg').executeTakeFirst();
        if (!moved) return false;
        const promoted = await t.updateTable('signing_keys').set({ state: 'active', activates_at: now, retired_at: null })
          .where('kid', '=', next).where('state', '=', 'prepublished').where('alg', '=', moved.alg).executeTakeFirst();
        if (count(promoted) !== 1) throw new NotPromoted();
        return true;
      }).catch((err: unknown) => { if (err instanceof NotPromoted) return false; throw err; }),
      async demote(kid, graceUntil) {
        return count(await db.updateTable('signing_keys').set({ state: 'grace', retired_at: graceUntil })
          .where('kid', '=', kid).where('state', '=', 'active').executeTakeFirst()) === 1;
      },
      async retire(kid, now, { early }) {
        let q = db.updateTable('signing_keys').set({ state: 'retired', retired_at: now }).where('kid', '=', kid);
        q = early ? q.where('state', 'in', ['grace', 'prepublished'])
          : q.where('state', '=', 'grace').where('retired_at', '<=', now);
        return count(await q.executeTakeFirst()) === 1;
      },
      async rewrap(kid, expectedJwe, nextJwe) {
        return count(await db.updateTable('signing_keys').set({ private_jwe: nextJwe })
          .where('kid', '=', kid).where('private_jwe', '=', expectedJwe).executeTakeFirst()) === 1;
      },
      /** Activating a key while another is active violates the one-active index: retire the old one first. */
      async setState(kid, state, now) {
        await db.updateTable('signing_keys').set({ state, retired_at: state === 'retired' ? now : null })
          .where('kid', '=', kid).execute();
      },
    },

    counters: {
      async hit(key, now, windowSeconds) {
        // One statement: a counter idle past its expiry starts again at 1.
        const row = await db.insertInto('counters').values({ key, count: 1, last_at: now, expires_at: now + windowSeconds })
          .onConflict((oc) => oc.column('key').doUpdateSet({
            count: sql<number>`case when counters.expires_at <= ${now} then 1 else counters.count + 1 end`,
            last_at: now,
            expires_at: now + windowSeconds,
          }))
          .returning(['count', 'last_at', 'expires_at']).executeTakeFirstOrThrow();
        return { count: row.count, lastAt: row.last_at, expiresAt: row.expires_at };
      },
      async get(key, now) {
        const row = await db.selectFrom('counters').selectAll().where('key', '=', key).where('expires_at', '>', now).executeTakeFirst();
        return row && { count: row.count, lastAt: row.last_at, expiresAt: row.expires_at };
      },
      async reset(key) {
        await db.deleteFrom('counters').where('key', '=', key).execute();
      },
    },

    audit: {
      /**
       * One transaction holds the chain head (row lock in PostgreSQL; BEGIN IMMEDIATE in SQLite)
       * while it numbers and hashes the batch, inserts it and moves the head: concurrent appenders
       * in any number of processes queue on the head and extend one chain.
       */
      append: async (events) => {
        if (!events.length) return;
        await tx(async (t) => {
          const head = await t.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1)
            .$if(pg, (q) => q.forUpdate()).executeTakeFirstOrThrow();
          let seq = Number(head.seq);
          let prev = head.hash;
          // Multi-row inserts of up to 50 rows (PostgreSQL: few round trips; SQLite: few
          // statements), each shape compiled once; the values in auditRow's column order.
          for (let i = 0; i < events.length; i += AUDIT_ROWS_PER_INSERT) {
            const chunk = events.slice(i, i + AUDIT_ROWS_PER_INSERT);
            const values: unknown[] = [];
            for (const raw of chunk) {
              const e = normalizeEvent(raw);
              // Stored as hashed: the details' canonical JSON (keys sorted), serialised once.
              const details = canonicalDetails(e.details);
              const hash = chainHash(prev, ++seq, e, details);
              values.push(seq, e.at, e.type, e.actor, e.clientId, e.ip, e.outcome, details, prev, hash);
              prev = hash;
            }
            await insertAuditRows(t, values, chunk.length);
          }
          await t.updateTable('audit_head').set({ seq, hash: prev }).where('id', '=', 1).execute();
        });
      },
      /** In seq order; with a limit, the latest records of the selection. */
      async query(q) {
        const rows = await db.selectFrom('audit_events').selectAll()
          .$if(q.from !== undefined, (b) => b.where('at', '>=', q.from!))
          .$if(q.to !== undefined, (b) => b.where('at', '<', q.to!))
          .$if(q.type !== undefined, (b) => b.where('type', '=', q.type!))
          .orderBy('seq', q.limit !== undefined ? 'desc' : 'asc')
          .$if(q.limit !== undefined, (b) => b.limit(q.limit!))
          .execute();
        if (q.limit !== undefined) rows.reverse();
        return rows.map(toAudit);
      },
      /**
       * Reads the head first and checks the records up to it only, so appends committed meanwhile
       * do not count. Detects changed records (hash), removed or reordered ones (links and gaps),
       * and a removed tail (the head). The first remaining record's prevHash is taken on trust:
       * retention removes the records before it.
       */
      async verify(): Promise<AuditVerifyResult> {
        const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
        const headSeq = Number(head.seq);
        let last: AuditRecord | undefined;
        let checked = 0;
        const broken = (firstBroken: number, reason: string): AuditVerifyResult => ({ ok: false, checked, firstBroken, reason });
        for (;;) {
          const page = (await db.selectFrom('audit_events').selectAll()
            .where('seq', '>', last?.seq ?? 0).where('seq', '<=', headSeq).orderBy('seq').limit(1000).execute()).map(toAudit);
          for (const r of page) {
            if (last && r.seq !== last.seq + 1) return broken(last.seq + 1, `record ${last.seq + 1} is missing`);
            if (last && r.prevHash !== last.hash) return broken(r.seq, 'prev_hash does not match the hash of the record before it');
            if (chainHash(r.prevHash, r.seq, r) !== r.hash) return broken(r.seq, 'hash does not match the record\'s contents');
            last = r;
            checked++;
          }
          if (page.length < 1000) break;
        }
        if (last && last.seq !== headSeq) return broken(last.seq + 1, `records ${last.seq + 1} to ${headSeq} are missing`);
        if (last && last.hash !== head.hash) return broken(last.seq, 'hash does not match the chain head');
        return { ok: true, checked };
      },
      /**
       * Removes a prefix of the chain: every record before the first one at or after `at`. (Events
       * from several processes are not appended in strict time order; deleting by time alone
       * could leave holes that verify() would report.)
       */
      async deleteBefore(at) {
        const keep = await db.selectFrom('audit_events').select((eb) => eb.fn.min('seq').as('seq')).where('at', '>=', at).executeTakeFirst();
        const res = keep?.seq !== null && keep?.seq !== undefined
          ? await db.deleteFrom('audit_events').where('seq', '<', Number(keep.seq)).executeTakeFirst()
          : await db.deleteFrom('audit_events').where('at', '<', at).executeTakeFirst();
        return count(res);
      },
    },

    replay: {
      /** One upsert: a new key is inserted; an expired one is taken over; a live one returns no row. */
      async claim(key, expiresAt, now) {
        if (key.length > 512) throw new Error('replay key longer than 512 characters');
        const row = await claimReplay(db, [key, expiresAt, now]);
        return row.rows.length === 1;
      },
    },

    initialAccessTokens: {
      async create(t) {
        await db.insertInto('initial_access_tokens').values({ id: t.id, token_hash: t.tokenHash, uses_left: t.usesLeft, created_at: t.createdAt, expires_at: t.expiresAt }).execute();
      },
      async find(tokenHash, now) {
        const r = await db.selectFrom('initial_access_tokens').selectAll().where('token_hash', '=', tokenHash).where('expires_at', '>', now)
          .where((eb) => eb.or([eb('uses_left', 'is', null), eb('uses_left', '>', 0)])).executeTakeFirst();
        return r && { id: r.id, tokenHash: r.token_hash, usesLeft: r.uses_left === null ? null : Number(r.uses_left), createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) };
      },
      /** One conditional UPDATE: a use is taken only from a live token with uses left. */
      async consume(tokenHash, now) {
        return count(await db.updateTable('initial_access_tokens')
          // NULL (unlimited) stays NULL: NULL - 1 is NULL in SQL.
          .set({ uses_left: sql<number | null>`uses_left - 1` })
          .where('token_hash', '=', tokenHash).where('expires_at', '>', now)
          .where((eb) => eb.or([eb('uses_left', 'is', null), eb('uses_left', '>', 0)]))
          .executeTakeFirst()) === 1;
      },
      async list(now) {
        const rows = await db.selectFrom('initial_access_tokens').selectAll().where('expires_at', '>', now).orderBy('created_at').orderBy('id').execute();
        return rows.map((r) => ({ id: r.id, tokenHash: r.token_hash, usesLeft: r.uses_left === null ? null : Number(r.uses_left), createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) }));
      },
      async revoke(id) {
        return count(await db.deleteFrom('initial_access_tokens').where('id', '=', id).executeTakeFirst()) === 1;
      },
    },

    resourceServers: {
      async get(identifier) {
        const r = await db.selectFrom('resource_servers').selectAll().where('identifier', '=', identifier).executeTakeFirst();
        return r && toResourceServer(r);
      },
      async list() {
        return (await db.selectFrom('resource_servers').selectAll().orderBy('identifier').execute()).map(toResourceServer);
      },
      /** One upsert: the creation time of an existing row is kept. */
      async put(record) {
        const { identifier: _id, created_at: _c, ...rest } = resourceServerRow(record);
        await db.insertInto('resource_servers').values(resourceServerRow(record))
          .onConflict((oc) => oc.column('identifier').doUpdateSet(rest)).execute();
      },
      async delete(identifier) {
        return count(await db.deleteFrom('resource_servers').where('identifier', '=', identifier).executeTakeFirst()) === 1;
      },
    },

    pushedRequests: {
      async create(r) {
        await db.insertInto('pushed_requests').values({
          uri_hash: r.uriHash, client_id: r.clientId, params: json(r.params), created_at: r.createdAt, expires_at: r.expiresAt,
        }).execute();
      },
      /** One conditional DELETE ... RETURNING decides the single winner on both databases. */
      async consume(uriHash, clientId, now) {
        const row = await db.deleteFrom('pushed_requests')
          .where('uri_hash', '=', uriHash).where('client_id', '=', clientId).where('expires_at', '>', now)
          .returningAll().executeTakeFirst();
        return row && { uriHash: row.uri_hash, clientId: row.client_id, params: JSON.parse(row.params), createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
      },
    },

    /** Each delete is its own statement (no transaction), so cleanup never holds locks across tables. */
    async cleanup(now) {
      const expiredGrants = db.selectFrom('grants').select('id').where('expires_at', '<=', now);
      const results = [
        await db.deleteFrom('auth_codes').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('interactions').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('refresh_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', expiredGrants)])).executeTakeFirst(),
        await db.deleteFrom('access_tokens')
          .where((eb) => eb.or([eb('expires_at', '<=', now), eb('grant_id', 'in', expiredGrants)])).executeTakeFirst(),
        await db.deleteFrom('grants').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('counters').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('replay_entries').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('pushed_requests').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('device_codes').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('initial_access_tokens').where('expires_at', '<=', now).executeTakeFirst(),
        await db.deleteFrom('session_clients').where('expires_at', '<=', now).executeTakeFirst(),
      ];
      return results.reduce((sum, r) => sum + count(r), 0);
    },

    /** During a fault episode (the database refused a write) a read proves nothing: a write is tried instead. */
    async ping() {
      if (handle.fault()) await handle.probeWrite();
      else await sql`select 1`.execute(db);
    },

    async exclusive(fn) {
      if (!pg) {
        // One SQLite connection per process: serialise within it, and across the processes of one
        // database file with a lease row (renewed while fn runs, taken over once it expires should
        // its holder die).
        const run = sqliteExclusive.then(() => withSqliteLease(fn));
        sqliteExclusive = run.then(() => undefined, () => undefined);
        return run;
      }
      // A session-level advisory lock on a connection of its own, held while fn runs on the pool;
      // PostgreSQL releases it by itself should this process die meanwhile.
      // Waiting for the lock is not bounded by the pool's statement timeout (another instance may
      // hash many bootstrap passwords meanwhile); RESET restores it before the connection goes back.
      return db.connection().execute(async (conn) => {
        await sql`set statement_timeout = 0`.execute(conn);
        await sql`select pg_advisory_lock(${EXCLUSIVE_LOCK})`.execute(conn);
        try {
          return await fn();
        } finally {
          await sql`select pg_advisory_unlock(${EXCLUSIVE_LOCK})`.execute(conn);
          await sql`reset statement_timeout`.execute(conn);
        }
      });
    },
    close: () => handle.close(),
  };
}
