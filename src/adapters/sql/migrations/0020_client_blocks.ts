import type { Kysely } from 'kysely';

/**
 * Operators' blocks of Client ID Metadata Document URLs (`tessera client disable URL`): such a client
 * is never stored, so its being out of service is this row, shared by every instance. Only the
 * identifier and when it was blocked: nothing here can stand in for the document.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('client_blocks')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('blocked_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_blocks').execute();
}
