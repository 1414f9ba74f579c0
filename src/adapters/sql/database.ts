import { existsSync, mkdirSync, statfsSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type SqliteDatabase,
  type SqliteStatement,
  type TransactionSettings,
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
   * Kysely's executor: a statement of a transaction in progress, which holds that connection
   * (Kysely queues every other query until it ends), or a statement of its own while no transaction
   * is open (`inTransaction` false: it runs and commits in the one synchronous call, so it cannot
   * fall inside another's transaction); see statements.ts `statement`.
   */
  direct?: <R>(query: CompiledQuery, parameters: readonly unknown[]) => QueryResult<R>;
  /** SQLite only: a transaction is open on the connection (between its BEGIN and its COMMIT or ROLLBACK). */
  inTransaction?: () => boolean;
  /**
   * SQLite: copies the WAL back into the database and truncates it, now (start-up, after the
   * migrations, whose WAL would otherwise start the checkpointer's thread on an idle server).
   */
  settle?: () => void;
  /**
   * PostgreSQL only: runs the statement of exactly this text as a named prepared statement from
   * now on (parsed and planned once per connection, then only bound and executed). For the few
   * hot statements whose text is fixed; a statement should name its columns rather than `*`, so
   * that a column added by a later migration does not change what a prepared one returns.
   *
   * `begin`: the statement opens a transaction, BEGIN written before it in the same round trip
   * (one Sync, as JDBC drivers do). `commit`: it ends one, COMMIT written after it in the same
   * round trip; should the statement fail, the server skips the COMMIT and the transaction is left
   * aborted. For a transaction run by hand on one connection (Kysely.connection()), which its
   * caller must end (ROLLBACK after any error) before the connection goes back to the pool.
   *
   * `byKeys` (with `begin`): the transaction's statements find their rows by keys only, and are
   * planned with sequential scans off (SET LOCAL enable_seqscan, written after the BEGIN). A
   * prepared statement keeps the plan it was given on its sixth run, from the table's size then:
   * on a table that was nearly empty (a new deployment, a new database) that is a sequential
   * scan, which then reads the whole table at every run as it grows, until an ANALYZE of the
   * table has the statement planned again.
   */
  prepare?: (sql: string, options?: { begin?: boolean; commit?: boolean; byKeys?: boolean }) => void;
  /**
   * The storage fault of the episode under way, if any: the database refused a write because its
   * disk is full, it is read-only, or an I/O error occurred. Set by the first such error, cleared
   * by the next write that commits (a request's, or `probeWrite`'s).
   */
  fault(): StorageFault | undefined;
  /**
   * Commits a write that changes nothing (a row of `counters` put and removed): ends a fault episode when it succeeds.
   */
  probeWrite(): Promise<void>;
}

/** Why the database refuses writes for now (see DatabaseHandle.fault). */
export type StorageFault = 'disk_full' | 'read_only' | 'io_error' | 'insufficient_resources';

/** The start (`fault`, with the driver's original error) or the end (`fault` undefined) of a fault episode. */
export type FaultEvent = { fault: StorageFault; error: unknown } | { fault: undefined; previous: StorageFault };

/**
 * StorageUnavailableError for a database that refuses writes (disk full, read-only, I/O error):
 * `fault` says which, for /ready and the logs.
 */
export class StorageFaultError extends StorageUnavailableError {
  readonly fault: StorageFault;
  constructor(fault: StorageFault, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.fault = fault;
  }
}

export interface OpenOptions {
  /** PostgreSQL pool size (default 10). */
  poolMax?: number;
  /**
   * PostgreSQL: longest a statement may run, and a transaction may sit idle, before the server
   * ends it (ms). Default: no limit (the CLI); the server sets it so no request waits unbounded.
   */
  statementTimeoutMs?: number;
  /** PostgreSQL: seconds a pooled connection serves before it is replaced (default PG_CONNECTION_LIFETIME_S). */
  connectionLifetimeS?: number;
  /** Called once when a fault episode begins (with the original error) and once when it ends: for the logs. */
  onFault?: (event: FaultEvent) => void;
}

/**
 * Opens `sqlite:PATH` (`sqlite::memory:` for a throwaway database) or `postgres://…` /
 * `postgresql://…`. Does not migrate: call migrate(handle.db, usernameKeys).
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const faults = new FaultEpisodes(options.onFault);
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), faults);
  if (/^postgres(ql)?:\/\//.test(url))
    return openPostgres(
      url,
      options.poolMax ?? 10,
      options.statementTimeoutMs,
      options.connectionLifetimeS ?? PG_CONNECTION_LIFETIME_S,
      faults,
    );
  throw new Error('database URL must start with sqlite: or postgres://');
}

/** Seconds a PostgreSQL connection of the pool serves before it is replaced (its statements planned again). */
export const PG_CONNECTION_LIFETIME_S = 300;

/** Largest size the SQLite WAL file keeps once a checkpoint has emptied it (journal_size_limit). */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * Free disk space a SQLite database needs beyond its own size: the WAL (up to WAL_SIZE_LIMIT,
 * briefly about 60 MiB more under sustained writes before the safety-net checkpoint), the
 * database file growing by what a checkpoint copies back, and room for the operator to act.
 * Start-up warns below it (docs/production.md, Disk space).
 */
export const DISK_HEADROOM = 256 * 1024 * 1024;

function openSqlite(location: string, faults: FaultEpisodes): DatabaseHandle {
  if (location.startsWith('//')) location = location.slice(2); // sqlite:///abs/path
  if (location === '') throw new Error('sqlite: URL needs a path (or :memory:)');
  const memory = location === ':memory:';
  const path = memory ? ':memory:' : resolve(location);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const raw = new DatabaseSync(path);
  // A 32 MiB page cache (SQLite's default is 2 MB): the random index pages that token lookups
  // and rotations touch stay in memory instead of being read again with a system call each.
  // journal_size_limit: a WAL that grew under load is cut back to 64 MiB when it next restarts
  // from its beginning (and to nothing by the checkpointer's idle TRUNCATE), instead of keeping
  // its largest size for ever.
  raw.exec(
    `PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768; PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT};`,
  );
  // Case folding for the admin lists' search (statements.ts `contains`): SQLite's lower() folds ASCII only.
  raw.function('tessera_fold', { deterministic: true }, (v) => (typeof v === 'string' ? v.toLowerCase() : v));
  const checkpointer = memory ? undefined : checkpointing(raw, path);
  const database = wrapSqlite(raw);
  const test = (err: unknown) => faults.classify(err, sqliteFault(err)) || sqliteUnavailable(err);
  const db = new Kysely<Schema>({
    dialect: new UnavailableMappingDialect(new ImmediateSqliteDialect(database, () => raw.isTransaction), test, faults),
  });
  return {
    db,
    dialect: 'sqlite',
    direct<R>(query: CompiledQuery, parameters: readonly unknown[]): QueryResult<R> {
      try {
        const stmt = database.prepare(query.sql);
        if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
        const { changes } = stmt.run(parameters);
        // In a transaction, its commit ends a fault episode; on its own, the write has committed already.
        if (raw.isTransaction) faults.directWrite = true;
        else if (faults.current !== undefined) faults.written();
        return { numAffectedRows: BigInt(changes), rows: [] };
      } catch (err) {
        return rethrowMapped(err, test);
      }
    },
    inTransaction: () => raw.isTransaction,
    settle() {
      if (memory) return;
      try {
        raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        /* busy or a full disk: the checkpointer's thread copies it back later */
      }
    },
    fault: () => faults.current,
    probeWrite: () => probeWrite(db),
    async close() {
      await checkpointer?.terminate();
      await db.destroy();
      if (raw.isOpen) {
        if (!memory) {
          try {
            raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
          } catch {
            /* a full disk: the WAL stays, SQLite replays it on the next open */
          }
        }
        raw.close(); // destroy() skips a database that never ran a query
      }
    },
  };
}

// node:sqlite is synchronous, so a WAL checkpoint run by a commit (every 1000 pages by default)
// blocks the event loop while it copies pages and fsyncs. A worker thread with its own
// connection runs passive checkpoints instead, off the request path; the main connection keeps a
// much larger automatic threshold only as a safety net should the worker stop. When a passive
// checkpoint finds nothing written since the previous one and every frame copied back (the
// database is idle), the worker truncates the WAL to zero bytes (a TRUNCATE checkpoint waits for
// writers, which is harmless only then) and ends: a thread is a second Node environment, about
// 13 MB (which the process keeps once it has run one), for nothing while no one writes. The main
// thread starts it once the WAL passes 1 MiB (its size on disk, looked at every 250 ms); start-up
// truncates the WAL its migrations wrote (DatabaseHandle.settle), so an idle server never does.
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = ' + workerData.walLimit);
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
let previous = -1;
setInterval(() => {
  try {
    const r = passive.get();
    if (r.busy === 0 && r.log === previous && r.checkpointed === r.log) {
      if (r.log > 0 && truncate.get().busy !== 0) return;
      db.close();
      process.exit(0);
    }
    previous = r.log;
  } catch {}
}, workerData.intervalMs);
`;

/** The WAL size on disk past which the checkpointer's thread is started. */
const CHECKPOINTER_RESTART_BYTES = 1024 * 1024;

/**
 * The checkpointer's thread while the database is written: started when the WAL passes 1 MiB
 * (a WAL the last run left, or new writes), ended by itself once the database is idle. Should the
 * thread fail, SQLite's automatic checkpoint (1000 pages) takes over.
 */
function checkpointing(raw: DatabaseSync, path: string): { terminate(): Promise<unknown> } {
  let worker: Worker | undefined;
  let failed = false;
  const start = () => {
    worker = startCheckpointer(raw, path);
    if (!worker) failed = true;
    worker?.once('error', () => {
      failed = true;
    });
    worker?.once('exit', () => {
      worker = undefined;
    });
  };
  const poll = setInterval(() => {
    if (worker || failed || !raw.isOpen) return;
    let size = 0;
    try {
      size = statSync(`${path}-wal`).size;
    } catch {
      return; // no WAL file
    }
    if (size > CHECKPOINTER_RESTART_BYTES) start();
  }, 250);
  poll.unref();
  return {
    terminate: async () => {
      clearInterval(poll);
      failed = true;
      return worker?.terminate();
    },
  };
}

function startCheckpointer(raw: DatabaseSync, path: string): Worker | undefined {
  try {
    const worker = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: { path, intervalMs: 500, walLimit: WAL_SIZE_LIMIT },
    });
    worker.unref();
    worker.on('error', () => raw.isOpen && raw.exec('PRAGMA wal_autocheckpoint = 1000'));
    // About 60 MiB of 4 KiB pages: under writes faster than the worker checkpoints, the WAL
    // restarts before it passes the 64 MiB it is cut back to.
    raw.exec('PRAGMA wal_autocheckpoint = 15000');
    return worker;
  } catch {
    return undefined;
  }
}

/**
 * Free bytes on the file system that holds a SQLite database (the nearest existing folder of its
 * path); undefined for PostgreSQL, an in-memory database, or a file system that cannot tell.
 */
export function sqliteFreeSpace(url: string): { path: string; free: number } | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  let location = url.slice('sqlite:'.length);
  if (location.startsWith('//')) location = location.slice(2);
  if (location === '' || location === ':memory:') return undefined;
  let dir = dirname(resolve(location));
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const s = statfsSync(dir);
    return { path: dir, free: s.bavail * s.bsize };
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
  #inTransaction: () => boolean;
  constructor(database: SqliteDatabase, inTransaction: () => boolean) {
    super({ database });
    this.#database = database;
    this.#inTransaction = inTransaction;
  }
  createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database }, this.#inTransaction);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  #inTransaction: () => boolean;
  constructor(config: { database: SqliteDatabase }, inTransaction: () => boolean) {
    super(config);
    this.#inTransaction = inTransaction;
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  /**
   * After SQLITE_FULL, SQLITE_IOERR (and a few others) SQLite may have rolled the transaction
   * back by itself; a ROLLBACK then fails with "cannot rollback - no transaction is active",
   * which Kysely would throw in place of the error that mattered.
   */
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#inTransaction()) await super.rollbackTransaction(connection);
  }
}

/** int8 (bigint columns, count(*)) as JS numbers: every value stored is an epoch second or a count. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function openPostgres(
  url: string,
  max: number,
  statementTimeoutMs: number | undefined,
  lifetimeS: number,
  faults: FaultEpisodes,
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: pgTypes,
    // Bounded waits: for a new connection or a free pooled one, for a statement, for the answer
    // to a statement when the server has gone silent; dead peers found by TCP keep-alive.
    connectionTimeoutMillis: 5000,
    // Each connection is replaced after five minutes (when next released). Its prepared statements
    // keep the plans they were given from the tables' sizes then; a new connection plans them again
    // from the sizes now, so a plan made while a table was nearly empty (a new deployment: a
    // sequential scan) lasts minutes, not the life of the process, even where no ANALYZE runs.
    maxLifetimeSeconds: lifetimeS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeoutMs
      ? {
          statement_timeout: statementTimeoutMs,
          idle_in_transaction_session_timeout: statementTimeoutMs,
          query_timeout: statementTimeoutMs + 5000,
        }
      : {}),
  });
  // A connection lost while idle in the pool, or while checked out between two statements
  // (PostgreSQL stopping or crashing), must not crash the process: pg emits 'error' on the
  // client, which without a listener would be an uncaught exception. The pool drops broken
  // clients and the next query opens a new connection.
  pool.on('error', () => {});
  // Named statements (DatabaseHandle.prepare): Kysely hands pg each statement's text, which is
  // turned here into a named query for the texts registered.
  const names = new Map<string, Named>();
  pool.on('connect', (client) => {
    client.on('error', () => {});
    const query = client.query as (...args: unknown[]) => unknown;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      if (typeof args[0] === 'string' && COMMIT_TEXT.test(args[0]) && !args.some((a) => typeof a === 'function'))
        return new Promise((resolve, reject) => {
          const commit = new Commit({ text: args[0] as string, values: args[1] as unknown[] | undefined });
          commit.callback = (err, results) => (err ? reject(err) : resolve(results));
          query.call(this, commit);
        });
      const named = typeof args[0] === 'string' ? names.get(args[0]) : undefined;
      if (named === undefined || typeof args[2] === 'function') return query.apply(this, args);
      const config = { name: named.name, text: args[0] as string, values: args[1] as unknown[] };
      if (!named.before.length && !named.commit) return query.call(this, config);
      return new Promise((resolve, reject) => {
        const bracketed = new Bracketed(config, named.before, named.commit);
        // The results of what is written before, the statement and COMMIT, in order: the statement's is returned.
        bracketed.callback = (err, results) => (err ? reject(err) : resolve(results[named.before.length]));
        query.call(this, bracketed);
      });
    } as typeof client.query;
  });
  const test = (err: unknown) => faults.classify(err, pgFault(err)) || pgUnavailable(err);
  const db = new Kysely<Schema>({
    dialect: new UnavailableMappingDialect(new PostgresDialect({ pool }), test, faults),
  });
  return {
    db,
    dialect: 'postgres',
    prepare(sql, options = {}) {
      if (names.has(sql)) return;
      const before = options.begin ? ['begin', ...(options.byKeys ? ['set local enable_seqscan = off'] : [])] : [];
      names.set(sql, { name: `tessera_${names.size + 1}`, before, commit: !!options.commit });
    },
    close: () => db.destroy(),
    fault: () => faults.current,
    probeWrite: () => probeWrite(db),
  };
}

/** A text registered with DatabaseHandle.prepare: its statement's name, and what is written around it. */
interface Named {
  name: string;
  /** The statements written before it: BEGIN and the transaction's settings (`byKeys`), or none. */
  before: string[];
  commit: boolean;
}

/** What Bracketed uses of pg's connection (its protocol messages) and of pg's Query (not in pg's types). */
interface Wire {
  parse(query: { text: string }): void;
  bind(config: object): void;
  execute(config: { portal?: string; rows?: number }): void;
  sync(): void;
}
interface QueryInternals {
  portal: string;
  callback: (err: Error | undefined, results: pg.QueryResult[]) => void;
  prepare(connection: Wire): void;
  handleError(err: Error, connection: Wire): void;
  /** The answers so far: one result, or one per statement of a multi-statement query. */
  _results: pg.QueryResult | pg.QueryResult[];
  /** An error of the client's own (a row it could not parse), reported at ReadyForQuery. */
  _canceledDueToError: unknown;
}
const QueryBase = pg.Query as unknown as new (config: pg.QueryConfig) => pg.Query & QueryInternals;

/** A transaction's COMMIT as Kysely's PostgreSQL driver sends it. */
const COMMIT_TEXT = /^commit;?$/i;

/**
 * Whether the server has answered a query's COMMIT: its last answer is COMMIT's CommandComplete,
 * which PostgreSQL sends once the transaction is durable (COMMIT of a failed transaction answers
 * ROLLBACK). The connection may still end before ReadyForQuery follows (a fast shutdown's
 * "terminating connection", a dropped socket): pg reports that as the query's error, and the
 * caller would take a committed transaction for one that failed (a refresh rotation answered
 * 503 although it happened, so the client's retry looks like reuse and revokes the family).
 */
export function commitAnswered(q: Pick<QueryInternals, '_results' | '_canceledDueToError'>): boolean {
  if (q._canceledDueToError) return false;
  const last = Array.isArray(q._results) ? q._results.at(-1) : q._results;
  return last?.command === 'COMMIT';
}

/** A transaction's COMMIT that counts as done once the server has answered it (commitAnswered). */
export class Commit extends QueryBase {
  /** Whether this query ends with a COMMIT (Bracketed: only when asked to). */
  protected get commits(): boolean {
    return true;
  }
  override handleError(err: Error, connection: Wire): void {
    if (this.commits && commitAnswered(this)) this.callback(undefined, this._results as pg.QueryResult[]);
    else super.handleError(err, connection);
  }
}

/**
 * A named statement sent with BEGIN (and the transaction's settings) before it and/or COMMIT
 * after it, all under one Sync: one write, one round trip (DatabaseHandle.prepare). The server
 * runs them in order and answers each (pg's Query gathers the answers as a multi-statement
 * query's results); once one fails, it skips the rest up to the Sync. The statements around it go
 * through the unnamed statement, parsed anew each time (they have nothing to plan).
 */
export class Bracketed extends Commit {
  readonly #before: readonly string[];
  readonly #commit: boolean;
  constructor(config: pg.QueryConfig, before: readonly string[], commit: boolean) {
    super(config);
    this.#before = before;
    this.#commit = commit;
  }
  override prepare(connection: Wire): void {
    for (const text of this.#before) Bracketed.#unnamed(connection, text);
    super.prepare(connection);
  }
  /** With COMMIT after it, done once the server has answered the COMMIT (Commit). */
  protected override get commits(): boolean {
    return this.#commit;
  }
  /** pg's Query: executes the statement's portal, then syncs (never with a row count here). */
  _getRows(connection: Wire, rows?: number): void {
    connection.execute({ portal: this.portal, rows });
    if (this.#commit) Bracketed.#unnamed(connection, 'commit');
    connection.sync();
  }
  static #unnamed(connection: Wire, text: string): void {
    connection.parse({ text });
    connection.bind({});
    connection.execute({});
  }
}

// ---- "the database cannot be reached now" --------------------------------------------------------

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|timeout expired|Client was closed and is not queryable)/;

/**
 * PostgreSQL and pg errors that say nothing about the request: the connection was refused, lost
 * or timed out (pg's own messages and Node's socket codes), SQLSTATE class 08 (connection
 * exception), 57P01-57P03 (server shutting down, crashed, starting up), 53300 (too many
 * connections), 57014 (statement timeout).
 */
export function pgUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (NET_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300' || code === '57014')
  )
    return true;
  return PG_MESSAGES.test(err.message);
}

/**
 * PostgreSQL errors that say the server refuses writes for now: 53100 disk_full, 25006
 * read_only_sql_transaction (a standby after a failover, default_transaction_read_only, a full
 * disk guard), 58030 io_error, and the rest of class 53 (insufficient resources: out of memory,
 * a configuration limit; 53300 too many connections is plain "unavailable" above).
 */
export function pgFault(err: unknown): StorageFault | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === '53100') return 'disk_full';
  if (code === '25006') return 'read_only';
  if (code === '58030') return 'io_error';
  if (code.startsWith('53') && code !== '53300') return 'insufficient_resources';
  return undefined;
}

/**
 * SQLite errors that say the file cannot be written now: SQLITE_FULL (13, the disk is full),
 * SQLITE_IOERR (10, and its extended codes: a write or fsync failed), SQLITE_READONLY (8: the
 * file or its folder is read-only, or was replaced).
 */
export function sqliteFault(err: unknown): StorageFault | undefined {
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== 'number') return undefined;
  switch (errcode & 0xff) {
    case 13:
      return 'disk_full';
    case 10:
      return 'io_error';
    case 8:
      return 'read_only';
    default:
      return undefined;
  }
}

/**
 * The fault episode of one database handle: begins with the first error that says the database
 * refuses writes (told to `onFault` once, with the original error, however many requests fail
 * meanwhile), ends with the next commit that succeeds (told once too).
 */
class FaultEpisodes {
  current: StorageFault | undefined;
  /** SQLite: a write ran on the connection directly (DatabaseHandle.direct) in the transaction under way. */
  directWrite = false;
  readonly #onFault: ((event: FaultEvent) => void) | undefined;
  constructor(onFault?: (event: FaultEvent) => void) {
    this.#onFault = onFault;
  }
  /** Notes the fault `fault` of `err`, if any; returns whether there was one. */
  classify(err: unknown, fault: StorageFault | undefined): boolean {
    if (fault === undefined) return false;
    if (this.current !== fault) {
      this.current = fault;
      this.#onFault?.({ fault, error: err });
    }
    return true;
  }
  /** A write committed. */
  written(): void {
    const previous = this.current;
    if (previous === undefined) return;
    this.current = undefined;
    this.#onFault?.({ fault: undefined, previous });
  }
}

const PROBE_KEY = 'tessera:write-probe';

/** One transaction that puts and removes a row of `counters`: a real commit, no change left behind. */
async function probeWrite(db: Kysely<Schema>): Promise<void> {
  await db.transaction().execute(async (t) => {
    await t
      .insertInto('counters')
      .values({ key: PROBE_KEY, count: 0, last_at: 0, expires_at: 0 })
      .onConflict((c) => c.column('key').doUpdateSet({ count: 0 }))
      .execute();
    await t.deleteFrom('counters').where('key', '=', PROBE_KEY).execute();
  });
}

/** SQLite: the database stayed locked by another process past busy_timeout (SQLITE_BUSY). */
export function sqliteUnavailable(err: unknown): boolean {
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === 5;
}

/**
 * Throws `err` as StorageUnavailableError (the original as `cause`) when `test` says it means
 * "unavailable", as StorageFaultError when it says the database refuses writes, else as it is.
 */
function rethrowMapped(err: unknown, test: (err: unknown) => boolean): never {
  if (err instanceof StorageUnavailableError) throw err;
  if (test(err)) {
    const fault = sqliteFault(err) ?? pgFault(err);
    const message = `database unavailable: ${(err as Error).message}`;
    throw fault
      ? new StorageFaultError(fault, message, { cause: err })
      : new StorageUnavailableError(message, { cause: err });
  }
  throw err;
}

/**
 * Wraps a dialect so that errors meaning "the database cannot be reached now" leave the adapter
 * as StorageUnavailableError (the original as `cause`); every other error passes unchanged.
 */
class UnavailableMappingDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #test: (err: unknown) => boolean;
  readonly #faults: FaultEpisodes;
  constructor(inner: Dialect, test: (err: unknown) => boolean, faults: FaultEpisodes) {
    this.#inner = inner;
    this.#test = test;
    this.#faults = faults;
  }
  createDriver(): Driver {
    return new UnavailableMappingDriver(this.#inner.createDriver(), this.#test, this.#faults);
  }
  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}

/** Statements that write: one that succeeds outside a transaction has committed. */
const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);
/** Raw SQL (the stores' hand-written statements: grant creation, refresh rotation) that writes. */
const RAW_WRITE = /\b(insert|update|delete)\b/i;
const isWrite = (q: CompiledQuery) => WRITES.has(q.query.kind) || (q.query.kind === 'RawNode' && RAW_WRITE.test(q.sql));

class UnavailableMappingDriver implements Driver {
  readonly #inner: Driver;
  readonly #test: (err: unknown) => boolean;
  readonly #faults: FaultEpisodes;
  readonly #wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  /** Connections in a transaction: a write outside one is committed when it returns. */
  readonly #inTransaction = new WeakSet<DatabaseConnection>();
  /** Connections whose transaction under way has written (a commit of only reads proves nothing). */
  readonly #wrote = new WeakSet<DatabaseConnection>();
  constructor(inner: Driver, test: (err: unknown) => boolean, faults: FaultEpisodes) {
    this.#inner = inner;
    this.#test = test;
    this.#faults = faults;
  }

  #map = (err: unknown): never => rethrowMapped(err, this.#test);
  async #do<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      return this.#map(err);
    }
  }
  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#wrapped.get(connection) ?? connection;
  }

  init(): Promise<void> {
    return this.#do(() => this.#inner.init());
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await this.#do(() => this.#inner.acquireConnection());
    const map = this.#map;
    const faults = this.#faults;
    const inTransaction = this.#inTransaction;
    const wrote = this.#wrote;
    const outer: DatabaseConnection = {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        let result: QueryResult<R>;
        try {
          result = await inner.executeQuery<R>(query);
        } catch (err) {
          return map(err);
        }
        if (faults.current !== undefined && isWrite(query)) {
          if (inTransaction.has(inner)) wrote.add(inner);
          else faults.written();
        }
        return result;
      },
      streamQuery: <R>(query: CompiledQuery, chunkSize?: number) => inner.streamQuery<R>(query, chunkSize),
    };
    this.#wrapped.set(outer, inner);
    return outer;
  }
  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const inner = this.#unwrap(c);
    await this.#do(() => this.#inner.beginTransaction(inner, settings));
    this.#inTransaction.add(inner);
    this.#wrote.delete(inner);
    this.#faults.directWrite = false;
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    const inner = this.#unwrap(c);
    await this.#do(() => this.#inner.commitTransaction(inner));
    this.#inTransaction.delete(inner);
    if (this.#wrote.has(inner) || this.#faults.directWrite) this.#faults.written();
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    const inner = this.#unwrap(c);
    this.#inTransaction.delete(inner);
    await this.#do(() => this.#inner.rollbackTransaction(inner));
  }
  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#unwrap(c));
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}
