import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import { createSqlGrantStore } from './grants-store.ts';
import { sqlContext } from './statements.ts';
import { usernameKeys } from '../../accounts/usernames.ts';
import { createPgDatabase } from '../../../test/fixtures/db.ts';
import { NOW, access, accepted, grant, nextFor, refreshFor } from '../../../test/contract/factories.ts';
import type { GrantStore, RefreshTokenRecord } from '../../ports/grants.ts';

// A batch of refresh rotations runs prepared statements, which keep the plan PostgreSQL gave them at
// their sixth run. Made while refresh_tokens and grants were nearly empty, that plan scanned both
// tables whole, and went on doing so at every batch as the tables grew (until an ANALYZE had it made
// again). The batch's transaction is planned with sequential scans off: here the batches run first on
// nearly empty tables, refresh_tokens then grows by thousands of rows, and the next batch must not
// scan either table (pg_stat_user_tables.seq_scan, the pool's one connection made to report its
// counters first).
const pgDb = await createPgDatabase();

describe('refresh rotation batches on grown tables (PostgreSQL)', {
  skip: pgDb ? false : 'PostgreSQL unreachable',
}, () => {
  let handle: DatabaseHandle;
  let grants: GrantStore;
  let other: pg.Client;
  before(async () => {
    handle = await openDatabase(pgDb!.url, { poolMax: 1 });
    await migrate(handle.db, usernameKeys);
    grants = createSqlGrantStore(sqlContext(handle));
    other = new pg.Client({ connectionString: pgDb!.url });
    await other.connect();
  });
  after(async () => {
    await other?.end();
    await handle?.close();
    await pgDb?.drop();
  });

  /** Sequential scans of refresh_tokens and grants so far, as the pool's connection has counted them. */
  const seqScans = async () => {
    await sql`select pg_stat_force_next_flush()`.execute(handle.db);
    const { rows } = await other.query<{ relname: string; seq_scan: string }>(
      "select relname, seq_scan from pg_stat_user_tables where relname in ('refresh_tokens', 'grants') order by relname",
    );
    await other.query('select pg_stat_clear_snapshot()');
    return Object.fromEntries(rows.map((r) => [r.relname, Number(r.seq_scan)]));
  };

  it('a batch after the tables grew finds its rows by their keys', async () => {
    const chains: RefreshTokenRecord[] = [];
    for (let i = 0; i < 8; i++) {
      const g = grant();
      chains.push(refreshFor(g));
      await grants.create(g, chains[i]!, access());
    }
    /** One rotation of every chain, asked for in one turn: one batch. */
    const round = async (at: number) => {
      const results = await Promise.all(chains.map((rt) => grants.rotate(rt.tokenHash, at, accepted, nextFor())));
      results.forEach((r, i) => {
        assert.equal(r.status, 'rotated');
        if (r.status === 'rotated') chains[i] = r.issued.refresh;
      });
    };
    // More than the five runs after which PostgreSQL may keep a generic plan, on nearly empty tables.
    for (let i = 1; i <= 8; i++) await round(NOW + i);

    await other.query(
      `insert into refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, used_at)
       select 'filler-' || i, $1, 'filler', 'openid', $2, $3, $2 from generate_series(1, 20000) i`,
      [chains[0]!.grantId, NOW, NOW + 3600],
    );
    const before = await seqScans();
    await round(NOW + 10);
    const after = await seqScans();
    assert.deepEqual(after, before, 'no sequential scan of refresh_tokens or grants by the batch');
  });
});
