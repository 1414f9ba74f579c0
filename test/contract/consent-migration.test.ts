/**
 * Migration 0015 on a database that already holds consents, on SQLite and PostgreSQL: a consent
 * remembered before it covered the default audience only (no resource named), so it becomes
 * { '': scopes }, and a request naming a resource asks again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import * as consentResources from '../../src/adapters/sql/migrations/0015_consent_resources.ts';
import { createPgDatabase } from '../fixtures/db.ts';

const pg = await createPgDatabase();
const backends = [
  { name: 'sqlite', url: 'sqlite::memory:' },
  { name: 'postgres', url: pg?.url },
];
after(async () => {
  await pg?.drop();
});

for (const backend of backends) {
  describe(`migration 0015 keeps existing consents (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    it('an existing consent becomes consent at the default audience', async () => {
      const handle: DatabaseHandle = await openDatabase(backend.url!);
      try {
        // The consents table as migration 0001 made it.
        await handle.db.schema
          .createTable('consents')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('granted_at', 'bigint', (c) => c.notNull())
          .execute();
        await (handle.db as Kysely<any>)
          .insertInto('consents')
          .values({ user_id: 'u1', client_id: 'c1', scopes: '["openid","profile"]', granted_at: 1 })
          .execute();
        await consentResources.up(handle.db);
        const rows = (await sql<{ resources: string }>`SELECT resources FROM consents`.execute(handle.db)).rows;
        assert.deepEqual(
          rows.map((r) => JSON.parse(r.resources)),
          [{ '': ['openid', 'profile'] }],
        );
        // New rows get the empty object by default.
        await (handle.db as Kysely<any>)
          .insertInto('consents')
          .values({ user_id: 'u2', client_id: 'c1', scopes: '[]', granted_at: 2 })
          .execute();
        const fresh = (
          await sql<{ resources: string }>`SELECT resources FROM consents WHERE user_id = 'u2'`.execute(handle.db)
        ).rows[0]!;
        assert.deepEqual(JSON.parse(fresh.resources), {});
      } finally {
        await handle.close();
      }
    });
  });
}
