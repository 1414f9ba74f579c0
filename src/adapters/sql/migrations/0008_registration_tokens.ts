import type { Kysely } from 'kysely';

/** Initial access tokens for dynamic client registration (RFC 7591 section 3): stored by hash. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('initial_access_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('uses_left', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('initial_access_tokens_expires_at')
    .on('initial_access_tokens')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('initial_access_tokens').execute();
}
