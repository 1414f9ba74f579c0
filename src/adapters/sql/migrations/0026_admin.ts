import type { Kysely } from 'kysely';

/**
 * Operating Tessera (issue 20): the admin role of each user who has one (at most one; removed with
 * the user), the per-minute figures every instance adds to for the console's dashboard (one row per
 * minute and figure, summed over instances by an atomic upsert), and the indexes the admin lists
 * page and filter by: sessions by sid, consents by client, audit records by client (newest first).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('admin_roles')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'bigint', (c) => c.notNull())
    .addColumn('granted_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('admin_roles_role').on('admin_roles').column('role').execute();
  await db.schema
    .createTable('stats_minutes')
    .addColumn('minute', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('stats_minutes_pk', ['minute', 'name'])
    .execute();
  await db.schema.createIndex('sessions_sid').on('sessions').column('sid').execute();
  await db.schema.createIndex('consents_client_id').on('consents').column('client_id').execute();
  await db.schema.createIndex('audit_events_client').on('audit_events').columns(['client_id', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_events_client').ifExists().execute();
  await db.schema.dropIndex('consents_client_id').ifExists().execute();
  await db.schema.dropIndex('sessions_sid').ifExists().execute();
  await db.schema.dropTable('stats_minutes').execute();
  await db.schema.dropTable('admin_roles').execute();
}
