import type { ClientBlockStore } from '../../ports/client-blocks.ts';
import { count, type SqlContext } from './statements.ts';

export function createSqlClientBlockStore({ db }: SqlContext): ClientBlockStore {
  return {
    async has(clientId) {
      const row = await db
        .selectFrom('client_blocks')
        .select('client_id')
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row !== undefined;
    },
    async list() {
      const rows = await db.selectFrom('client_blocks').selectAll().orderBy('client_id').execute();
      return rows.map((r) => ({ clientId: r.client_id, blockedAt: Number(r.blocked_at) }));
    },
    /** One insert that leaves an existing block as it is. */
    async add(clientId, at) {
      const result = await db
        .insertInto('client_blocks')
        .values({ client_id: clientId, blocked_at: at })
        .onConflict((oc) => oc.column('client_id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async remove(clientId) {
      return count(await db.deleteFrom('client_blocks').where('client_id', '=', clientId).executeTakeFirst()) > 0;
    },
  };
}
