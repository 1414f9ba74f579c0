import { CompiledQuery } from 'kysely';
import type { AdminRole } from '../../ports/admin.ts';
import type { SessionClient, SessionRecord, SessionStore } from '../../ports/sessions.ts';
import { batchedLookup, PG_BATCH_MAX } from './batched-lookups.ts';
import type { ConsentsTable, SessionClientsTable, SessionsTable, UsersTable } from './schema.ts';
import {
  contains,
  count,
  json,
  pageLimit,
  pageOf,
  sessionClientValues,
  toConsent,
  toUser,
  unprefixed,
  upsertSessionClient,
  USER_COLUMNS,
  type Nullable,
  type Prefixed,
  type Row,
  type SqlContext,
  type Unlisted,
} from './statements.ts';

const sessionRow = (s: SessionRecord): SessionsTable => ({
  id_hash: s.idHash,
  sid: s.sid,
  user_id: s.userId,
  auth_time: s.authTime,
  amr: json(s.amr),
  created_at: s.createdAt,
  last_seen_at: s.lastSeenAt,
  expires_at: s.expiresAt,
  user_agent: s.userAgent ?? null,
  ip: s.ip ?? null,
  device_hash: s.deviceHash ?? null,
  upstream_provider: s.upstream?.providerId ?? null,
  upstream_issuer: s.upstream?.issuer ?? null,
  upstream_subject: s.upstream?.subject ?? null,
  upstream_sid: s.upstream?.sid ?? null,
});
const toSession = (r: Row<SessionsTable>): SessionRecord => ({
  idHash: r.id_hash,
  sid: r.sid,
  userId: r.user_id,
  authTime: r.auth_time,
  amr: JSON.parse(r.amr),
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  ...(r.user_agent !== null && r.user_agent !== undefined ? { userAgent: r.user_agent } : {}),
  ...(r.ip !== null && r.ip !== undefined ? { ip: r.ip } : {}),
  ...(r.device_hash !== null && r.device_hash !== undefined ? { deviceHash: r.device_hash } : {}),
  ...(r.upstream_provider && r.upstream_issuer && r.upstream_subject
    ? {
        upstream: {
          providerId: r.upstream_provider,
          issuer: r.upstream_issuer,
          subject: r.upstream_subject,
          ...(r.upstream_sid ? { sid: r.upstream_sid } : {}),
        },
      }
    : {}),
});
/**
 * The columns getForClient reads: every column of sessions under its own name, and the consent's
 * (the user's and the client's ids are the session's and the caller's) under the prefix c_.
 */
const SESSION_COLUMNS = [
  'id_hash',
  'sid',
  'user_id',
  'auth_time',
  'amr',
  'created_at',
  'last_seen_at',
  'expires_at',
  'user_agent',
  'ip',
  'device_hash',
  'upstream_provider',
  'upstream_issuer',
  'upstream_subject',
  'upstream_sid',
] as const satisfies readonly (keyof SessionsTable)[];
const CONSENT_COLUMNS = ['scopes', 'resources', 'granted_at'] as const satisfies readonly (keyof ConsentsTable)[];
// Every column of sessions, checked when it compiles: one a migration adds must be read here too.
const allSessionColumns: [Unlisted<SessionsTable, typeof SESSION_COLUMNS>] extends [never] ? true : never = true;
void allSessionColumns;
type ForClientRow = Row<SessionsTable> &
  Nullable<Prefixed<'u_', Row<UsersTable>>> &
  Nullable<Prefixed<'c_', Pick<Row<ConsentsTable>, (typeof CONSENT_COLUMNS)[number]>>> & { r_role: string | null };

