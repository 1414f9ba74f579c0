import type { Kysely } from 'kysely';

/**
 * Settings operators change at run time (issue 18), one row per setting: its value as JSON text
 * and when it changed. The branding is the row `branding`; its logo's bytes the row `branding.logo`
 * (base64 in JSON), apart so that reading the branding (every few seconds per instance) does not
 * read the logo.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('settings').execute();
}
