import type { Kysely } from 'kysely';

/**
 * Client metadata beyond the core columns (one JSON object, see ClientMetadata), and the replay
 * cache: single-use keys with an expiry, shared by every process and instance.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .createTable('replay_entries')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('replay_entries_expires_at').on('replay_entries').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('replay_entries').execute();
  await db.schema.alterTable('clients').dropColumn('metadata').execute();
}
