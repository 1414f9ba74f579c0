import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import { openDatabase, PG_CONNECTION_LIFETIME_S, type DatabaseHandle } from './database.ts';
import { createPgDatabase } from '../../../test/fixtures/db.ts';

// A pooled connection is replaced once it has served its lifetime, so that the plans its prepared
// statements keep (made from the tables' sizes when it prepared them) are made again from the sizes
// now. Here with a lifetime of one second: the same named statement answers on a new connection.
const pgDb = await createPgDatabase();

describe('PostgreSQL pooled connections', { skip: pgDb ? false : 'PostgreSQL unreachable' }, () => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await openDatabase(pgDb!.url, { poolMax: 1, connectionLifetimeS: 1 });
  });
  after(async () => {
    await handle?.close();
    await pgDb?.drop();
  });

  it('are replaced after their lifetime, and their named statements prepared again on the new one', async () => {
    assert.ok(PG_CONNECTION_LIFETIME_S >= 60 && PG_CONNECTION_LIFETIME_S <= 3600);
    const text = 'select pg_backend_pid() as pid, $1::text as echo';
    handle.prepare!(text);
    const run = async (value: string) => {
      const { rows } = await handle.db.executeQuery<{ pid: number; echo: string }>(CompiledQuery.raw(text, [value]));
      assert.equal(rows[0]?.echo, value);
      return rows[0]!.pid;
    };
    const first = await run('a');
    assert.equal(await run('b'), first, 'the same connection within its lifetime');
    await sleep(1300);
    await run('c'); // released after its lifetime: the connection is ended
    const later = await run('d');
    assert.notEqual(later, first, 'a new connection after the lifetime');
  });
});
