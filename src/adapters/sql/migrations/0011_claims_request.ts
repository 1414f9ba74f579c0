import type { Kysely } from 'kysely';

/**
 * OpenID Connect Core 5.5: the user claims an authorization request's `claims` parameter asked for
 * (JSON: {"id_token": [...], "userinfo": [...]}), kept with the code and then the grant so the ID
 * tokens and userinfo answers of that grant include them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('auth_codes').addColumn('claims', 'text').execute();
  await db.schema.alterTable('grants').addColumn('claims', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('claims').execute();
  await db.schema.alterTable('auth_codes').dropColumn('claims').execute();
}
