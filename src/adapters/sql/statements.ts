// What the SQL stores share: the context each is built over (one per database handle: the
// transaction runners and the compiled-once statements), the column helpers, and the few row
// mappers and statements that more than one store uses. Each store of a port is in
// <port>-store.ts; stores.ts assembles them.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  sql,
  type Compilable,
  type CompiledQuery,
  type Kysely,
  type QueryResult,
  type RawBuilder,
  type Selectable,
  type SqlBool,
  type Transaction,
} from 'kysely';
import type { Page } from '../../ports/admin.ts';
import type { ConsentRecord } from '../../ports/consents.ts';
import type { SessionClient } from '../../ports/sessions.ts';
import type { UserOrigin, UserRecord } from '../../ports/users.ts';
import type { DatabaseHandle } from './database.ts';
import { groupCommit } from './group-commit.ts';
import type { ConsentsTable, Schema, UsersTable } from './schema.ts';

export type Db = Kysely<Schema> | Transaction<Schema>;
export type Row<T> = Selectable<T>;
type Tx = <T>(fn: (t: Transaction<Schema>) => Promise<T>) => Promise<T>;
type Statement<R> = (q: Db, parameters: readonly unknown[]) => Promise<QueryResult<R>>;

// ---- columns ---------------------------------------------------------------------------------------

/** Booleans are stored as 0/1 on both databases. */
export const bool = (v: boolean) => (v ? 1 : 0);
/** JSON columns are text on both databases. */
export const json = (v: unknown) => JSON.stringify(v);

/** The rows a delete, update or upsert changed. */
export const count = (r: { numDeletedRows?: bigint; numUpdatedRows?: bigint; numInsertedOrUpdatedRows?: bigint }) =>
  Number(r.numDeletedRows ?? r.numUpdatedRows ?? r.numInsertedOrUpdatedRows ?? 0n);

// ---- admin lists: pages and search ----------------------------------------------------------------

/** Most items one page of an admin list holds (ports/admin.ts PageQuery). */
export const PAGE_MAX = 200;

/** A page's size: the query's limit, at least 1 and at most PAGE_MAX. */
export const pageLimit = (limit: number) => Math.min(PAGE_MAX, Math.max(1, Math.floor(limit) || 1));

/**
 * A page from `limit` + 1 rows in key order: the first `limit`, and the key of the last of them when there were more.
 */
export function pageOf<T>(rows: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: keyOf(items.at(-1)!) };
}

/**
 * "`column` holds `search`", case-insensitively, for an admin list's search: LIKE with the
 * search's own wildcards (% _ and the escape character) escaped. Case is folded by the database on
 * both sides: PostgreSQL's lower(); on SQLite, tessera_fold() (database.ts: JavaScript's
 * toLowerCase, so not only ASCII letters as SQLite's lower() does).
 */
export function contains(pg: boolean, column: string, search: string): RawBuilder<boolean> {
  const pattern = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return pg
    ? sql<boolean>`lower(${sql.ref(column)}) like lower(${pattern}) escape '\\'`
    : sql<boolean>`tessera_fold(${sql.ref(column)}) like tessera_fold(${pattern}) escape '\\'`;
}

// ---- the context -------------------------------------------------------------------------------------

