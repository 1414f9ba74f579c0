import type { Kysely } from 'kysely';

/**
 * The language a user chose on their account page (issue 18): a tag of i18n/negotiate.ts LOCALES,
 * or NULL for none (the browser's languages decide).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('locale', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('locale').execute();
}
