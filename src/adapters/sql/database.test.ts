import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { openDatabase, pgUnavailable, sqliteUnavailable } from './database.ts';
import { migrate } from './migrations/index.ts';
import { StorageUnavailableError } from '../../ports/unavailable.ts';

describe('which driver errors mean "the database is unavailable"', () => {
  it('PostgreSQL: connection failures, shutdown, start-up, too many connections, timeouts', () => {
    const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
    for (const e of [
      err('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), err('read ECONNRESET', 'ECONNRESET'),
      err('Connection terminated unexpectedly'), err('timeout exceeded when trying to connect'), err('Query read timeout'),
      err('terminating connection due to administrator command', '57P01'), err('the database system is starting up', '57P03'),
      err('the database system is in recovery mode', '57P03'), err('sorry, too many clients already', '53300'),
      err('connection failure', '08006'), err('canceling statement due to statement timeout', '57014'),
    ]) assert.equal(pgUnavailable(e), true, e.message);
    for (const e of [
      err('duplicate key value violates unique constraint', '23505'), err('relation "x" does not exist', '42P01'),
      err('could not serialize access', '40001'), new Error('something else'), 'not an error',
    ]) assert.equal(pgUnavailable(e), false, String(e));
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
      try { b.exec('INSERT INTO t VALUES (2)'); } catch (e) { busy = e; }
      assert.ok(busy, 'the second writer was refused');
      assert.equal(sqliteUnavailable(busy), true);
      a.exec('COMMIT');
      let constraint: unknown;
      try { b.exec('CREATE TABLE t (x)'); } catch (e) { constraint = e; }
      assert.equal(sqliteUnavailable(constraint), false);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite direct statements (inside a transaction)', () => {
  it('answer as Kysely does, belong to the transaction (its writes seen, rolled back with it), and pass errors on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-direct-'));
    const handle = await openDatabase(`sqlite:${join(dir, 'd.db')}`);
    try {
      await migrate(handle.db);
      const direct = handle.direct!;
      const insert = handle.db.insertInto('revoked_tokens').values({ jti: '', expires_at: 0 }).compile();
      const select = handle.db.selectFrom('revoked_tokens').selectAll().where('jti', '=', '').compile();
      const update = handle.db.updateTable('revoked_tokens').set({ expires_at: 0 }).where('jti', '=', '').compile();
      await handle.db.transaction().execute(async (t) => {
        assert.equal(direct(insert, ['a', 5]).numAffectedRows, 1n);
        assert.deepEqual(direct(select, ['a']).rows, (await t.executeQuery({ ...select, parameters: ['a'] })).rows);
        assert.deepEqual(direct<Record<string, unknown>>(select, ['a']).rows.map((r) => ({ ...r })), [{ jti: 'a', expires_at: 5 }]);
        assert.equal(direct(update, [7, 'a']).numAffectedRows, 1n);
        assert.equal(direct(update, [7, 'nobody']).numAffectedRows, 0n);
        assert.throws(() => direct(insert, ['a', 1]), (e: unknown) => !(e instanceof StorageUnavailableError) && /UNIQUE/.test(String(e)));
      });
      assert.deepEqual((await handle.db.selectFrom('revoked_tokens').selectAll().execute()).map((r) => ({ ...r })), [{ jti: 'a', expires_at: 7 }]);
      await assert.rejects(handle.db.transaction().execute(async () => {
        direct(insert, ['b', 1]);
        throw new Error('undo');
      }), /undo/);
      assert.deepEqual((await handle.db.selectFrom('revoked_tokens').select('jti').execute()).map((r) => r.jti), ['a']);
    } finally {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
