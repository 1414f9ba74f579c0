import { sql, type Kysely } from 'kysely';
import type { ReplayEpochStore } from '../../ports/replay.ts';
import type { DatabaseHandle } from './database.ts';

/** The Redis replay cache's epoch in the `replay_epoch` table (one row, id 1). */
export function sqlReplayEpoch(handle: DatabaseHandle): ReplayEpochStore {
  const db = handle.db as unknown as Kysely<any>;
  // The database's clock, so every instance dates a loss the same way.
  const dbNow =
    handle.dialect === 'postgres'
      ? sql<number>`floor(extract(epoch from clock_timestamp()))::bigint`
      : sql<number>`cast(strftime('%s', 'now') as integer)`;
  const current = async () => {
    const row = await db
      .selectFrom('replay_epoch')
      .select(['generation', 'lost_at'])
      .where('id', '=', 1)
      .executeTakeFirst();
    return row && { generation: Number(row.generation), lostAt: Number(row.lost_at) };
  };
  return {
    async read() {
      const found = await current();
      if (found) return { ...found, created: false };
      const r = await db
        .insertInto('replay_epoch')
        .values({ id: 1, generation: 1, lost_at: 0 })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      const created = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
      return { ...(await current())!, created };
    },
    async advance(seen, atLeast) {
      const next = Math.max(seen + 1, atLeast);
      const r = await db
        .updateTable('replay_epoch')
        .set({ generation: next, lost_at: dbNow })
        .where('id', '=', 1)
        .where('generation', '=', seen)
        .executeTakeFirst();
      const now = await current();
      if (!now) throw new Error('replay_epoch has no row');
      return { ...now, advanced: Number(r.numUpdatedRows) > 0 };
    },
  };
}
