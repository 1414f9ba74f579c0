import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import { batchedLookup, batchedWrite } from './batched-lookups.ts';
import { usernameKeys } from '../../accounts/usernames.ts';
import { createPgDatabase } from '../../../test/fixtures/db.ts';
import { StorageUnavailableError } from '../../ports/unavailable.ts';
import { createSqlRevocationStore } from './revocations-store.ts';
import { sqlContext } from './statements.ts';
import { createSqlUserStore } from './users-store.ts';
import { createSqlCodeStore } from './codes-store.ts';
import { code } from '../../../test/contract/factories.ts';

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

  it('takes a larger batch limit: one statement for as many keys', async () => {
    let statements = 0;
    const lookup = batchedLookup(
      async (jtis) => {
        statements++;
        return handle.db.selectFrom('revoked_tokens').selectAll().where('jti', 'in', jtis).execute();
      },
      (r) => r.jti,
      200,
    );
    const many = Array.from({ length: 150 }, (_, i) => (i === 7 ? 'r1' : `k${i}`));
    const found = await Promise.all(many.map(lookup));
    assert.deepEqual(
      found.map((r) => r?.jti),
      many.map((k) => (k === 'r1' ? 'r1' : undefined)),
    );
    assert.equal(statements, 1);
  });

  it('batched writes: one statement a turn; a failed one runs each write alone, unavailable storage fails them all', async () => {
    const calls: string[] = [];
    let fail: Error | undefined;
    const write = batchedWrite<string>({
      max: 3,
      async many(items) {
        calls.push(`many ${items.join(',')}`);
        if (fail) throw fail;
      },
      async one(item) {
        calls.push(`one ${item}`);
        if (item === 'bad') throw new Error('refused');
      },
    });
    // Five writes of one turn: statements of at most three, one after the other; one write alone
    // takes the statement of one.
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map(write));
    await write('f');
    assert.deepEqual(calls, ['many a,b,c', 'many d,e', 'one f']);
    // A statement that failed stored nothing: each write runs alone, and only its own failure is its.
    calls.length = 0;
    fail = new Error('a value the statement could not store');
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map(write));
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(calls, ['many a,bad,c', 'one a', 'one bad', 'one c']);
    // Unavailable storage (the statement may have committed): every write fails, none runs again.
    calls.length = 0;
    fail = new StorageUnavailableError('gone');
    const lost = await Promise.allSettled(['a', 'b'].map(write));
    for (const o of lost) assert.ok(o.status === 'rejected' && o.reason === fail);
    assert.deepEqual(calls, ['many a,b']);
  });
});

