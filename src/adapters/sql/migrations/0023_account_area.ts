import type { Kysely } from 'kysely';

/**
 * The account area (issue 16): what a session shows of its browser (the User-Agent, truncated, the
 * address, and the hash of a long-lived device cookie), the devices an account has signed in from
 * (for the new-device notice), and the tombstones of deleted accounts (their id never comes back,
 * their username stays reserved until `reserved_until`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('ip', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('device_hash', 'text').execute();
  await db.schema
    .createTable('known_devices')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_hash', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('known_devices_pk', ['user_id', 'device_hash'])
    .execute();
  await db.schema
    .createTable('user_tombstones')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('username_canonical', 'text')
    .addColumn('deleted_at', 'bigint', (c) => c.notNull())
    .addColumn('reserved_until', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('user_tombstones_username').on('user_tombstones').column('username_canonical').execute();
  await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_events_actor').ifExists().execute();
  await db.schema.dropTable('user_tombstones').execute();
  await db.schema.dropTable('known_devices').execute();
  await db.schema.alterTable('sessions').dropColumn('device_hash').execute();
  await db.schema.alterTable('sessions').dropColumn('ip').execute();
  await db.schema.alterTable('sessions').dropColumn('user_agent').execute();
}
