import type { SessionUpstream } from '../../ports/sessions.ts';
import type { PendingSignInRecord, SignInStore } from '../../ports/sign-ins.ts';
import type { PendingSignInsTable } from './schema.ts';
import { bool, count, json, type Row, type SqlContext } from './statements.ts';

const toPending = (r: Row<PendingSignInsTable>): PendingSignInRecord => ({
  idHash: r.id_hash,
  userId: r.user_id,
  amr: JSON.parse(r.amr) as string[],
  continueTo: r.continue_to,
  stepUp: r.step_up === 1,
  ...(r.upstream ? { upstream: JSON.parse(r.upstream) as SessionUpstream } : {}),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

/** Pending second-factor sign-ins and remembered devices (migration 0022). */
export function createSqlSignInStore({ db }: SqlContext): SignInStore {
  return {
    async createPending(p) {
      await db
        .insertInto('pending_sign_ins')
        .values({
          id_hash: p.idHash,
          user_id: p.userId,
          amr: json(p.amr),
          continue_to: p.continueTo,
          step_up: bool(p.stepUp),
          upstream: p.upstream ? json(p.upstream) : null,
          created_at: p.createdAt,
          expires_at: p.expiresAt,
        })
        .execute();
    },
    async getPending(idHash, now) {
      const row = await db
        .selectFrom('pending_sign_ins')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toPending(row);
    },
    /** One delete with RETURNING: of concurrent callers, exactly one gets the row. */
    async consumePending(idHash, now) {
      const row = await db
        .deleteFrom('pending_sign_ins')
        .where('id_hash', '=', idHash)
        .returningAll()
        .executeTakeFirst();
      return row && Number(row.expires_at) > now ? toPending(row) : undefined;
    },
    async rememberDevice(d) {
      await db
        .insertInto('remembered_devices')
        .values({ id_hash: d.idHash, user_id: d.userId, created_at: d.createdAt, expires_at: d.expiresAt })
        .execute();
    },
    async isRememberedDevice(idHash, userId, now) {
      const row = await db
        .selectFrom('remembered_devices')
        .select('id_hash')
        .where('id_hash', '=', idHash)
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row !== undefined;
    },
    async forgetUser(userId) {
      await db.deleteFrom('pending_sign_ins').where('user_id', '=', userId).execute();
      return count(await db.deleteFrom('remembered_devices').where('user_id', '=', userId).executeTakeFirst());
    },
  };
}
