import { DEFAULT_AUDIENCE, type ConsentStore } from '../../ports/consents.ts';
import { count, json, toConsent, type SqlContext } from './statements.ts';

/** Consent to `scopes` at each of `resources` (none: the default audience) added to `before`. */
function mergeConsent(
  before: Record<string, string[]>,
  scopes: readonly string[],
  resources: readonly string[],
): Record<string, string[]> {
  const merged: Record<string, string[]> = { ...before };
  for (const r of resources.length ? resources : [DEFAULT_AUDIENCE]) {
    merged[r] = [...new Set([...(Object.hasOwn(merged, r) ? merged[r]! : []), ...scopes])];
  }
  return merged;
}

export function createSqlConsentStore({ db, pg, tx, lookup }: SqlContext): ConsentStore {
  // Compiled once: read at every authorization of a signed-in user.
  const consentOf = lookup((k) =>
    k.selectFrom('consents').selectAll().where('user_id', '=', '').where('client_id', '=', ''),
  );
  return {
    /** By user id (index consents_client_id, migration 0026). */
    async listByClient(clientId) {
      return (
        await db.selectFrom('consents').selectAll().where('client_id', '=', clientId).orderBy('user_id').execute()
      ).map(toConsent);
    },
    async get(userId, clientId) {
      const row = await consentOf(userId, clientId);
      return row && toConsent(row);
    },
    /**
     * Read-merge-write under the row lock (PostgreSQL) or the write lock (SQLite). If the row is
     * missing, insert-or-nothing; losing that race to a concurrent grant means the row now exists,
     * so go round once more and merge into it.
     */
    grant: (userId, clientId, scopes, now, resources = []) =>
      tx(async (t) => {
        for (;;) {
          const row = await t
            .selectFrom('consents')
            .select(['scopes', 'resources'])
            .where('user_id', '=', userId)
            .where('client_id', '=', clientId)
            .$if(pg, (q) => q.forUpdate())
            .executeTakeFirst();
          if (row) {
            const merged = [...new Set([...(JSON.parse(row.scopes) as string[]), ...scopes])];
            const mergedResources = mergeConsent(JSON.parse(row.resources), scopes, resources);
            await t
              .updateTable('consents')
              .set({ scopes: json(merged), resources: json(mergedResources), granted_at: now })
              .where('user_id', '=', userId)
              .where('client_id', '=', clientId)
              .execute();
            return;
          }
          const inserted = await t
            .insertInto('consents')
            .values({
              user_id: userId,
              client_id: clientId,
              scopes: json([...new Set(scopes)]),
              resources: json(mergeConsent({}, scopes, resources)),
              granted_at: now,
            })
            .onConflict((oc) => oc.columns(['user_id', 'client_id']).doNothing())
            .returning('user_id')
            .executeTakeFirst();
          if (inserted) return;
        }
      }),
    async revoke(userId, clientId) {
      return (
        count(
          await db
            .deleteFrom('consents')
            .where('user_id', '=', userId)
            .where('client_id', '=', clientId)
            .executeTakeFirst(),
        ) > 0
      );
    },
    async listByUser(userId) {
      return (
        await db.selectFrom('consents').selectAll().where('user_id', '=', userId).orderBy('client_id').execute()
      ).map(toConsent);
    },
  };
}
