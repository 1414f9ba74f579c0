import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Stores } from '../../ports/index.ts';
import type { SqlContext } from './statements.ts';

/** The advisory lock key of Stores.exclusive (an arbitrary constant: "tess" in ASCII). */
const EXCLUSIVE_LOCK = 0x74657373;
/** SQLite: the lease row of Stores.exclusive, and how long it outlives a holder that stopped renewing it (seconds). */
const EXCLUSIVE_LEASE = 'prepare';
const EXCLUSIVE_LEASE_TTL = 30;

/** Stores.exclusive over one database: the lock that every process using it shares. */
export function createSqlExclusive({ db, pg }: SqlContext): Stores['exclusive'] {
  let sqliteExclusive: Promise<unknown> = Promise.resolve();

  /** SQLite: runs fn holding the `prepare` lease of exclusive_locks, shared by every process on the file. */
  const withSqliteLease = async <T>(fn: () => Promise<T>): Promise<T> => {
    const holder = randomUUID();
    const epoch = () => Math.floor(Date.now() / 1000);
    for (;;) {
      await db
        .deleteFrom('exclusive_locks')
        .where('name', '=', EXCLUSIVE_LEASE)
        .where('expires_at', '<', epoch())
        .execute();
      const res = await db
        .insertInto('exclusive_locks')
        .values({ name: EXCLUSIVE_LEASE, holder, expires_at: epoch() + EXCLUSIVE_LEASE_TTL })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 100)));
    }
    const renew = setInterval(
      () => {
        db.updateTable('exclusive_locks')
          .set({ expires_at: epoch() + EXCLUSIVE_LEASE_TTL })
          .where('name', '=', EXCLUSIVE_LEASE)
          .where('holder', '=', holder)
          .execute()
          .catch(() => {});
      },
      (EXCLUSIVE_LEASE_TTL * 1000) / 3,
    );
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await db.deleteFrom('exclusive_locks').where('name', '=', EXCLUSIVE_LEASE).where('holder', '=', holder).execute();
    }
  };

  return async (fn) => {
    if (!pg) {
      // One SQLite connection per process: serialise within it, and across the processes of one
      // database file with a lease row (renewed while fn runs, taken over once it expires should
      // its holder die).
      const run = sqliteExclusive.then(() => withSqliteLease(fn));
      sqliteExclusive = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    }
    // A session-level advisory lock on a connection of its own, held while fn runs on the pool;
    // PostgreSQL releases it by itself should this process die meanwhile.
    // Waiting for the lock is not bounded by the pool's statement timeout (another instance may
    // hash many bootstrap passwords meanwhile); RESET restores it before the connection goes back.
    return db.connection().execute(async (conn) => {
      await sql`set statement_timeout = 0`.execute(conn);
      await sql`select pg_advisory_lock(${EXCLUSIVE_LOCK})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`select pg_advisory_unlock(${EXCLUSIVE_LOCK})`.execute(conn);
        await sql`reset statement_timeout`.execute(conn);
      }
    });
  };
}
