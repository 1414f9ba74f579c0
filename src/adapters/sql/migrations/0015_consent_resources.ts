import type { Kysely } from 'kysely';

/**
 * RFC 8707: a remembered consent names the resources (APIs) it was given for, so a request for
 * another resource asks again. Consents remembered before this migration cover no resource: the
 * next request that names one shows the consent page once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consents').addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consents').dropColumn('resources').execute();
}
