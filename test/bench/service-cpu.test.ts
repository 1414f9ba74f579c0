// The benchmark's meter of the database services' CPU (bench/lib/proc.ts): a PostgreSQL backend
// that exits between two readings must not take back what it used (the sum over the processes
// alive at each reading did, and the README once showed a negative figure per SSO flow).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { serviceCpuMeter } from '../../bench/lib/proc.ts';
import { createPgDatabase } from '../fixtures/db.ts';

const pgDb = await createPgDatabase();

describe('the database services CPU meter', { skip: pgDb ? false : 'PostgreSQL unreachable' }, () => {
  const name = pgDb ? new URL(pgDb.url).pathname.slice(1) : '';
  before(() => {
    assert.ok(name);
  });
  after(async () => {
    await pgDb?.drop();
  });

  it("counts a backend's work once, and keeps it when the backend exits", async () => {
    const meter = serviceCpuMeter(() => name);
    assert.equal(meter(), 0, 'the first reading is the baseline');
    const client = new pg.Client({ connectionString: pgDb!.url });
    await client.connect();
    // Work a backend of this database does (a few tens of milliseconds of CPU).
    await client.query('select count(*) from generate_series(1, 3000000)');
    const during = meter();
    assert.ok(during > 0, `the backend's CPU counted (${during} µs)`);
    await client.end();
    // Its process is gone once the server has seen the end of the connection.
    let after = during;
    for (let i = 0; i < 50; i++) {
      after = meter();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(after >= during, `the total never goes back (${during} then ${after} µs)`);
    assert.ok(meter() >= after);
  });
});