/** What every SQL store is built over: one per database handle, shared by all the stores of it. */
export interface SqlContext {
  handle: DatabaseHandle;
  db: Kysely<Schema>;
  pg: boolean;
  /** A transaction of its own. */
  tx: Tx;
  /**
   * The hot write transactions (refresh rotation, a grant's creation). PostgreSQL: one transaction
   * each. SQLite: transactions that arrive while one is committing share the next one (group
   * commit); should one throw, the group is rolled back and each runs again on its own (so these
   * must be safe to run twice: group-commit.ts). A commit writes every page it changed to the WAL,
   * and concurrent rotations change the same index pages, so one commit for several costs far
   * less than one each.
   */
  hotTx: Tx;
  /**
   * A hot statement, built and compiled by Kysely once and then run with new parameters (in the
   * order they appear in the SQL): saves the query-building work on the token, introspection,
   * userinfo and refresh paths. Inserts take the row object's values in the mapper's key order.
   * `prepared`: on PostgreSQL, also a named prepared statement (DatabaseHandle.prepare: parsed and
   * planned once per connection), for a statement of the hottest paths that names its columns.
   */
  statement<R>(build: (k: Kysely<Schema>) => Compilable<R>, options?: { prepared?: boolean }): Statement<R>;
  /**
   * A hot single write (a code's insert or use, a replay marker): on SQLite it joins the group
   * commit of the turn (hotTx), since a commit of its own costs several times the statement; on
   * PostgreSQL, and inside a transaction under way, it runs on `db` at once (one round trip,
   * atomic by itself). `run` must be safe to run twice (groupCommit's retry).
   */
  hotWrite<R>(run: (q: Db) => Promise<R>): Promise<R>;
  /** A statement whose shape depends on a count (IN lists, multi-row inserts), compiled once per count. */
  statementBySize<R>(
    build: (k: Kysely<Schema>, n: number) => Compilable<R>,
  ): (q: Db, parameters: readonly unknown[], n?: number) => Promise<QueryResult<R>>;
  /**
   * A select of the rows of a set of keys, compiled once: `build` puts `match(column)` in its
   * where clause, which is `column IN (...)` on SQLite (compiled once per count of keys) or
   * `column = any($1)` on PostgreSQL (one text for any count: a named prepared statement, parsed
   * and planned once per connection, so the select should name its columns). For the batched
   * lookups of the hot paths (batched-lookups.ts).
   */
  keyed<R>(
    build: (k: Kysely<Schema>, match: (column: string) => RawBuilder<SqlBool>) => Compilable<R>,
  ): (q: Db, keys: readonly string[]) => Promise<R[]>;
  /** A compiled-once statement run on `db` (outside any transaction of a store's own), answering its first row. */
  lookup<R>(build: (k: Kysely<Schema>) => Compilable<R>): (...parameters: unknown[]) => Promise<R | undefined>;
  /**
   * The stores built over this context run in a transaction under way (Stores.transaction): `db` is
   * that transaction. Lookups are not batched across requests then (batched-lookups.ts: a batch
   * belongs to no transaction).
   */
  bound: boolean;
}

export function sqlContext(handle: DatabaseHandle): SqlContext {
  const { db, direct, inTransaction } = handle;
  const pg = handle.dialect === 'postgres';
  const tx: Tx = (fn) => db.transaction().execute(fn);
  const statement = <R>(
    build: (k: Kysely<Schema>) => Compilable<R>,
    options?: { prepared?: boolean },
  ): Statement<R> => {
    let compiled: CompiledQuery<R> | undefined;
    return async (q, parameters) => {
      if (!compiled) {
        compiled = build(db).compile();
        if (options?.prepared) handle.prepare?.(compiled.sql);
      }
      // SQLite: inside a transaction (a rotation, a group commit, an audit append), the transaction
      // holds the one connection, so its statements run on it at once, without the several promise
      // hops of Kysely's executor per statement. Outside one, while no transaction is open, a
      // statement runs (and commits) at once too: node:sqlite is synchronous, so nothing can come
      // between. While another's transaction is open, it waits for it in Kysely's queue.
      if (direct && (q.isTransaction || !inTransaction!())) return direct<R>(compiled, parameters);
      return q.executeQuery<R>({ ...compiled, parameters });
    };
  };
  const statementBySize = <R>(build: (k: Kysely<Schema>, n: number) => Compilable<R>) => {
    const bySize = new Map<number, Statement<R>>();
    return (q: Db, parameters: readonly unknown[], n = parameters.length) => {
      let run = bySize.get(n);
      if (!run) bySize.set(n, (run = statement((k) => build(k, n))));
      return run(q, parameters);
    };
  };
  const lookup = <R>(build: (k: Kysely<Schema>) => Compilable<R>) => {
    const run = statement(build);
    return async (...parameters: unknown[]): Promise<R | undefined> => (await run(db, parameters)).rows[0];
  };
  const keyed = <R>(build: (k: Kysely<Schema>, match: (column: string) => RawBuilder<SqlBool>) => Compilable<R>) => {
    if (pg) {
      let compiled: CompiledQuery<R> | undefined;
      return async (q: Db, keys: readonly string[]) => {
        if (!compiled) {
          compiled = build(db, (c) => sql<SqlBool>`${sql.ref(c)} = any(${sql.val([])})`).compile();
          handle.prepare?.(compiled.sql);
        }
        return (await q.executeQuery<R>({ ...compiled, parameters: [keys] })).rows;
      };
    }
    const bySize = statementBySize((k, n) =>
      build(k, (c) => sql<SqlBool>`${sql.ref(c)} in (${sql.join(Array<string>(n).fill(''))})`),
    );
    return async (q: Db, keys: readonly string[]) => (await bySize(q, keys)).rows;
  };
  const hotTx = pg ? tx : groupCommit(tx);
  const hotWrite = <R>(run: (q: Db) => Promise<R>) => (pg ? run(db) : hotTx(run));
  return { handle, db, pg, tx, hotTx, hotWrite, statement, statementBySize, keyed, lookup, bound: false };
}

