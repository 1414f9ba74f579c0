import type { SessionClient, SessionRecord, SessionStore } from '../../ports/sessions.ts';
import type { SessionClientsTable, SessionsTable } from './schema.ts';
import {
  contains,
  count,
  json,
  pageLimit,
  pageOf,
  sessionClientValues,
  upsertSessionClient,
  type Row,
  type SqlContext,
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
const toSessionClient = (r: Row<SessionClientsTable>): SessionClient => ({
  sid: r.sid,
  clientId: r.client_id,
  userId: r.user_id,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

export function createSqlSessionStore({ db, pg, lookup, statement }: SqlContext): SessionStore {
  const sessionById = lookup((k) => k.selectFrom('sessions').selectAll().where('id_hash', '=', ''));
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
