import type { Kysely } from 'kysely';

/**
 * Which clients each login session (by its public sid) has issued tokens to, for OpenID Connect
 * back- and front-channel logout: one row per (sid, client), kept until the session ends or the
 * row expires with the session.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('session_clients')
    .addColumn('sid', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_clients_pk', ['sid', 'client_id'])
    .execute();
  await db.schema.createIndex('session_clients_user_id').on('session_clients').column('user_id').execute();
  await db.schema.createIndex('session_clients_expires_at').on('session_clients').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('session_clients').execute();
}
