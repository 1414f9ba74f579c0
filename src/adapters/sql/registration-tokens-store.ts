import { sql } from 'kysely';
import type { InitialAccessTokenRecord, InitialAccessTokenStore } from '../../ports/registration-tokens.ts';
import type { InitialAccessTokensTable } from './schema.ts';
import { count, type Row, type SqlContext } from './statements.ts';

const toInitialAccessToken = (r: Row<InitialAccessTokensTable>): InitialAccessTokenRecord => ({
  id: r.id,
  tokenHash: r.token_hash,
  usesLeft: r.uses_left === null ? null : Number(r.uses_left),
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

/** The initial access tokens of dynamic client registration (RFC 7591). */
export function createSqlInitialAccessTokenStore({ db }: SqlContext): InitialAccessTokenStore {
  return {
    async create(t) {
      await db
        .insertInto('initial_access_tokens')
        .values({
          id: t.id,
          token_hash: t.tokenHash,
          uses_left: t.usesLeft,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
        })
        .execute();
    },
    async find(tokenHash, now) {
      const r = await db
        .selectFrom('initial_access_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('expires_at', '>', now)
        .where((eb) => eb.or([eb('uses_left', 'is', null), eb('uses_left', '>', 0)]))
        .executeTakeFirst();
      return r && toInitialAccessToken(r);
    },
    /** One conditional UPDATE: a use is taken only from a live token with uses left. */
    async consume(tokenHash, now) {
      return (
        count(
          await db
            .updateTable('initial_access_tokens')
            // NULL (unlimited) stays NULL: NULL - 1 is NULL in SQL.
            .set({ uses_left: sql<number | null>`uses_left - 1` })
            .where('token_hash', '=', tokenHash)
            .where('expires_at', '>', now)
            .where((eb) => eb.or([eb('uses_left', 'is', null), eb('uses_left', '>', 0)]))
            .executeTakeFirst(),
        ) === 1
      );
    },
    async list(now) {
      const rows = await db
        .selectFrom('initial_access_tokens')
        .selectAll()
        .where('expires_at', '>', now)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toInitialAccessToken);
    },
    async revoke(id) {
      return count(await db.deleteFrom('initial_access_tokens').where('id', '=', id).executeTakeFirst()) === 1;
    },
  };
}
