import type { Kysely } from 'kysely';

/**
 * The refresh-token reuse grace (TESSERA_REFRESH_REUSE_GRACE): for the token a rotation has just
 * used, the successor's token response, sealed under a key derived from the key-encryption key and
 * the used token's own value, kept only for the window (expires_at) so that the same client
 * presenting the same token again gets the same successor. One row per family at most.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('refresh_grace')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('grant_id', 'text', (c) => c.notNull())
    .addColumn('successor_hash', 'text', (c) => c.notNull())
    .addColumn('binding', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refresh_grace_grant_id').on('refresh_grace').column('grant_id').execute();
  await db.schema.createIndex('refresh_grace_expires_at').on('refresh_grace').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('refresh_grace').execute();
}
