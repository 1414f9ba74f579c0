import { sql } from 'kysely';
import type { CounterStore } from '../../ports/counters.ts';
import type { SqlContext } from './statements.ts';

export function createSqlCounterStore({ db }: SqlContext): CounterStore {
  return {
    async hit(key, now, windowSeconds) {
      // One statement: a counter idle past its expiry starts again at 1.
      const row = await db
        .insertInto('counters')
        .values({ key, count: 1, last_at: now, expires_at: now + windowSeconds })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            count: sql<number>`case when counters.expires_at <= ${now} then 1 else counters.count + 1 end`,
            last_at: now,
            expires_at: now + windowSeconds,
          }),
        )
        .returning(['count', 'last_at', 'expires_at'])
        .executeTakeFirstOrThrow();
      return { count: row.count, lastAt: row.last_at, expiresAt: row.expires_at };
    },
    async get(key, now) {
      const row = await db
        .selectFrom('counters')
        .selectAll()
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && { count: row.count, lastAt: row.last_at, expiresAt: row.expires_at };
    },
    async reset(key) {
      await db.deleteFrom('counters').where('key', '=', key).execute();
    },
    // substr, not LIKE: a key's characters (base64url has _) are never wildcards.
    async resetPrefix(prefix) {
      const r = await db
        .deleteFrom('counters')
        .where(sql`substr(key, 1, ${prefix.length})`, '=', prefix)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
