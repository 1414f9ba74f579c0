import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import { batchedLookup } from './batched-lookups.ts';
import { usernameKeys } from '../../accounts/usernames.ts';

describe('SQLite batched lookups', () => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
    await handle.db
      .insertInto('revoked_tokens')
      .values([
        { jti: 'r1', expires_at: 1 },
        { jti: 'r2', expires_at: 2 },
      ])
      .execute();
  });
  after(async () => {
    await handle?.close();
  });

  it('answers the lookups of one turn with one statement, each with its own row (or none), repeated keys included', async () => {
    let statements = 0;
    // A plugin sees the result of every statement run.
    const counting = handle.db.withPlugin({
      transformQuery: (a) => a.node,
      transformResult: async (a) => {
        statements++;
        return a.result;
      },
    });
    const lookup = batchedLookup(
      (jtis) => counting.selectFrom('revoked_tokens').selectAll().where('jti', 'in', jtis).execute(),
      (r) => r.jti,
    );
    const keys = ['r1', 'x', 'r2', 'r1', 'y'];
    const rows = (await Promise.all(keys.map(lookup))).map((r) => r && { ...r });
    assert.deepEqual(rows, [
      { jti: 'r1', expires_at: 1 },
      undefined,
      { jti: 'r2', expires_at: 2 },
      { jti: 'r1', expires_at: 1 },
      undefined,
    ]);
    assert.equal(statements, 1);
    // More keys than one statement takes: several statements, every answer right.
    const many = Array.from({ length: 150 }, (_, i) => (i % 50 === 0 ? 'r2' : `k${i}`));
    const found = await Promise.all(many.map(lookup));
    assert.deepEqual(
      found.map((r) => r?.jti),
      many.map((k) => (k === 'r2' ? 'r2' : undefined)),
    );
    assert.equal(statements, 1 + 3);
  });

  it('fails every lookup of a batch whose statement fails, and the next batch works', async () => {
    const lookup = batchedLookup(
      (ids) =>
        handle.db
          .selectFrom('no_such_table' as 'revoked_tokens')
          .selectAll()
          .where('jti', 'in', ids)
          .execute(),
      (r) => r.jti,
    );
    const outcomes = await Promise.allSettled([lookup('a'), lookup('b')]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    const good = batchedLookup(
      (ids) => handle.db.selectFrom('revoked_tokens').selectAll().where('jti', 'in', ids).execute(),
      (r) => r.jti,
    );
    assert.equal((await good('r1'))?.jti, 'r1');
  });
});
