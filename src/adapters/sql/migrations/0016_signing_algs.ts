import type { Kysely } from 'kysely';

/**
 * Several signing algorithms at once (an active key per algorithm, e.g. ES256 for access tokens
 * and RS256 for ID tokens, each with its own schedule): the partial unique indexes that allowed one
 * active and one prepublished key in all become one of each per algorithm, so racing processes
 * still make exactly one of each transition, per algorithm (both engines).
 *
 * Existing clients keep the ID-token algorithm they have been getting. Before this migration the
 * server signed every ID token with its single active key, so the algorithm of the key that is
 * active when the migration runs is, by construction, the one each existing client has been
 * verifying (TESSERA_SIGNING_ALG at the time, which a migration cannot read, but whose key it can).
 * That algorithm is recorded as `id_token_signed_response_alg` in every client's metadata that has
 * none. A database without an active key has issued no ID token, so there is nothing to keep
 * and nothing is recorded (such clients get the default of OIDC Registration section 2, RS256).
 * A FAPI 2.0 client (fapi_profile "2.0") is left alone when that algorithm is RS256, which the
 * profile forbids: it gets the profile's default (ES256, else PS256) — the one change the
 * profile requires. Clients under the server-wide TESSERA_FAPI_PROFILE are treated alike at
 * signing time (see protocol/tokens/id-token.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_active').execute();
  await db.schema.dropIndex('signing_keys_one_prepublished').execute();
  await db.schema
    .createIndex('signing_keys_one_active_per_alg')
    .on('signing_keys')
    .columns(['alg', 'state'])
    .unique()
    .where('state', '=', 'active')
    .execute();
  await db.schema
    .createIndex('signing_keys_one_prepublished_per_alg')
    .on('signing_keys')
    .columns(['alg', 'state'])
    .unique()
    .where('state', '=', 'prepublished')
    .execute();

  const active = await db
    .selectFrom('signing_keys')
    .select('alg')
    .where('state', '=', 'active')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (!active) return;
  const alg = String(active.alg);
  const rows = await db.selectFrom('clients').select(['client_id', 'metadata']).execute();
  for (const row of rows) {
    const metadata = JSON.parse(String(row.metadata)) as Record<string, unknown>;
    if (metadata.id_token_signed_response_alg !== undefined) continue;
    if (alg === 'RS256' && metadata.fapi_profile === '2.0') continue;
    await db
      .updateTable('clients')
      .set({ metadata: JSON.stringify({ ...metadata, id_token_signed_response_alg: alg }) })
      .where('client_id', '=', row.client_id)
      .where('metadata', '=', row.metadata)
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  // Back to one active and one prepublished key in all: keys of other algorithms than the newest
  // active one are retired first (the older indexes could not be created otherwise).
  const newest = await db
    .selectFrom('signing_keys')
    .select('alg')
    .where('state', '=', 'active')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (newest) {
    await db
      .updateTable('signing_keys')
      .set({ state: 'retired' })
      .where('state', 'in', ['active', 'prepublished'])
      .where('alg', '!=', newest.alg)
      .execute();
  }
  await db.schema.dropIndex('signing_keys_one_prepublished_per_alg').execute();
  await db.schema.dropIndex('signing_keys_one_active_per_alg').execute();
  await db.schema
    .createIndex('signing_keys_one_active')
    .on('signing_keys')
    .column('state')
    .unique()
    .where('state', '=', 'active')
    .execute();
  await db.schema
    .createIndex('signing_keys_one_prepublished')
    .on('signing_keys')
    .column('state')
    .unique()
    .where('state', '=', 'prepublished')
    .execute();
}
