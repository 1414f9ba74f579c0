import { sql, type Kysely } from 'kysely';

/**
 * RFC 8707: a remembered consent says which scopes were consented to for which resource (API), as
 * a JSON object from the resource identifier to its scopes, '' standing for the default audience
 * (a request naming no resource). A request for a resource, or a scope at a resource, not in it
 * asks again. Consents remembered before this migration covered the default audience only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('consents')
    .addColumn('resources', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await sql`UPDATE consents SET resources = '{"":' || scopes || '}'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('consents').dropColumn('resources').execute();
}
