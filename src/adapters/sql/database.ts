import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver,
  type QueryCompiler, type QueryResult, type SqliteDatabase, type SqliteStatement, type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { StorageUnavailableError } from '../../ports/unavailable.ts';
import type { Schema } from './schema.ts';

export type SqlDialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Schema>;
  dialect: SqlDialect;
  close(): Promise<void>;
  /**
   * SQLite only: runs a compiled statement on the process's one connection at once, without
   * Kysely's executor. Only for statements of a transaction in progress, which holds that
   * connection (Kysely queues every other query until it ends); see stores.ts `statement`.
   */
  direct?: <R>(query: CompiledQuery, parameters: readonly unknown[]) => QueryResult<R>;
}

export interface OpenOptions {
  /** PostgreSQL pool size (default 10). */
  poolMax?: number;
  /**
   * PostgreSQL: longest a statement may run, and a transaction may sit idle, before the server
   * ends it (ms). Default: no limit (the CLI); the server sets it so no request waits unbounded.
   */
  statementTimeoutMs?: number;
}

/**
 * Opens `sqlite:PATH` (`sqlite::memory:` for a throwaway database) or `postgres://…` /
 * `postgresql://…`. Does not migrate: call migrate(handle.db).
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<DatabaseHandle> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.poolMax ?? 10, options.statementTimeoutMs);
  throw new Error('database URL must start with sqlite: or postgres://');
}

function openSqlite(location: string): DatabaseHandle {
  if (location.startsWith('//')) location = location.slice(2); // sqlite:///abs/path
  if (location === '') throw new Error('sqlite: URL needs a path (or :memory:)');
  const memory = location === ':memory:';
  const path = memory ? ':memory:' : resolve(location);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const raw = new DatabaseSync(path);
  // A 32 MiB page cache (SQLite's default is 2 MB): the random index pages that token lookups
  // and rotations touch stay in memory instead of being read again with a system call each.
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;');
  const checkpointer = memory ? undefined : startCheckpointer(raw, path);
  const database = wrapSqlite(raw);
  const db = new Kysely<Schema>({ dialect: new UnavailableMappingDialect(new ImmediateSqliteDialect(database), sqliteUnavailable) });
  return {
    db,
    dialect: 'sqlite',
    direct<R>(query: CompiledQuery, parameters: readonly unknown[]): QueryResult<R> {
      try {
        const stmt = database.prepare(query.sql);
        if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
        const { changes } = stmt.run(parameters);
        return { numAffectedRows: BigInt(changes), rows: [] };
      } catch (err) {
        return rethrowMapped(err, sqliteUnavailable);
      }
    },
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
  const cache = new Map<string, SqliteStatement>();
  const args = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    close: () => raw.close(),
    prepare(sql) {
      let entry = cache.get(sql);
      if (!entry) {
        if (cache.size >= 500) cache.clear();
        const stmt: StatementSync = raw.prepare(sql);
        entry = {
          reader: stmt.columns().length > 0,
          all: (p) => stmt.all(...args(p)),
          run: (p) => stmt.run(...args(p)),
          iterate: (p) => stmt.iterate(...args(p)),
        };
        cache.set(sql, entry);
      }
      return entry;
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

function openPostgres(url: string, max: number, statementTimeoutMs: number | undefined): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url, max, types: pgTypes,
    // Bounded waits: for a new connection or a free pooled one, for a statement, for the answer
    // to a statement when the server has gone silent; dead peers found by TCP keep-alive.
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeoutMs ? {
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 5000,
    } : {}),
  });
  // A connection lost while idle in the pool, or while checked out between two statements
  // (PostgreSQL stopping or crashing), must not crash the process: pg emits 'error' on the
  // client, which without a listener would be an uncaught exception. The pool drops broken
  // clients and the next query opens a new connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => { client.on('error', () => {}); });
  const db = new Kysely<Schema>({ dialect: new UnavailableMappingDialect(new PostgresDialect({ pool }), pgUnavailable) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

// ---- "the database cannot be reached now" --------------------------------------------------------

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const PG_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|timeout expired|Client was closed and is not queryable)/;

/**
 * PostgreSQL and pg errors that say nothing about the request: the connection was refused, lost
 * or timed out (pg's own messages and Node's socket codes), SQLSTATE class 08 (connection
 * exception), 57P01-57P03 (server shutting down, crashed, starting up), 53300 (too many
 * connections), 57014 (statement timeout).
 */
export function pgUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NET_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300' || code === '57014')) return true;
  return PG_MESSAGES.test(err.message);
}

/** SQLite: the database stayed locked by another process past busy_timeout (SQLITE_BUSY). */
export function sqliteUnavailable(err: unknown): boolean {
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 5;
}

/** Throws `err` as StorageUnavailableError (the original as `cause`) when `test` says it means "unavailable", else as it is. */
function rethrowMapped(err: unknown, test: (err: unknown) => boolean): never {
  if (test(err)) throw new StorageUnavailableError(`database unavailable: ${(err as Error).message}`, { cause: err });
  throw err;
}

/**
 * Wraps a dialect so that errors meaning "the database cannot be reached now" leave the adapter
 * as StorageUnavailableError (the original as `cause`); every other error passes unchanged.
 */
class UnavailableMappingDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #test: (err: unknown) => boolean;
  constructor(inner: Dialect, test: (err: unknown) => boolean) {
    this.#inner = inner;
    this.#test = test;
  }
  createDriver(): Driver { return new UnavailableMappingDriver(this.#inner.createDriver(), this.#test); }
  createQueryCompiler(): QueryCompiler { return this.#inner.createQueryCompiler(); }
  createAdapter(): DialectAdapter { return this.#inner.createAdapter(); }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector { return this.#inner.createIntrospector(db); }
}

class UnavailableMappingDriver implements Driver {
  readonly #inner: Driver;
  readonly #test: (err: unknown) => boolean;
  readonly #wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  constructor(inner: Driver, test: (err: unknown) => boolean) {
    this.#inner = inner;
    this.#test = test;
  }

  #map = (err: unknown): never => rethrowMapped(err, this.#test);
  async #do<T>(f: () => Promise<T>): Promise<T> {
    try { return await f(); } catch (err) { return this.#map(err); }
  }
  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#wrapped.get(connection) ?? connection;
  }

  init(): Promise<void> { return this.#do(() => this.#inner.init()); }
  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await this.#do(() => this.#inner.acquireConnection());
    const map = this.#map;
    const outer: DatabaseConnection = {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        try { return await inner.executeQuery<R>(query); } catch (err) { return map(err); }
      },
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(query, chunkSize),
    };
    this.#wrapped.set(outer, inner);
    return outer;
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> { return this.#do(() => this.#inner.beginTransaction(this.#unwrap(c), settings)); }
  commitTransaction(c: DatabaseConnection): Promise<void> { return this.#do(() => this.#inner.commitTransaction(this.#unwrap(c))); }
  rollbackTransaction(c: DatabaseConnection): Promise<void> { return this.#do(() => this.#inner.rollbackTransaction(this.#unwrap(c))); }
  releaseConnection(c: DatabaseConnection): Promise<void> { return this.#inner.releaseConnection(this.#unwrap(c)); }
  destroy(): Promise<void> { return this.#inner.destroy(); }
}
