import type { AccountTokenPurpose, AccountTokenRecord, AccountTokenStore } from '../../ports/account-tokens.ts';
import type { AccountTokensTable } from './schema.ts';
import { count, type Row, type SqlContext } from './statements.ts';

const toToken = (r: Row<AccountTokensTable>): AccountTokenRecord => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  purpose: r.purpose as AccountTokenPurpose,
  address: r.address,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  usedAt: r.used_at === null ? null : Number(r.used_at),
});

/**
 * Email verification and password reset tokens (migration 0024). `consume` is one
 * UPDATE ... WHERE used_at IS NULL AND expires_at > now RETURNING: of concurrent uses one wins.
 */
export function createSqlAccountTokenStore({ db, tx }: SqlContext): AccountTokenStore {
  return {
    async issue(t, { replace }) {
      await tx(async (q) => {
        if (replace)
          await q
            .updateTable('account_tokens')
            .set({ used_at: t.createdAt })
            .where('user_id', '=', t.userId)
            .where('purpose', '=', t.purpose)
            .where('used_at', 'is', null)
            .execute();
        await q
          .insertInto('account_tokens')
          .values({
            token_hash: t.tokenHash,
            user_id: t.userId,
            purpose: t.purpose,
            address: t.address,
            created_at: t.createdAt,
            expires_at: t.expiresAt,
            used_at: null,
          })
          .execute();
      });
    },
    async peek(hash, purpose, now) {
      const row = await db
        .selectFrom('account_tokens')
        .selectAll()
        .where('token_hash', '=', hash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toToken(row);
    },
    async consume(hash, purpose, now) {
      const row = await db
        .updateTable('account_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', hash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toToken(row);
    },
    async invalidate(userId, purpose, now) {
      const r = await db
        .updateTable('account_tokens')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return count(r);
    },
    async markEmailVerified(userId, address, now) {
      const r = await db
        .updateTable('users')
        .set({ email_verified: 1, updated_at: now })
        .where('id', '=', userId)
        .where((eb) => eb(eb.fn('lower', ['email']), '=', address.toLowerCase()))
        .executeTakeFirst();
      return count(r) > 0;
    },
    async usersWithVerifiedEmail(address, opts) {
      let q = db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['email']), '=', address.toLowerCase()))
        .where('email_verified', '=', 1);
      if (!opts?.includeDisabled) q = q.where('disabled', '=', 0);
      const rows = await q.orderBy('created_at').limit(5).execute();
      return rows.map((r) => r.id);
    },
  };
}
