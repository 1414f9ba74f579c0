/**
 * The SQL backends every storage contract runs on: in-memory SQLite, a SQLite file (WAL) and
 * PostgreSQL (skipped with a reason when unreachable, unless CI or TESSERA_REQUIRE_PG=1 require
 * it). forEachBackend() opens a new database on each, migrated, for the suites it declares, and
 * drops it after them; a test file calls it once (the databases are the file's).
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import type { Stores } from '../../src/ports/index.ts';
import { createPgDatabase, pgAdminUrlForDisplay, sqliteTempUrl } from '../fixtures/db.ts';

export interface Backend {
  name: string;
  url: string;
  /** A SQLite file or PostgreSQL: the data outlives a connection. */
  persistent: boolean;
}

/** A backend under test: its database, open (and migrated) while the tests of the file run. */
export interface OpenBackend extends Backend {
  readonly handle: DatabaseHandle;
  /** The migrations that opening the database applied (every one: the database is new). */
  readonly applied: string[];
  /** Closes the stores and opens the database again; returns the migrations that this applied. */
  reopen(): Promise<string[]>;
}

const sqliteFile = sqliteTempUrl();
const pgDb = await createPgDatabase();
const backends: (Backend & { skip?: string; drop(): Promise<void> })[] = [
  { name: 'sqlite (memory)', url: 'sqlite::memory:', persistent: false, drop: async () => {} },
  {
    name: 'sqlite (file, WAL)',
    url: sqliteFile,
    persistent: true,
    drop: async () => rmSync(dirname(sqliteFile.slice('sqlite:'.length)), { recursive: true, force: true }),
  },
  pgDb
    ? { name: 'postgresql', url: pgDb.url, persistent: true, drop: () => pgDb.drop() }
    : {
        name: 'postgresql',
        url: '',
        persistent: true,
        drop: async () => {},
        skip: `PostgreSQL unreachable at ${pgAdminUrlForDisplay()} (set CI or TESSERA_REQUIRE_PG=1 to fail instead)`,
      },
];
let declared = false;

/**
 * Declares `body`'s suites once per backend, under `<name>: <backend>`. `stores` is the open
 * backend's Stores, read when a test runs (it follows `reopen()`); `backend` says which backend it
 * is, for the tests that only some backends run.
 */
export function forEachBackend(name: string, body: (stores: Stores, backend: OpenBackend) => void): void {
  if (declared) throw new Error('forEachBackend() is called once per test file');
  declared = true;
  for (const { skip, drop, ...backend } of backends) {
    if (skip) {
      describe(`${name}: ${backend.name}`, () => it('contract suite', { skip }, () => {}));
      continue;
    }
    describe(`${name}: ${backend.name}`, () => {
      let stores: Stores | undefined;
      let handle: DatabaseHandle | undefined;
      let applied: string[] = [];
      const open: OpenBackend = {
        ...backend,
        get handle() {
          return handle!;
        },
        get applied() {
          return applied;
        },
        async reopen() {
          await stores?.close();
          handle = await openDatabase(backend.url);
          const reapplied = await migrate(handle.db, usernameKeys);
          stores = createSqlStores(handle, usernameKeys);
          return reapplied;
        },
      };
      // Every property read goes to the stores open at that moment.
      const current = new Proxy({} as Stores, {
        get: (_, prop) => {
          if (!stores) throw new Error(`the ${backend.name} stores are not open yet (read them in a test)`);
          const value = stores[prop as keyof Stores];
          return typeof value === 'function' ? value.bind(stores) : value;
        },
      });

      before(async () => {
        handle = await openDatabase(backend.url);
        applied = await migrate(handle.db, usernameKeys);
        stores = createSqlStores(handle, usernameKeys);
      });
      after(async () => {
        await stores?.close();
        await drop();
      });

      body(current, open);
    });
  }
}
