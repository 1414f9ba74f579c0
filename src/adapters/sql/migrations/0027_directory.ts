import type { Kysely } from 'kysely';

/**
 * The directory of users (issue 20): groups (names unique without regard to case, through
 * `name_key`), their members, the roles users hold per application (a client or a resource server),
 * typed user attributes (the value as JSON text), and the claim mappings of each application (one
 * per claim name). Rows of a user go when the user is deleted (users-store deleteWithTombstone).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('directory_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('directory_members')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('directory_members_user').on('directory_members').column('user_id').execute();
  await db.schema
    .createTable('directory_app_roles')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('app_type', 'text', (c) => c.notNull())
    .addColumn('application', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_app_roles_pk', ['user_id', 'app_type', 'application', 'role'])
    .execute();
  await db.schema
    .createIndex('directory_app_roles_app')
    .on('directory_app_roles')
    .columns(['app_type', 'application', 'role', 'user_id'])
    .execute();
  await db.schema
    .createTable('directory_attributes')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_attributes_pk', ['user_id', 'name'])
    .execute();
  await db.schema
    .createTable('claim_mappings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_type', 'text', (c) => c.notNull())
    .addColumn('application', 'text', (c) => c.notNull())
    .addColumn('claim', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('attribute', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('claim_mappings_claim', ['app_type', 'application', 'claim'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('claim_mappings').execute();
  await db.schema.dropTable('directory_attributes').execute();
  await db.schema.dropTable('directory_app_roles').execute();
  await db.schema.dropTable('directory_members').execute();
  await db.schema.dropTable('directory_groups').execute();
}
