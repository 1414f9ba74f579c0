import type { Kysely } from 'kysely';

/**
 * Sign-ins waiting for their second factor (by the hash of the browser's cookie, single use, short
 * lived) and remembered devices (TESSERA_MFA_REMEMBER_DEVICE: the hash of a cookie, with its user).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('pending_sign_ins')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('amr', 'text', (c) => c.notNull())
    .addColumn('continue_to', 'text', (c) => c.notNull())
    .addColumn('step_up', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pending_sign_ins_expires').on('pending_sign_ins').column('expires_at').execute();
  await db.schema
    .createTable('remembered_devices')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('remembered_devices_user').on('remembered_devices').column('user_id').execute();
  await db.schema.createIndex('remembered_devices_expires').on('remembered_devices').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('remembered_devices').execute();
  await db.schema.dropTable('pending_sign_ins').execute();
}
