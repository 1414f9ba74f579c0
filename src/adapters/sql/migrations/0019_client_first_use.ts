import { sql, type Kysely } from 'kysely';

/**
 * When a client was first issued a token (TESSERA_REGISTRATION_UNUSED_TTL: a dynamically registered
 * client never used within that time is deleted). Written once, by the first token, never on later
 * requests. Clients that exist before this migration count as used (from their creation), so
 * turning the setting on never deletes a client that may be in use. The partial index holds the
 * unused clients only, which is what the sweep reads.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('first_used_at', 'bigint').execute();
  await sql`UPDATE clients SET first_used_at = created_at`.execute(db);
  await sql`CREATE INDEX clients_unused_idx ON clients (updated_at) WHERE first_used_at IS NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX clients_unused_idx`.execute(db);
  await db.schema.alterTable('clients').dropColumn('first_used_at').execute();
}