/**
 * The context of the stores of one transaction under way (Stores.transaction), derived from the
 * root context: every statement of its stores runs on `t`. A store's own transaction (`tx`,
 * `hotTx`: a grant's creation, a client's deletion, an audit append) runs inline on `t` within a
 * savepoint, so that a store which refuses by throwing (keys' promote) undoes its own part and
 * nothing else, as it would on its own; no group commit, no batched lookup, no second connection
 * (SQLite: the transaction holds the process's one connection, which anything else waits for).
 */
export function transactionContext(root: SqlContext, t: Transaction<Schema>): SqlContext {
  const section = savepoints(t);
  const lookup = <R>(build: (k: Kysely<Schema>) => Compilable<R>) => {
    const run = root.statement(build);
    return async (...parameters: unknown[]): Promise<R | undefined> => (await run(t, parameters)).rows[0];
  };
  const hotWrite = <R>(run: (q: Db) => Promise<R>) => run(t);
  return { ...root, db: t, tx: section, hotTx: section, hotWrite, lookup, bound: true };
}

/** The savepoint sections of the transactions under way: the innermost section of the code running now. */
const sections = new AsyncLocalStorage<{ owner: Transaction<Schema>; queue: { tail: Promise<unknown> } }>();

/**
 * Runs functions inside a savepoint of `t` each: released when the function returns, rolled back
 * to (then released) when it throws, the error passed on. Savepoints nest as a stack, so sections
 * started side by side (Promise.all inside a transaction) take turns; a section started within
 * another (a store's transaction inside a nested Stores.transaction) runs within it at once.
 */
export function savepoints(t: Transaction<Schema>): Tx {
  const top = { tail: Promise.resolve() as Promise<unknown> };
  let n = 0;
  return <T>(fn: (t: Transaction<Schema>) => Promise<T>): Promise<T> => {
    const current = sections.getStore();
    const queue = current?.owner === t ? current.queue : top;
    const run = async (): Promise<T> => {
      const name = `tessera_sp${++n}`;
      await sql.raw(`savepoint ${name}`).execute(t);
      let result: T;
      try {
        result = await sections.run({ owner: t, queue: { tail: Promise.resolve() } }, () => fn(t));
      } catch (err) {
        try {
          await sql.raw(`rollback to savepoint ${name}`).execute(t);
          await sql.raw(`release savepoint ${name}`).execute(t);
        } catch {
          // The transaction is gone already (SQLite rolls it back by itself on a full disk or an
          // I/O error): the error that matters is the first one.
        }
        throw err;
      }
      await sql.raw(`release savepoint ${name}`).execute(t);
      return result;
    };
    const turn = queue.tail.then(run, run);
    queue.tail = turn.catch(() => {});
    return turn;
  };
}

// ---- shared by several stores ---------------------------------------------------------------------------

/**
 * A client recorded under a browser session (values: sid, client_id, user_id, created_at,
 * expires_at); again, it moves the row's end. Written by the session store, and by the grant store
 * with a grant made under a session (in the grant's own transaction).
 */
export const upsertSessionClient = (k: Kysely<Schema>) =>
  k
    .insertInto('session_clients')
    .values({ sid: '', client_id: '', user_id: '', created_at: 0, expires_at: 0 })
    .onConflict((oc) =>
      oc.columns(['sid', 'client_id']).doUpdateSet((eb) => ({ expires_at: eb.ref('excluded.expires_at') })),
    );
