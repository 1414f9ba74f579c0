import { HOLDER_CUTOFF_SPAN, HOLDER_DISABLED, type RevocationStore } from '../../ports/grants.ts';
import { batchedLookup, PG_BATCH_MAX } from './batched-lookups.ts';
import type { SqlContext } from './statements.ts';

export function createSqlRevocationStore({ db, pg, keyed, bound }: SqlContext): RevocationStore {
  const revokedByJtis = keyed((k, match) =>
    k.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where(match('jti')),
  );
  // Batched across the requests of a turn (batched-lookups.ts), but not within a transaction
  // (Stores.transaction): a batch belongs to none.
  const revokedJti = bound
    ? undefined
    : batchedLookup(
        (jtis) => revokedByJtis(db, jtis),
        (r) => r.jti,
        pg ? PG_BATCH_MAX : undefined,
      );
  /**
   * A token's jti and its holders (client, user) in revoked_tokens: the keys join the batched
   * lookup of the turn; within a transaction, one statement of its own.
   */
  const revokedOrHolders = revokedJti
    ? async (keys: string[]) => (await Promise.all(keys.map(revokedJti))).filter((r) => r !== undefined)
    : (keys: string[]) => revokedByJtis(db, keys);
  return {
    async revokeAccessToken(jti, expiresAt) {
      await db
        .insertInto('revoked_tokens')
        .values({ jti, expires_at: expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
    },
    async isAccessTokenRevoked(jti) {
      return (revokedJti ? await revokedJti(jti) : (await revokedByJtis(db, [jti]))[0]) !== undefined;
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
