import { sql } from 'kysely';
import type { UsernameKeys, UserRecord, UserStore } from '../../ports/users.ts';
import { batchedLookup, PG_BATCH_MAX } from './batched-lookups.ts';
import type { UsersTable } from './schema.ts';
import { bool, contains, pageLimit, pageOf, toUser, USER_COLUMNS, type SqlContext } from './statements.ts';

/** The row of a user: its username's canonical form and skeleton computed by `keys`. */
const userRow = (u: UserRecord, keys: UsernameKeys): UsersTable => ({
  id: u.id,
  username: u.username,
  password_hash: u.passwordHash,
  email: u.email,
  email_verified: bool(u.emailVerified),
  name: u.name,
  given_name: u.givenName,
  family_name: u.familyName,
  disabled: bool(u.disabled),
  created_at: u.createdAt,
  updated_at: u.updatedAt,
  username_canonical: keys.canonical(u.username) ?? null,
  username_skeleton: keys.skeleton(u.username),
  origin: u.origin ?? 'operator',
  mfa_required: bool(u.mfaRequired ?? false),
  mfa_enrol_by: u.mfaEnrolBy ?? null,
  locale: u.locale ?? null,
});

/** The user store; `keys` defines the canonical form and the skeleton that usernames are compared by. */
export function createSqlUserStore({ db, pg, tx, statement, keyed, bound }: SqlContext, keys: UsernameKeys): UserStore {
  const selectUser = statement((k) => k.selectFrom('users').selectAll().where('id', '=', ''));
  // Its columns named (a prepared statement on PostgreSQL: a column added later must not change it).
  const usersByIds = keyed((k, match) => k.selectFrom('users').select(USER_COLUMNS).where(match('id')));
  // Batched across the requests of a turn (batched-lookups.ts), but not within a transaction.
  const userById = bound
    ? async (id: string) => (await selectUser(db, [id])).rows[0]
    : batchedLookup(
        (ids) => usersByIds(db, ids),
        (r) => r.id,
        pg ? PG_BATCH_MAX : undefined,
      );
  return {
    /** By id (the primary key); the search scans (LIKE with its wildcards escaped: statements.ts `contains`). */
    async page({ after, limit, search }) {
      const n = pageLimit(limit);
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .$if(after !== undefined, (b) => b.where('id', '>', after!))
        .$if(Boolean(search), (b) =>
          b.where((eb) =>
            eb.or([contains(pg, 'username', search!), contains(pg, 'email', search!), contains(pg, 'name', search!)]),
          ),
        )
        .orderBy('id')
        .limit(n + 1)
        .execute();
      return pageOf(rows.map(toUser), n, (u) => u.id);
    },
    async count() {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async get(id) {
      const row = await userById(id);
      return row && toUser(row);
    },
    async findByUsername(username) {
      // No username holds a NUL character (PostgreSQL's text cannot store one): none is asked for.
      if (username.includes('\u0000')) return undefined;
      // By canonical form; a row left without one (an existing collision) answers to its exact name
      // only, and first, so that it keeps signing in as before the migration.
      const canonical = keys.canonical(username);
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('username', '=', username), eb('username_canonical', 'is', null)]),
            ...(canonical !== undefined ? [eb('username_canonical', '=', canonical)] : []),
          ]),
        )
        .execute();
      const row = rows.find((r) => r.username_canonical === null) ?? rows[0];
      return row && toUser(row);
    },
    async findByCanonical(username) {
      if (username.includes('\u0000')) return undefined;
      const canonical = keys.canonical(username);
      if (canonical === undefined) return undefined;
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('username_canonical', '=', canonical)
        .executeTakeFirst();
      return row && toUser(row);
    },
    async findConfusable(username) {
      if (username.includes('\u0000')) return undefined;
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('username_skeleton', '=', keys.skeleton(username))
        .orderBy('created_at')
        .limit(1)
        .executeTakeFirst();
      return row && toUser(row);
    },
    async listUnresolved() {
      return (
        await db.selectFrom('users').selectAll().where('username_canonical', 'is', null).orderBy('username').execute()
      ).map(toUser);
    },
    async list() {
      return (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
    },
    async put(user) {
      const row = userRow(user, keys);
      const { id: _, ...rest } = row;
      // A row kept without a canonical form (an existing collision) keeps it so while its username
      // stays the same: updating its password or email must not collide with the other account.
      await db
        .insertInto('users')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            ...rest,
            username_canonical: sql<
              string | null
            >`case when users.username = excluded.username then users.username_canonical else excluded.username_canonical end`,
          }),
        )
        .execute();
    },
    async create(user) {
      // A deleted account's id is never issued again (its tombstone stays).
      if (await db.selectFrom('user_tombstones').select('user_id').where('user_id', '=', user.id).executeTakeFirst())
        return false;
      // ON CONFLICT DO NOTHING covers every unique column (id, username, username_canonical) on SQLite and PostgreSQL.
      const res = await db
        .insertInto('users')
        .values(userRow(user, keys))
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async deleteWithTombstone(id, at, reservedUntil) {
      return tx(async (t) => {
        const row = await t.deleteFrom('users').where('id', '=', id).returning(['username']).executeTakeFirst();
        if (!row) return false;
        await t.deleteFrom('known_devices').where('user_id', '=', id).execute();
        await t.deleteFrom('admin_roles').where('user_id', '=', id).execute();
        // The user's place in the directory (migration 0027): groups, application roles, attributes.
        await t.deleteFrom('directory_members').where('user_id', '=', id).execute();
        await t.deleteFrom('directory_app_roles').where('user_id', '=', id).execute();
        await t.deleteFrom('directory_attributes').where('user_id', '=', id).execute();
        await t
          .insertInto('user_tombstones')
          .values({
            user_id: id,
            username_canonical: keys.canonical(row.username) ?? null,
            deleted_at: at,
            reserved_until: reservedUntil,
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
        return true;
      });
    },
    async tombstone(id) {
      const r = await db.selectFrom('user_tombstones').selectAll().where('user_id', '=', id).executeTakeFirst();
      return (
        r && {
          userId: r.user_id,
          usernameCanonical: r.username_canonical,
          deletedAt: Number(r.deleted_at),
          reservedUntil: Number(r.reserved_until),
        }
      );
    },
    async usernameReserved(username, now) {
      const canonical = keys.canonical(username);
      if (canonical === undefined) return false;
      const r = await db
        .selectFrom('user_tombstones')
        .select('user_id')
        .where('username_canonical', '=', canonical)
        .where('reserved_until', '>', now)
        .executeTakeFirst();
      return r !== undefined;
    },
  };
}
