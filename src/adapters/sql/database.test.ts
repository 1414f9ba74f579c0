import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import {
  Bracketed,
  Commit,
  openDatabase,
  pgFault,
  pgUnavailable,
  sqliteFault,
  sqliteUnavailable,
  StorageFaultError,
  WAL_SIZE_LIMIT,
  type FaultEvent,
} from './database.ts';
import { sqlContext } from './statements.ts';
import { migrate } from './migrations/index.ts';
import { StorageUnavailableError } from '../../ports/unavailable.ts';
import { usernameKeys } from '../../accounts/usernames.ts';

describe('which driver errors mean "the database is unavailable"', () => {
  it('PostgreSQL: connection failures, shutdown, start-up, too many connections, timeouts', () => {
    const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
    for (const e of [
      err('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      err('read ECONNRESET', 'ECONNRESET'),
      err('Connection terminated unexpectedly'),
      err('timeout exceeded when trying to connect'),
      err('Query read timeout'),
      err('terminating connection due to administrator command', '57P01'),
      err('the database system is starting up', '57P03'),
      err('the database system is in recovery mode', '57P03'),
      err('sorry, too many clients already', '53300'),
      err('connection failure', '08006'),
      err('canceling statement due to statement timeout', '57014'),
    ])
      assert.equal(pgUnavailable(e), true, e.message);
    for (const e of [
      err('duplicate key value violates unique constraint', '23505'),
      err('relation "x" does not exist', '42P01'),
      err('could not serialize access', '40001'),
      new Error('something else'),
      'not an error',
    ])
      assert.equal(pgUnavailable(e), false, String(e));
  });

  it('SQLite: a database locked by another connection past the busy timeout (SQLITE_BUSY), nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-busy-'));
    const path = join(dir, 'x.db');
    const a = new DatabaseSync(path);
    const b = new DatabaseSync(path);
    try {
      a.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x)');
      b.exec('PRAGMA busy_timeout = 0');
      a.exec('BEGIN IMMEDIATE; INSERT INTO t VALUES (1)');
      let busy: unknown;
      try {
        b.exec('INSERT INTO t VALUES (2)');
      } catch (e) {
        busy = e;
      }
      assert.ok(busy, 'the second writer was refused');
      assert.equal(sqliteUnavailable(busy), true);
      a.exec('COMMIT');
      let constraint: unknown;
      try {
        b.exec('CREATE TABLE t (x)');
      } catch (e) {
        constraint = e;
      }
      assert.equal(sqliteUnavailable(constraint), false);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a COMMIT the server answered, then a connection that ends before ReadyForQuery', () => {
  // pg's Query as the client's parser drives it: one CommandComplete per statement, then either
  // ReadyForQuery or, when the server goes away first (a fast shutdown terminates a backend between
  // COMMIT's answer and the Sync's), an error. The connection object is not used by these steps.
  type Driven = {
    callback: (err: Error | undefined, results: unknown) => void;
    handleCommandComplete(msg: { text: string }, connection: unknown): void;
    handleError(err: Error, connection: unknown): void;
  };
  const drive = (q: unknown, tags: string[]) => {
    const query = q as Driven;
    let outcome: { err?: Error; results?: unknown } | undefined;
    query.callback = (err, results) => {
      assert.equal(outcome, undefined, 'answered once');
      outcome = { err, results };
    };
    for (const text of tags) query.handleCommandComplete({ text }, {});
    query.handleError(new Error('terminating connection due to administrator command'), {});
    return outcome!;
  };
  const terminated = /terminating connection/;

  it('a plain COMMIT: done once answered, failed when not answered or answered ROLLBACK', () => {
    const done = drive(new Commit({ text: 'commit' }), ['COMMIT']);
    assert.equal(done.err, undefined);
    assert.equal((done.results as { command: string }).command, 'COMMIT');
    assert.match(String(drive(new Commit({ text: 'commit' }), []).err), terminated);
    assert.match(String(drive(new Commit({ text: 'commit' }), ['ROLLBACK']).err), terminated);
  });

  it('a statement bracketed with BEGIN and COMMIT: its answers returned once COMMIT is answered', () => {
    const batch = () => new Bracketed({ name: 't', text: 'update t set x = 1' }, ['begin'], true);
    const done = drive(batch(), ['BEGIN', 'UPDATE 3', 'COMMIT']);
    assert.equal(done.err, undefined);
    const results = done.results as { command: string; rowCount: number }[];
    assert.deepEqual(
      results.map((r) => [r.command, r.rowCount]),
      [
        ['BEGIN', null],
        ['UPDATE', 3],
        ['COMMIT', null],
      ],
    );
    // The statement answered, the COMMIT not yet: nothing says the transaction committed.
    assert.match(String(drive(batch(), ['BEGIN', 'UPDATE 3']).err), terminated);
  });

  it('a statement without COMMIT after it fails with the connection, whatever it was answered', () => {
    const read = new Bracketed({ name: 'r', text: 'select 1' }, ['begin'], false);
    assert.match(String(drive(read, ['BEGIN', 'SELECT 1']).err), terminated);
  });
});

