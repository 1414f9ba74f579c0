import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type Driver, type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';

export type SqlDialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Schema>;
  dialect: SqlDialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL pool size (default 10). */
  poolMax?: number;
}

/**
 * Opens `sqlite:PATH` (`sqlite::memory:` for a throwaway database) or `postgres://…` /
 * `postgresql://…`. Does not migrate: call migrate(handle.db).
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<DatabaseHandle> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.poolMax ?? 10);
  throw new Error('database URL must start with sqlite: or postgres://');
}

function openSqlite(location: string): DatabaseHandle {
  if (location.startsWith('//')) location = location.slice(2); // sqlite:///abs/path
  if (location === '') throw new Error('sqlite: URL needs a path (or :memory:)');
  const memory = location === ':memory:';
  const path = memory ? ':memory:' : resolve(location);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const raw = new DatabaseSync(path);
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
  const checkpointer = memory ? undefined : startCheckpointer(raw, path);
  const database = wrapSqlite(raw);
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect(database) });
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await checkpointer?.terminate();
      await db.destroy();
      if (raw.isOpen) {
        if (!memory) raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
        raw.close(); // destroy() skips a database that never ran a query
      }
    },
  };
}

// node:sqlite is synchronous, so a WAL checkpoint run by a commit (every 1000 pages by default)
// blocks the event loop while it copies pages and fsyncs. A worker thread with its own
// connection runs passive checkpoints instead, off the request path; the main connection keeps a
// much larger automatic threshold only as a safety net should the worker stop.
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000');
setInterval(() => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch {} }, workerData.intervalMs);
`;

function startCheckpointer(raw: DatabaseSync, path: string): Worker | undefined {
  try {
    const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { path, intervalMs: 500 } });
    worker.unref();
    worker.on('error', () => raw.isOpen && raw.exec('PRAGMA wal_autocheckpoint = 1000'));
    raw.exec('PRAGMA wal_autocheckpoint = 20000');
    return worker;
  } catch {
    return undefined;
  }
}

/**
 * Adapts node:sqlite's DatabaseSync to the better-sqlite3 shape Kysely's SqliteDriver expects
 * (array parameters instead of spread ones, `reader` flag), with a small statement cache.
 */
function wrapSqlite(raw: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, { stmt: StatementSync; reader: boolean }>();
  return {
    close: () => raw.close(),
    prepare(sql) {
      let entry = cache.get(sql);
      if (!entry) {
        if (cache.size >= 500) cache.clear();
        const stmt = raw.prepare(sql);
        entry = { stmt, reader: stmt.columns().length > 0 };
        cache.set(sql, entry);
      }
      const { stmt, reader } = entry;
      const args = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
      return {
        reader,
        all: (p) => stmt.all(...args(p)),
        run: (p) => stmt.run(...args(p)),
        iterate: (p) => stmt.iterate(...args(p)),
      };
    },
  };
}

/**
 * SqliteDialect whose transactions start with BEGIN IMMEDIATE: they take the write lock up front,
 * so a read-then-write transaction cannot fail with SQLITE_BUSY half-way when another process
 * (e.g. the CLI) writes the same file. Within one process Kysely already serialises them.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  #database: SqliteDatabase;
  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }
  createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** int8 (bigint columns, count(*)) as JS numbers: every value stored is an epoch second or a count. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function openPostgres(url: string, max: number): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
