import type { Kysely, Migration } from 'kysely';
import type { UsernameKeys } from '../../../ports/users.ts';

/**
 * Usernames compared by their PRECIS canonical form (RFC 8265), unique regardless of case and
 * width; their confusable skeleton (UTS #39) for look-alike checks; each user's origin (operator
 * provisioning, self-registration), so provisioning never silently adopts an account it did not
 * create; and the lease that serialises start-up preparation across processes on one SQLite file.
 *
 * Existing rows are filled in, oldest first. Where two existing usernames share a canonical form
 * ("Bob" and "bob"), or one is not a valid username, the later one keeps no canonical form (NULL):
 * nothing is merged and the migration does not fail. Those rows still sign in by their exact name,
 * and are reported at start-up and by `tessera user collisions` until an operator resolves them.
 */
export const usernameCanonical = (keys: UsernameKeys): Migration => ({ up: (db) => up(db, keys) });

// The canonical form and skeleton come from the caller (accounts/usernames.ts through migrate()), the
// same functions the user store is given, so the adapter holds no rules of its own about usernames.
async function up(db: Kysely<any>, keys: UsernameKeys): Promise<void> {
  await db.schema.alterTable('users').addColumn('username_canonical', 'text').execute();
  await db.schema.alterTable('users').addColumn('username_skeleton', 'text').execute();
  await db.schema
    .alterTable('users')
    .addColumn('origin', 'text', (c) => c.notNull().defaultTo('operator'))
    .execute();

  const rows = (await db
    .selectFrom('users')
    .select(['id', 'username'])
    .orderBy('created_at')
    .orderBy('id')
    .execute()) as { id: string; username: string }[];
  const taken = new Set<string>();
  for (const r of rows) {
    const canonical = keys.canonical(r.username);
    const keep = canonical !== undefined && !taken.has(canonical);
    if (keep) taken.add(canonical);
    await db
      .updateTable('users')
      .set({ username_canonical: keep ? canonical : null, username_skeleton: keys.skeleton(r.username) })
      .where('id', '=', r.id)
      .execute();
  }
  await db.schema.createIndex('users_username_canonical').on('users').column('username_canonical').unique().execute();
  await db.schema.createIndex('users_username_skeleton').on('users').column('username_skeleton').execute();
  // Accounts that signed themselves up left a user_registered record (its actor is the user id).
  await db
    .updateTable('users')
    .set({ origin: 'signup' })
    .where(
      'id',
      'in',
      db
        .selectFrom('audit_events')
        .select('actor')
        .where('type', '=', 'user_registered')
        .where('actor', 'is not', null),
    )
    .execute();

  await db.schema
    .createTable('exclusive_locks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('exclusive_locks').execute();
  await db.schema.dropIndex('users_username_skeleton').execute();
  await db.schema.dropIndex('users_username_canonical').execute();
  await db.schema.alterTable('users').dropColumn('origin').execute();
  await db.schema.alterTable('users').dropColumn('username_skeleton').execute();
  await db.schema.alterTable('users').dropColumn('username_canonical').execute();
}
