import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Transaction } from 'kysely';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import type { Schema } from './schema.ts';
import { groupCommit } from './group-commit.ts';
import { usernameKeys } from '../../accounts/usernames.ts';

/** Group commit on a real SQLite database: one revoked_tokens row per job. */
describe('SQLite group commit', () => {
  let handle: DatabaseHandle;
  let transactions = 0;
  const tx = <T>(fn: (t: Transaction<Schema>) => Promise<T>) => {
    transactions++;
    return handle.db.transaction().execute(fn);
  };
  const insert = (t: Transaction<Schema>, jti: string) =>
    t.insertInto('revoked_tokens').values({ jti, expires_at: 1 }).execute();
  const stored = async (prefix: string) =>
    (
      await handle.db
        .selectFrom('revoked_tokens')
        .select('jti')
        .where('jti', 'like', `${prefix}%`)
        .orderBy('jti')
        .execute()
    ).map((r) => r.jti);

  before(async () => {
    handle = await openDatabase('sqlite::memory:');
    await migrate(handle.db, usernameKeys);
  });
  after(async () => {
    await handle?.close();
  });

  it('commits concurrent transactions in fewer groups, each caller getting its own result', async () => {
    const run = groupCommit(tx);
    transactions = 0;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        run(async (t) => {
          await insert(t, `a${String(i).padStart(2, '0')}`);
          return i;
        }),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal((await stored('a')).length, 40);
    assert.ok(
      transactions < 40 && transactions >= 2,
      `${transactions} transactions for 40 jobs (at most 32 per group)`,
    );
  });

  it('a job that throws gets its own error; the others of its group commit', async () => {
    const run = groupCommit(tx);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        run(async (t) => {
          await insert(t, `b${i}`);
          if (i === 2 || i === 4) throw new Error(`job ${i} failed`);
          return i;
        }),
      ),
    );
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      [0, 1, 'job 2 failed', 3, 'job 4 failed', 5],
    );
    assert.deepEqual(await stored('b'), ['b0', 'b1', 'b3', 'b5']);
  });

  it('after a failure in its group, each caller gets the result of the run that was committed', async () => {
    const run = groupCommit(tx);
    transactions = 0;
    // Each job stores a fresh random id and returns it: a rerun stores and returns a new one.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        run(async (t) => {
          const id = `d${i}-${crypto.randomUUID()}`;
          await insert(t, id);
          if (i === 3) throw new Error('job 3 failed');
          return id;
        }),
      ),
    );
    const returned = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    assert.equal(returned.length, 4);
    assert.deepEqual(await stored('d'), [...returned].sort());
    assert.equal((outcomes[3] as PromiseRejectedResult).reason.message, 'job 3 failed');
    assert.equal(transactions, 6, 'one group transaction, then one of its own for each job');
  });

  it('when the commit fails, every caller of the group gets the error and nothing of it is stored', async () => {
    const failingCommit = <T>(fn: (t: Transaction<Schema>) => Promise<T>) =>
      tx(async (t) => {
        await fn(t);
        throw new Error('commit failed');
      });
    const run = groupCommit(failingCommit);
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => run((t) => insert(t, `c${i}`))));
    assert.deepEqual(
      outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message),
      ['commit failed', 'commit failed', 'commit failed'],
    );
    assert.deepEqual(await stored('c'), []);
    // The next group runs normally.
    await groupCommit(tx)((t) => insert(t, 'c9'));
    assert.deepEqual(await stored('c'), ['c9']);
  });
});