const toSessionClient = (r: Row<SessionClientsTable>): SessionClient => ({
  sid: r.sid,
  clientId: r.client_id,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

export function createSqlSessionStore({ handle, db, pg, bound, lookup, statement }: SqlContext): SessionStore {
  const sessionById = lookup((k) => k.selectFrom('sessions').selectAll().where('id_hash', '=', ''));
  // A signed-in authorization's reads in one statement: the session, its user, the user's admin
  // role and consent to the client (SQLite, and a transaction's stores on PostgreSQL, where it is a
  // prepared statement, so its columns are named). Parameters in the order of the text: the client
  // id (the consent's join), then the id hash.
  const forClient = statement(
    (k) =>
      k
        .selectFrom('sessions as s')
        .leftJoin('users as u', 'u.id', 's.user_id')
        .leftJoin('admin_roles as r', 'r.user_id', 's.user_id')
        .leftJoin('consents as c', (j) => j.onRef('c.user_id', '=', 's.user_id').on('c.client_id', '=', ''))
        .select(SESSION_COLUMNS.map((c) => `s.${c}` as const))
        .select(USER_COLUMNS.map((c) => `u.${c} as u_${c}` as const))
        .select('r.role as r_role')
        .select(CONSENT_COLUMNS.map((c) => `c.${c} as c_${c}` as const))
        .where('s.id_hash', '=', ''),
    { prepared: true },
  );
  // PostgreSQL, outside a transaction: the getForClient calls of one turn of the event loop (the
  // requests read from the sockets that were ready together) are one statement, as users.get's are
  // (batched-lookups.ts): the pairs of id hash and client id as two arrays, unnested side by side.
  // A named prepared statement, its columns named.
  const manyText = [
    'select',
    [
      ...SESSION_COLUMNS.map((c) => `s.${c}`),
      'k.client_id as k_client_id',
      ...USER_COLUMNS.map((c) => `u.${c} as u_${c}`),
      'r.role as r_role',
      ...CONSENT_COLUMNS.map((c) => `c.${c} as c_${c}`),
    ].join(', '),
    'from unnest($1::text[], $2::text[]) as k(id_hash, client_id)',
    'join sessions s on s.id_hash = k.id_hash',
    'left join users u on u.id = s.user_id',
    'left join admin_roles r on r.user_id = s.user_id',
    'left join consents c on c.user_id = s.user_id and c.client_id = k.client_id',
    // The sessions by their key. A plan the prepared statement keeps from while the table was
    // small scans it whole: it lasts until an ANALYZE or the connection's replacement
    // (PG_CONNECTION_LIFETIME_S in database.ts).
    'where s.id_hash = any($1::text[])',
  ].join(' ');
  if (pg && !bound) handle.prepare?.(manyText);
  /** The key of one getForClient call in a batch (JSON: neither part can make another pair's key). */
  const pairKey = (idHash: string, clientId: string) => JSON.stringify([idHash, clientId]);
  const forClientBatched =
    pg && !bound
      ? batchedLookup(
          async (keys) => {
            const pairs = keys.map((k) => JSON.parse(k) as [string, string]);
            const query = CompiledQuery.raw(manyText, [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
            return (await db.executeQuery<ForClientRow & { k_client_id: string }>(query)).rows;
          },
          (r) => pairKey(r.id_hash, r.k_client_id),
          PG_BATCH_MAX,
        )
      : undefined;
  // Compiled once: every code redeemed under a session records its client.
  const upsertClient = statement(upsertSessionClient);
  return {
    /** By sid (index sessions_sid, migration 0026), the live ones only; the search scans user_id and ip. */
    async page({ after, limit, search }, now) {
      const n = pageLimit(limit);
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('expires_at', '>', now)
        .$if(after !== undefined, (b) => b.where('sid', '>', after!))
        .$if(Boolean(search), (b) =>
          b.where((eb) =>
            eb.or([contains(pg, 'sid', search!), contains(pg, 'user_id', search!), contains(pg, 'ip', search!)]),
          ),
        )
        .orderBy('sid')
        .limit(n + 1)
        .execute();
      return pageOf(rows.map(toSession), n, (s) => s.sid);
    },
    async countLive(now) {
      const row = await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async create(session) {
      await db.insertInto('sessions').values(sessionRow(session)).execute();
    },
    async get(idHash) {
      const row = await sessionById(idHash);
      return row && toSession(row);
    },
    async getForClient(idHash, clientId) {
      const row = forClientBatched
        ? await forClientBatched(pairKey(idHash, clientId))
        : ((await forClient(db, [clientId, idHash])).rows[0] as ForClientRow | undefined);
      if (!row) return undefined;
      return {
        session: toSession(row),
        user: row.u_id === null ? undefined : toUser(unprefixed(row, 'u_', USER_COLUMNS)),
        adminRole: (row.r_role ?? undefined) as AdminRole | undefined,
        consent:
          row.c_scopes === null
            ? undefined
            : toConsent({
                user_id: row.user_id,
                client_id: clientId,
                scopes: row.c_scopes,
                resources: row.c_resources!,
                granted_at: row.c_granted_at!,
              }),
      };
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
    async listByUser(userId) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('last_seen_at', 'desc')
        .execute();
      return rows.map(toSession);
    },
    async deleteBySid(userId, sid) {
      const rows = await db
        .deleteFrom('sessions')
        .where('user_id', '=', userId)
        .where('sid', '=', sid)
        .returningAll()
        .execute();
      return rows[0] && toSession(rows[0]);
    },
    /** One DELETE ... RETURNING; without a subject or sid nothing matches. */
    async deleteByUpstream(providerId, issuer, { subject, sid }) {
      if (subject === undefined && sid === undefined) return [];
      let q = db
        .deleteFrom('sessions')
        .where('upstream_provider', '=', providerId)
        .where('upstream_issuer', '=', issuer);
      if (subject !== undefined) q = q.where('upstream_subject', '=', subject);
      if (sid !== undefined) q = q.where('upstream_sid', '=', sid);
      return (await q.returningAll().execute()).map(toSession);
    },
    /**
     * INSERT ... ON CONFLICT DO NOTHING decides who was first with this browser; a known device only has
     * its last-seen time moved. A new one then looks for another browser of the account: each looks after
     * its own insert, so of two new browsers at once the later one always sees the earlier (at most one
     * `first`).
     */
    async rememberDevice(userId, deviceHash, now) {
      const res = await db
        .insertInto('known_devices')
        .values({ user_id: userId, device_hash: deviceHash, first_seen_at: now, last_seen_at: now })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 1) {
        const other = await db
          .selectFrom('known_devices')
          .select('device_hash')
          .where('user_id', '=', userId)
          .where('device_hash', '<>', deviceHash)
          .limit(1)
          .executeTakeFirst();
        return other ? 'new' : 'first';
      }
      await db
        .updateTable('known_devices')
        .set({ last_seen_at: now })
        .where('user_id', '=', userId)
        .where('device_hash', '=', deviceHash)
        .execute();
      return 'known';
    },
    async addClient(e) {
      await upsertClient(db, sessionClientValues(e));
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
  };
}
