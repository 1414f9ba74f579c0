import type { Kysely } from 'kysely';

/**
 * The signing-key schedule: when each key becomes (prepublished: will become) active, and at most
 * one prepublished key, enforced by the database (partial unique index, both engines) so that
 * processes racing to prepublish the next key give exactly one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('activates_at', 'bigint').execute();
  await db.schema
    .createIndex('signing_keys_one_prepublished')
    .on('signing_keys')
    .column('state')
    .unique()
    .where('state', '=', 'prepublished')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_prepublished').execute();
  await db.schema.alterTable('signing_keys').dropColumn('activates_at').execute();
}
