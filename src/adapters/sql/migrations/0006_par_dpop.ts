import type { Kysely } from 'kysely';

/**
 * Pushed authorization requests (RFC 9126), stored by the hash of their request_uri until used
 * once or expired; and the DPoP key (RFC 9449 JWK thumbprint) that an authorization code or a
 * grant (refresh-token family) is bound to.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pushed_requests')
    .addColumn('uri_hash', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pushed_requests_expires_at').on('pushed_requests').column('expires_at').execute();
  await db.schema.alterTable('auth_codes').addColumn('dpop_jkt', 'text').execute();
  await db.schema.alterTable('grants').addColumn('dpop_jkt', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('dpop_jkt').execute();
  await db.schema.alterTable('auth_codes').dropColumn('dpop_jkt').execute();
  await db.schema.dropTable('pushed_requests').execute();
}
