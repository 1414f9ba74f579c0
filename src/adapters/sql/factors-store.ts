import type { FactorKind, FactorRecord, FactorStore } from '../../ports/factors.ts';
import type { UserFactorsTable } from './schema.ts';
import { bool, count, json, type Row, type SqlContext } from './statements.ts';

const toFactor = (r: Row<UserFactorsTable>): FactorRecord => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind as FactorKind,
  name: r.name,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  confirmed: r.confirmed === 1,
  secret: r.secret,
  credentialId: r.credential_id,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: JSON.parse(r.transports) as string[],
  backupEligible: r.backup_eligible === 1,
  backedUp: r.backed_up === 1,
  aaguid: r.aaguid,
});

/** Second factors and recovery codes (migration 0021). */
export function createSqlFactorStore({ db, tx }: SqlContext): FactorStore {
  return {
    async listByUser(userId) {
      const rows = await db
        .selectFrom('user_factors')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toFactor);
    },
    async get(id) {
      const row = await db.selectFrom('user_factors').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toFactor(row);
    },
    async findByCredentialId(credentialId) {
      const row = await db
        .selectFrom('user_factors')
        .selectAll()
        .where('credential_id', '=', credentialId)
        .executeTakeFirst();
      return row && toFactor(row);
    },
    /** One insert; a taken id or credential ID leaves the existing row as it is. */
    async create(f) {
      const result = await db
        .insertInto('user_factors')
        .values({
          id: f.id,
          user_id: f.userId,
          kind: f.kind,
          name: f.name,
          created_at: f.createdAt,
          last_used_at: f.lastUsedAt,
          confirmed: bool(f.confirmed),
          secret: f.secret,
          credential_id: f.credentialId,
          public_key: f.publicKey,
          counter: f.counter,
          transports: json(f.transports),
          backup_eligible: bool(f.backupEligible),
          backed_up: bool(f.backedUp),
          aaguid: f.aaguid,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async confirm(userId, id, now) {
      const r = await db
        .updateTable('user_factors')
        .set({ confirmed: 1, last_used_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('confirmed', '=', 0)
        .executeTakeFirst();
      return count(r) > 0;
    },
    async rename(userId, id, name) {
      const r = await db
        .updateTable('user_factors')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return count(r) > 0;
    },
    async delete(userId, id) {
      const r = await db
        .deleteFrom('user_factors')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return count(r) > 0;
    },
    async deleteByUser(userId) {
      return tx(async (t) => {
        await t.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        return count(await t.deleteFrom('user_factors').where('user_id', '=', userId).executeTakeFirst());
      });
    },
    async recordUse(id, now, passkey) {
      let q = db.updateTable('user_factors').set({ last_used_at: now }).where('id', '=', id);
      if (passkey) {
        q = q.set({ counter: passkey.counter, backed_up: bool(passkey.backedUp) });
        // A counter of 0 means the authenticator keeps none; any other must grow.
        if (passkey.counter !== 0) q = q.where('counter', '<', passkey.counter);
        else q = q.where('counter', '=', 0);
      }
      return count(await q.executeTakeFirst()) > 0;
    },
    async setRecoveryCodes(userId, hashes, now) {
      await tx(async (t) => {
        await t.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        if (hashes.length)
          await t
            .insertInto('recovery_codes')
            .values(hashes.map((h) => ({ user_id: userId, code_hash: h, created_at: now, used_at: null })))
            .execute();
      });
    },
    async useRecoveryCode(userId, hash, now) {
      const r = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return count(r) > 0;
    },
    async countRecoveryCodes(userId) {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
