import type { Kysely } from 'kysely';

/**
 * When a redeemed authorization code was presented again (RFC 9700 section 4.2.4), or NULL: the
 * mark a replay leaves on the code's own row, which the first redemption reads as its grant is
 * stored (GrantStore.create's `redeemedCode`). It replaces the `code-reuse:` entry of the replay store.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('auth_codes').addColumn('replayed_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('auth_codes').dropColumn('replayed_at').execute();
}
