import type { Kysely } from 'kysely';

/**
 * Upstream sign-in (issue 17): the configured identity providers (their record as JSON, secrets wrapped under the
 * key-encryption key), the upstream identities linked to users (keyed by provider, issuer and subject, never by email),
 * the redirects in flight (single use, by the state's hash), and on each session (and a sign-in waiting for its second
 * factor) the upstream identity and upstream session it was signed in with (for the upstream's back-channel logout).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('upstreams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sort_order', 'integer', (c) => c.notNull())
    .addColumn('record', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('upstream_identities')
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('upstream_identities_pk', ['provider_id', 'issuer', 'subject'])
    .execute();
  await db.schema.createIndex('upstream_identities_user').on('upstream_identities').column('user_id').execute();
  await db.schema
    .createTable('upstream_states')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('binding_hash', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('interaction_uid', 'text')
    .addColumn('user_id', 'text')
    .addColumn('return_to', 'text')
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('max_age', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('upstream_states_expires').on('upstream_states').column('expires_at').execute();
  await db.schema.alterTable('pending_sign_ins').addColumn('upstream', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('upstream_provider', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('upstream_issuer', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('upstream_subject', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('upstream_sid', 'text').execute();
  await db.schema
    .createIndex('sessions_upstream_subject')
    .on('sessions')
    .columns(['upstream_provider', 'upstream_issuer', 'upstream_subject'])
    .execute();
  await db.schema
    .createIndex('sessions_upstream_sid')
    .on('sessions')
    .columns(['upstream_provider', 'upstream_issuer', 'upstream_sid'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('sessions_upstream_sid').execute();
  await db.schema.dropIndex('sessions_upstream_subject').execute();
  for (const c of ['upstream_sid', 'upstream_subject', 'upstream_issuer', 'upstream_provider'])
    await db.schema.alterTable('sessions').dropColumn(c).execute();
  await db.schema.alterTable('pending_sign_ins').dropColumn('upstream').execute();
  await db.schema.dropTable('upstream_states').execute();
  await db.schema.dropTable('upstream_identities').execute();
  await db.schema.dropTable('upstreams').execute();
}