/** upsertSessionClient's values. */
export const sessionClientValues = (e: SessionClient): unknown[] => [
  e.sid,
  e.clientId,
  e.userId,
  e.createdAt,
  e.expiresAt,
];

/**
 * Every column of users, for a statement that reads a user's row beside another table's under a
 * prefix (`u.<column> as u_<column>`) and names its columns (a prepared statement's must not
 * change when a later migration adds one).
 */
export const USER_COLUMNS = [
  'id',
  'username',
  'password_hash',
  'email',
  'email_verified',
  'name',
  'given_name',
  'family_name',
  'disabled',
  'created_at',
  'updated_at',
  'username_canonical',
  'username_skeleton',
  'origin',
  'mfa_required',
  'mfa_enrol_by',
  'locale',
] as const satisfies readonly (keyof UsersTable)[];
/** Checked when it compiles: a column a migration adds to users must be listed in USER_COLUMNS too. */
export type Unlisted<T, L extends readonly string[]> = Exclude<keyof T, L[number]>;
const allUserColumns: [Unlisted<UsersTable, typeof USER_COLUMNS>] extends [never] ? true : never = true;
void allUserColumns;
/** A row's columns under a prefix, as a join reads them (`u.id as u_id`). */
export type Prefixed<P extends string, T> = { [K in keyof T & string as `${P}${K}`]: T[K] };
/** A left join's columns: null when it found no row. */
export type Nullable<T> = { [K in keyof T]: T[K] | null };
/** The row of `columns` that `row` holds under `prefix` (a left join's row is read only when it was found). */
export function unprefixed<T>(row: object, prefix: string, columns: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = (row as Record<string, unknown>)[prefix + c];
  return out as T;
}

/** A users row as a record: read by the user store, and by the grant store's rotations (the grant's user). */
export const toUser = (r: Row<UsersTable>): UserRecord => ({
  id: r.id,
  username: r.username,
  passwordHash: r.password_hash,
  email: r.email,
  emailVerified: r.email_verified === 1,
  name: r.name,
  givenName: r.given_name,
  familyName: r.family_name,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  origin: r.origin as UserOrigin,
  // Set only when they say something, so a record read back equals the one stored without them.
  ...(r.mfa_required === 1 ? { mfaRequired: true } : {}),
  ...(r.mfa_enrol_by !== null ? { mfaEnrolBy: Number(r.mfa_enrol_by) } : {}),
  ...(r.locale !== null ? { locale: r.locale } : {}),
});

/** A consents row as a record: read by the consent store, and by the session store beside a session. */
export const toConsent = (r: Row<ConsentsTable>): ConsentRecord => ({
  userId: r.user_id,
  clientId: r.client_id,
  scopes: JSON.parse(r.scopes),
  resources: JSON.parse(r.resources),
  grantedAt: r.granted_at,
});

/**
 * Revokes a grant and everything issued from it: marks the grant revoked, every refresh token of it
 * used (so none rotates), copies its access tokens' jtis into revoked_tokens and erases the
 * successor response its reuse grace kept. Returns false if
 * the grant does not exist or was already revoked. Must run inside a transaction. The grant row is
 * updated first, so in PostgreSQL it takes the grant's row lock before anything else, the same order
 * as rotate(): concurrent revocations and rotations of one family serialise without deadlock.
 * Used by the grant store and by the client store (deleting a client).
 */
export async function revokeGrant(tx: Transaction<Schema>, id: string, now: number): Promise<boolean> {
  const res = await tx
    .updateTable('grants')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (count(res) === 0) return false;
  await tx
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('grant_id', '=', id)
    .where('used_at', 'is', null)
    .execute();
  await tx
    .insertInto('revoked_tokens')
    .columns(['jti', 'expires_at'])
    .expression(tx.selectFrom('access_tokens').select(['jti', 'expires_at']).where('grant_id', '=', id))
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
  // The sealed successor response the reuse grace kept for the family, if any (migration 0018).
  await tx.deleteFrom('refresh_grace').where('grant_id', '=', id).execute();
  return true;
}