describe('which driver errors mean "the database refuses writes" (a storage fault)', () => {
  it('PostgreSQL: disk full, read-only transaction, I/O error, insufficient resources; not too many connections', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(pgFault(err('53100')), 'disk_full');
    assert.equal(pgFault(err('25006')), 'read_only');
    assert.equal(pgFault(err('58030')), 'io_error');
    assert.equal(pgFault(err('53200')), 'insufficient_resources');
    assert.equal(pgFault(err('53000')), 'insufficient_resources');
    assert.equal(pgFault(err('53400')), 'insufficient_resources');
    for (const code of ['53300', '23505', '57P01', '08006', '40001']) assert.equal(pgFault(err(code)), undefined, code);
    assert.equal(pgFault(new Error('x')), undefined);
    assert.equal(pgFault(undefined), undefined);
  });

  it('SQLite: SQLITE_FULL, SQLITE_IOERR (extended codes too), SQLITE_READONLY', () => {
    const err = (errcode: number) => Object.assign(new Error('x'), { errcode });
    assert.equal(sqliteFault(err(13)), 'disk_full');
    assert.equal(sqliteFault(err(10)), 'io_error');
    assert.equal(sqliteFault(err(10 | (4 << 8))), 'io_error'); // SQLITE_IOERR_WRITE
    assert.equal(sqliteFault(err(8)), 'read_only');
    assert.equal(sqliteFault(err(8 | (3 << 8))), 'read_only'); // SQLITE_READONLY_ROLLBACK
    for (const c of [5, 19, 2067, 11, 1]) assert.equal(sqliteFault(err(c)), undefined, String(c));
  });

  it('SQLite: a database that cannot grow answers StorageFaultError(disk_full), told once per episode, ended by the next write that commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-full-'));
    const events: FaultEvent[] = [];
    const handle = await openDatabase(`sqlite:${join(dir, 'd.db')}`, { onFault: (e) => events.push(e) });
    try {
      await migrate(handle.db, usernameKeys);
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(handle.db)).rows[0]!.page_count;
      // SQLite answers SQLITE_FULL exactly as for a full disk once the file may not grow.
      await sql.raw(`pragma max_page_count = ${pages}`).execute(handle.db);
      const fill = (prefix = '') =>
        handle.db.transaction().execute(async (t) => {
          for (let i = 0; i < 50; i++)
            await t
              .insertInto('revoked_tokens')
              .values({ jti: `${prefix}${i}-${'x'.repeat(3000)}`, expires_at: 0 })
              .execute();
        });
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          fill(),
          (e: unknown) =>
            e instanceof StorageFaultError &&
            e.fault === 'disk_full' &&
            /full/.test(e.message) &&
            (e.cause as { errcode: number }).errcode === 13,
        );
      }
      assert.equal(handle.fault(), 'disk_full');
      assert.equal(events.length, 1, 'the episode is told once');
      assert.equal(events[0]!.fault, 'disk_full');
      assert.match(String((events[0] as { error: Error }).error.message), /database or disk is full/);
      // A transaction that only reads proves nothing and does not end the episode.
      await handle.db.transaction().execute((t) => t.selectFrom('counters').selectAll().execute());
      assert.equal(handle.fault(), 'disk_full');
      await sql.raw('pragma max_page_count = 1000000').execute(handle.db);
      await handle.probeWrite();
      assert.equal(handle.fault(), undefined);
      assert.deepEqual(events[1], { fault: undefined, previous: 'disk_full' });
      assert.equal(
        (await handle.db.selectFrom('counters').selectAll().execute()).length,
        0,
        'the probe leaves nothing behind',
      );
      await fill();
      assert.equal(events.length, 2);
      // A hand-written statement that writes (as the grants store's) ends an episode too.
      await sql.raw('pragma max_page_count = 1').execute(handle.db);
      await assert.rejects(fill('again-'), StorageFaultError);
      assert.equal(handle.fault(), 'disk_full');
      await sql`select count(*) from counters`.execute(handle.db);
      assert.equal(handle.fault(), 'disk_full', 'a raw read proves nothing');
      await sql.raw('pragma max_page_count = 1000000').execute(handle.db);
      await sql`delete from revoked_tokens where jti = ${'none'}`.execute(handle.db);
      assert.equal(handle.fault(), undefined);
      assert.equal(events.length, 4);
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite WAL size', () => {
  it('is limited to 64 MiB by journal_size_limit, and truncated once the database is idle', {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-wal-'));
    const path = join(dir, 'w.db');
    const handle = await openDatabase(`sqlite:${path}`);
    try {
      await migrate(handle.db, usernameKeys);
      assert.equal(
        (await sql<{ journal_size_limit: number }>`pragma journal_size_limit`.execute(handle.db)).rows[0]!
          .journal_size_limit,
        WAL_SIZE_LIMIT,
      );
      // About 16 MB written in one transaction: the WAL holds all of it until a checkpoint.
      const blob = 'x'.repeat(4000);
      await handle.db.transaction().execute(async (t) => {
        for (let i = 0; i < 4000; i++)
          await t
            .insertInto('revoked_tokens')
            .values({ jti: `${i}-${blob}`, expires_at: 0 })
            .execute();
      });
      const grown = statSync(`${path}-wal`).size;
      assert.ok(grown > 10_000_000, `the WAL grew (${grown} bytes)`);
      const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
      let whileRunning = threads();
      let size = grown;
      for (let i = 0; i < 40 && size > 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        size = statSync(`${path}-wal`).size;
        whileRunning = Math.max(whileRunning, threads());
      }
      assert.equal(size, 0, `the idle WAL was truncated (still ${size} bytes)`);
      assert.equal(
        (await handle.db
          .selectFrom('revoked_tokens')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst())!.n,
        4000,
      );
      // Once idle, the checkpointer's thread ends; the next writes past 1 MiB start it again.
      let idle = whileRunning;
      for (let i = 0; i < 20 && idle >= whileRunning; i++) {
        await new Promise((r) => setTimeout(r, 250));
        idle = threads();
      }
      assert.ok(idle < whileRunning, `the thread ended (${whileRunning} -> ${idle} threads)`);
      await handle.db.transaction().execute(async (t) => {
        for (let i = 0; i < 1000; i++)
          await t
            .insertInto('revoked_tokens')
            .values({ jti: `again-${i}-${blob}`, expires_at: 0 })
            .execute();
      });
      size = statSync(`${path}-wal`).size;
      assert.ok(size > 1024 * 1024, `the WAL grew again (${size} bytes)`);
      for (let i = 0; i < 40 && size > 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        size = statSync(`${path}-wal`).size;
      }
      assert.equal(size, 0, `the thread started again and truncated the idle WAL (still ${size} bytes)`);
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite direct statements (inside a transaction)', () => {
  it('answer as Kysely does, belong to the transaction (its writes seen, rolled back with it), and pass errors on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-direct-'));
    const handle = await openDatabase(`sqlite:${join(dir, 'd.db')}`);
    try {
      await migrate(handle.db, usernameKeys);
      const direct = handle.direct!;
      const insert = handle.db.insertInto('revoked_tokens').values({ jti: '', expires_at: 0 }).compile();
      const select = handle.db.selectFrom('revoked_tokens').selectAll().where('jti', '=', '').compile();
      const update = handle.db.updateTable('revoked_tokens').set({ expires_at: 0 }).where('jti', '=', '').compile();
      await handle.db.transaction().execute(async (t) => {
        assert.equal(direct(insert, ['a', 5]).numAffectedRows, 1n);
        assert.deepEqual(direct(select, ['a']).rows, (await t.executeQuery({ ...select, parameters: ['a'] })).rows);
        assert.deepEqual(
          direct<Record<string, unknown>>(select, ['a']).rows.map((r) => ({ ...r })),
          [{ jti: 'a', expires_at: 5 }],
        );
        assert.equal(direct(update, [7, 'a']).numAffectedRows, 1n);
        assert.equal(direct(update, [7, 'nobody']).numAffectedRows, 0n);
        assert.throws(
          () => direct(insert, ['a', 1]),
          (e: unknown) => !(e instanceof StorageUnavailableError) && /UNIQUE/.test(String(e)),
        );
      });
      assert.deepEqual(
        (await handle.db.selectFrom('revoked_tokens').selectAll().execute()).map((r) => ({ ...r })),
        [{ jti: 'a', expires_at: 7 }],
      );
      await assert.rejects(
        handle.db.transaction().execute(async () => {
          direct(insert, ['b', 1]);
          throw new Error('undo');
        }),
        /undo/,
      );
      assert.deepEqual(
        (await handle.db.selectFrom('revoked_tokens').select('jti').execute()).map((r) => r.jti),
        ['a'],
      );
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite direct statements (outside a transaction)', () => {
  it('run at once while no transaction is open, and wait for one that is: never inside another transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-direct-'));
    const handle = await openDatabase(`sqlite:${join(dir, 'd.db')}`);
    try {
      await migrate(handle.db, usernameKeys);
      const ctx = sqlContext(handle);
      const insert = ctx.statement((k) => k.insertInto('revoked_tokens').values({ jti: '', expires_at: 0 }));
      const jtis = async () =>
        (await handle.db.selectFrom('revoked_tokens').select('jti').orderBy('jti').execute()).map((r) => r.jti);
      // No transaction open: the statement has run and committed before its promise is even awaited.
      const alone = insert(handle.db, ['alone', 1]);
      const reader = new DatabaseSync(join(dir, 'd.db'));
      assert.deepEqual(
        reader
          .prepare('select jti from revoked_tokens')
          .all()
          .map((r) => r.jti),
        ['alone'],
        'committed already, seen by another connection',
      );
      reader.close();
      await alone;
      assert.deepEqual(await jtis(), ['alone']);
      // A transaction open and waiting: a statement of its own waits for it, so rolling it back keeps that row.
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let opened!: () => void;
      const open = new Promise<void>((r) => {
        opened = r;
      });
      const tx = handle.db
        .transaction()
        .execute(async (t) => {
          await insert(t, ['inside', 1]);
          opened();
          await held;
          throw new Error('undo');
        })
        .catch((e: Error) => e.message);
      await open;
      assert.equal(handle.inTransaction!(), true);
      const outside = insert(handle.db, ['outside', 1]);
      release();
      assert.equal(await tx, 'undo');
      await outside;
      assert.deepEqual(await jtis(), ['alone', 'outside']);
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
