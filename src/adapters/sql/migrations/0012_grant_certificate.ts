import type { Kysely } from 'kysely';

/** RFC 8705 section 4: the certificate (x5t#S256) the refresh tokens of a public client are bound to. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').addColumn('cert_thumbprint', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('grants').dropColumn('cert_thumbprint').execute();
}
