import { HOLDER_CUTOFF_SPAN, HOLDER_DISABLED, type RevocationStore } from '../../ports/grants.ts';
import { batchedLookup } from './batched-lookups.ts';
import type { SqlContext } from './statements.ts';

export function createSqlRevocationStore({ db, pg, lookup, statementBySize, bound }: SqlContext): RevocationStore {
  const revokedByJtis = statementBySize((k, n) =>
    k.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('jti', 'in', Array<string>(n).fill('')),
  );
  // Batched on SQLite, but not within a transaction (Stores.transaction): a batch belongs to none.
  const revokedJti =
    pg || bound
      ? lookup((k) => k.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('jti', '=', ''))
      : batchedLookup(
          async (jtis) => (await revokedByJtis(db, jtis)).rows,
          (r) => r.jti,
        );
  /**
   * A token's jti and its holders (client, user) in revoked_tokens: one statement on PostgreSQL;
   * on SQLite the three keys join the batched IN lookup of the turn.
   */
  const revokedOrHolders =
    pg || bound
      ? async (keys: string[]) => (await revokedByJtis(db, keys)).rows
      : async (keys: string[]) => (await Promise.all(keys.map(revokedJti))).filter((r) => r !== undefined);
  return {
    async revokeAccessToken(jti, expiresAt) {
      await db
        .insertInto('revoked_tokens')
        .values({ jti, expires_at: expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
    },
    async isAccessTokenRevoked(jti) {
      return (await revokedJti(jti)) !== undefined;
    },
    async isTokenRevoked(t) {
      // A client's own token (client_credentials: sub is the client id) has no user to look up.
      const rows = await revokedOrHolders(
        t.sub === t.client_id ? [t.jti, `client:${t.client_id}`] : [t.jti, `client:${t.client_id}`, `user:${t.sub}`],
      );
      // A holder's row refuses the tokens issued up to its cut-off (expires_at - span), that second included.
      return rows.some((r) => r.jti === t.jti || t.iat <= Number(r.expires_at) - HOLDER_CUTOFF_SPAN);
    },
    async setHolderDisabled(holder, disabled, now) {
      if (disabled) {
        await db
          .insertInto('revoked_tokens')
          .values({ jti: holder, expires_at: HOLDER_DISABLED })
          .onConflict((oc) => oc.column('jti').doUpdateSet({ expires_at: HOLDER_DISABLED }))
          .execute();
      } else {
        await db
          .updateTable('revoked_tokens')
          .set({ expires_at: now + HOLDER_CUTOFF_SPAN })
          .where('jti', '=', holder)
          .execute();
      }
    },
    async cutOffHolder(holder, now) {
      await db
        .insertInto('revoked_tokens')
        .values({ jti: holder, expires_at: now + HOLDER_CUTOFF_SPAN })
        .onConflict((oc) => oc.column('jti').doUpdateSet({ expires_at: now + HOLDER_CUTOFF_SPAN }))
        .execute();
    },
  };
}
