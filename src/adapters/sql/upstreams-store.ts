import type {
  UpstreamIdentity,
  UpstreamIdentityStore,
  UpstreamProvider,
  UpstreamPurpose,
  UpstreamState,
  UpstreamStateStore,
  UpstreamStore,
} from '../../ports/upstreams.ts';
import type { UpstreamIdentitiesTable, UpstreamStatesTable } from './schema.ts';
import { count, json, type Row, type SqlContext } from './statements.ts';

/** Configured upstream identity providers (migration 0025): the record as JSON, its order beside it for sorting. */
export function createSqlUpstreamStore({ db, tx }: SqlContext): UpstreamStore {
  const toProvider = (r: { record: string }) => JSON.parse(r.record) as UpstreamProvider;
  return {
    async list() {
      const rows = await db.selectFrom('upstreams').select('record').orderBy('sort_order').orderBy('id').execute();
      return rows.map(toProvider);
    },
    async get(id) {
      const row = await db.selectFrom('upstreams').select('record').where('id', '=', id).executeTakeFirst();
      return row && toProvider(row);
    },
    async put(p) {
      const row = { id: p.id, sort_order: p.order, record: json(p), created_at: p.createdAt, updated_at: p.updatedAt };
      await db
        .insertInto('upstreams')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({ sort_order: row.sort_order, record: row.record, updated_at: row.updated_at }),
        )
        .execute();
    },
    /** The provider and its identities in one transaction (sessions keep running until they end). */
    async delete(id) {
      return tx(async (t) => {
        await t.deleteFrom('upstream_identities').where('provider_id', '=', id).execute();
        return count(await t.deleteFrom('upstreams').where('id', '=', id).executeTakeFirst()) === 1;
      });
    },
  };
}

const toIdentity = (r: Row<UpstreamIdentitiesTable>): UpstreamIdentity => ({
  providerId: r.provider_id,
  issuer: r.issuer,
  subject: r.subject,
  userId: r.user_id,
  email: r.email,
  createdAt: Number(r.created_at),
  lastUsedAt: Number(r.last_used_at),
});

/** Upstream identities linked to users (migration 0025), keyed by (provider, issuer, subject). */
export function createSqlUpstreamIdentityStore({ db, tx, pg }: SqlContext): UpstreamIdentityStore {
  return {
    async find({ providerId, issuer, subject }) {
      const row = await db
        .selectFrom('upstream_identities')
        .selectAll()
        .where('provider_id', '=', providerId)
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return row && toIdentity(row);
    },
    async listByUser(userId) {
      const rows = await db
        .selectFrom('upstream_identities')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('provider_id')
        .execute();
      return rows.map(toIdentity);
    },
    /** INSERT ... ON CONFLICT DO NOTHING on the primary key: of concurrent links of one identity one inserts. */
    async link(i) {
      const res = await db
        .insertInto('upstream_identities')
        .values({
          provider_id: i.providerId,
          issuer: i.issuer,
          subject: i.subject,
          user_id: i.userId,
          email: i.email,
          created_at: i.createdAt,
          last_used_at: i.lastUsedAt,
        })
        .onConflict((oc) => oc.columns(['provider_id', 'issuer', 'subject']).doNothing())
        .executeTakeFirst();
      if (count(res) === 1) return 'linked';
      const holder = await this.find(i);
      return holder?.userId === i.userId ? 'exists' : 'taken';
    },
    async touch({ providerId, issuer, subject }, now, email) {
      await db
        .updateTable('upstream_identities')
        .set({ last_used_at: now, email })
        .where('provider_id', '=', providerId)
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .execute();
    },
    /**
     * In one transaction that holds the user's identities (PostgreSQL: FOR UPDATE; SQLite: one writer),
     * so two concurrent unlinks of a user's last two identities cannot both succeed.
     */
    async unlink(userId, { providerId, issuer, subject }, otherWay) {
      return tx(async (t) => {
        let q = t.selectFrom('upstream_identities').selectAll().where('user_id', '=', userId);
        if (pg) q = q.forUpdate();
        const mine = await q.execute();
        const target = mine.find((r) => r.provider_id === providerId && r.issuer === issuer && r.subject === subject);
        if (!target) return 'missing';
        if (!otherWay && mine.length < 2) return 'last';
        await t
          .deleteFrom('upstream_identities')
          .where('user_id', '=', userId)
          .where('provider_id', '=', providerId)
          .where('issuer', '=', issuer)
          .where('subject', '=', subject)
          .execute();
        return 'unlinked';
      });
    },
    async deleteByUser(userId) {
      return count(await db.deleteFrom('upstream_identities').where('user_id', '=', userId).executeTakeFirst());
    },
  };
}

const toState = (r: Row<UpstreamStatesTable>): UpstreamState => ({
  stateHash: r.state_hash,
  providerId: r.provider_id,
  bindingHash: r.binding_hash,
  purpose: r.purpose as UpstreamPurpose,
  ...(r.interaction_uid !== null ? { interactionUid: r.interaction_uid } : {}),
  ...(r.user_id !== null ? { userId: r.user_id } : {}),
  ...(r.return_to !== null ? { returnTo: r.return_to } : {}),
  codeVerifier: r.code_verifier,
  nonce: r.nonce,
  ...(r.max_age !== null ? { maxAge: Number(r.max_age) } : {}),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

/** Redirects to upstreams in flight (migration 0025): single use by DELETE ... RETURNING. */
export function createSqlUpstreamStateStore({ db }: SqlContext): UpstreamStateStore {
  return {
    async create(s) {
      await db
        .insertInto('upstream_states')
        .values({
          state_hash: s.stateHash,
          provider_id: s.providerId,
          binding_hash: s.bindingHash,
          purpose: s.purpose,
          interaction_uid: s.interactionUid ?? null,
          user_id: s.userId ?? null,
          return_to: s.returnTo ?? null,
          code_verifier: s.codeVerifier,
          nonce: s.nonce,
          max_age: s.maxAge ?? null,
          created_at: s.createdAt,
          expires_at: s.expiresAt,
        })
        .execute();
    },
    async consume(stateHash, providerId, bindingHash, now) {
      const row = await db
        .deleteFrom('upstream_states')
        .where('state_hash', '=', stateHash)
        .where('provider_id', '=', providerId)
        .where('binding_hash', '=', bindingHash)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toState(row);
    },
  };
}