// The stores' batched lookups on each database: the revoked-token and user lookups of one turn are
// one statement (PostgreSQL: `= any($1)`, a named prepared statement), each caller its own answer.
const pgDb = await createPgDatabase();
for (const [name, url] of [
  ['sqlite', 'sqlite::memory:'],
  ['postgresql', pgDb?.url],
] as const) {
  describe(`batched store lookups: ${name}`, { skip: url ? false : 'PostgreSQL unreachable' }, () => {
    let handle: DatabaseHandle;
    let statements = 0;
    const prepared: string[] = [];
    let counted: DatabaseHandle;
    let revocations: ReturnType<typeof createSqlRevocationStore>;
    let users: ReturnType<typeof createSqlUserStore>;
    before(async () => {
      handle = await openDatabase(url!);
      await migrate(handle.db, usernameKeys);
      const counting = handle.db.withPlugin({
        transformQuery: (a) => a.node,
        transformResult: async (a) => {
          statements++;
          return a.result;
        },
      });
      const direct = handle.direct;
      const prepare = handle.prepare;
      // SQLite runs the compiled statements directly (no plugin sees them): counted here.
      counted = {
        ...handle,
        db: counting,
        direct:
          direct &&
          (<R>(...args: Parameters<NonNullable<DatabaseHandle['direct']>>) => {
            statements++;
            return direct<R>(...args);
          }),
        prepare:
          prepare &&
          ((text: string) => {
            prepared.push(text);
            prepare(text);
          }),
      };
      const ctx = sqlContext(counted);
      revocations = createSqlRevocationStore(ctx);
      users = createSqlUserStore(ctx, usernameKeys);
      await revocations.revokeAccessToken('jti-revoked', 2_000_000_000);
      await revocations.setHolderDisabled('client:off', true, 1000);
      await revocations.cutOffHolder('user:cut', 1_000_000);
      for (const id of ['u1', 'u2'])
        await users.create({
          id,
          username: `name-${id}`,
          passwordHash: null,
          email: `${id}@example.com`,
          emailVerified: true,
          name: null,
          givenName: null,
          familyName: null,
          disabled: false,
          createdAt: 1,
          updatedAt: 1,
        });
    });
    after(async () => {
      await handle?.close();
    });

    it('answers the revocation checks of one turn with one statement', async () => {
      statements = 0;
      const token = (jti: string, sub: string, client_id = 'app', iat = 2_000_000) => ({ jti, iat, client_id, sub });
      const answers = await Promise.all([
        revocations.isTokenRevoked(token('jti-ok', 'alice')),
        revocations.isTokenRevoked(token('jti-revoked', 'alice')),
        revocations.isTokenRevoked(token('jti-2', 'bob', 'off')),
        revocations.isTokenRevoked(token('jti-3', 'off', 'off')), // a client's own token
        revocations.isTokenRevoked(token('jti-4', 'cut', 'app', 1_000_000 - 90_000)), // before the cut-off
        revocations.isTokenRevoked(token('jti-5', 'cut', 'app', 1_000_001)), // after it
        revocations.isAccessTokenRevoked('jti-revoked'),
        revocations.isAccessTokenRevoked('jti-ok'),
      ]);
      assert.deepEqual(answers, [false, true, true, true, true, false, true, false]);
      assert.equal(statements, 1);
    });

    it('answers the user lookups of one turn with one statement', async () => {
      statements = 0;
      const found = await Promise.all(['u1', 'nobody', 'u2', 'u1'].map((id) => users.get(id)));
      assert.deepEqual(
        found.map((u) => u?.email),
        ['u1@example.com', undefined, 'u2@example.com', 'u1@example.com'],
      );
      assert.equal(statements, 1);
      assert.deepEqual(found[0], await users.findByUsername('name-u1'));
    });

    if (name === 'postgresql') {
      it('runs them as named prepared statements that name their columns', () => {
        assert.equal(prepared.length, 2);
        for (const text of prepared) {
          assert.match(text, /= any\(\$1\)$/);
          assert.doesNotMatch(text, /\*/);
        }
      });

      it('writes the code inserts of one turn as one statement, each code stored', async () => {
        // Its statement texts are not recorded: `prepared` holds the lookups' only.
        const codes = createSqlCodeStore(sqlContext({ ...counted, prepare: handle.prepare }));
        const made = Array.from({ length: 12 }, () => code());
        statements = 0;
        await Promise.all(made.map((c) => codes.create(c)));
        assert.equal(statements, 1);
        for (const c of made)
          assert.deepEqual(await codes.consume(c.codeHash, 1000), { status: 'ok', code: c, user: undefined });
      });

      it('runs each write of a failed batch alone: only the write that fails is refused', async () => {
        const codes = createSqlCodeStore(sqlContext(handle));
        const twin = code();
        const other = code();
        // The same code twice in one statement breaks its key: the batch fails whole, and alone
        // one insert of it and the other code are stored, the other insert of it refused.
        const outcomes = await Promise.allSettled([codes.create(twin), codes.create(other), codes.create(twin)]);
        assert.equal(outcomes[1]!.status, 'fulfilled');
        const twins = [outcomes[0]!, outcomes[2]!];
        assert.deepEqual(twins.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
        for (const o of twins) if (o.status === 'rejected') assert.ok(!(o.reason instanceof StorageUnavailableError));
        for (const c of [twin, other]) assert.equal((await codes.consume(c.codeHash, 1000)).status, 'ok');
      });

      it('fails every lookup and write of the batch with the unavailable error when the database is gone', async () => {
        // Nothing listens on port 1: every connection is refused.
        const gone = await openDatabase('postgres://postgres@127.0.0.1:1/none');
        const ctx = sqlContext(gone);
        const r = createSqlRevocationStore(ctx);
        const u = createSqlUserStore(ctx, usernameKeys);
        const c = createSqlCodeStore(ctx);
        const outcomes = await Promise.allSettled([
          r.isAccessTokenRevoked('a'),
          r.isAccessTokenRevoked('b'),
          u.get('u1'),
          // The batched writes too.
          c.create(code()),
          c.create(code()),
        ]);
        for (const o of outcomes) {
          assert.equal(o.status, 'rejected');
          assert.ok(o.reason instanceof StorageUnavailableError);
        }
        await gone.close();
      });
    }
  });
}
after(async () => {
  await pgDb?.drop();
});
