import type { Kysely } from 'kysely';

/** RFC 9396: the authorization_details (JSON array text) an authorization code and a grant carry. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('auth_codes').addColumn('authorization_details', 'text').execute();
  await db.schema.alterTable('grants').addColumn('authorization_details', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('authorization_details').execute();
  await db.schema.alterTable('auth_codes').dropColumn('authorization_details').execute();
}
