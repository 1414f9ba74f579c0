import type { Kysely } from 'kysely';

/**
 * The epoch of the Redis replay cache (ports/replay.ts ReplayEpochStore): one row, its generation
 * and when its last loss was detected (database time, epoch seconds).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('replay_epoch')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('generation', 'bigint', (c) => c.notNull())
    .addColumn('lost_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('replay_epoch').execute();
}
