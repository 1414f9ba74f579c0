import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDatabase, type DatabaseHandle } from './database.ts';
import { migrate } from './migrations/index.ts';
import { createSqlGrantStore } from './grants-store.ts';
import { sqlContext } from './statements.ts';
import { usernameKeys } from '../../accounts/usernames.ts';
import { createPgDatabase } from '../../../test/fixtures/db.ts';
import { NOW, accepted, access, grant, nextFor, refreshFor, uid } from '../../../test/contract/factories.ts';
import type { GrantStore, RefreshTokenRecord } from '../../ports/grants.ts';
import { StorageUnavailableError } from '../../ports/unavailable.ts';

// The rotations of one turn on PostgreSQL: one transaction of two statements for the batch, and
// what the batch leaves to a rotation alone (a token presented twice, a used token, a failing
// rotation) decided as a rotation alone decides it.
const pgDb = await createPgDatabase();

describe('refresh-token rotations in batches (PostgreSQL)', { skip: pgDb ? false : 'PostgreSQL unreachable' }, () => {
  let handle: DatabaseHandle;
  let grants: GrantStore;
  let statements = 0;
  const prepared: { text: string; begin?: boolean; commit?: boolean }[] = [];
  before(async () => {
    handle = await openDatabase(pgDb!.url);
    await migrate(handle.db, usernameKeys);
    // Every statement the store runs (a plugin sees the result of each), and the texts it prepares.
    const counting = handle.db.withPlugin({
      transformQuery: (a) => a.node,
      transformResult: async (a) => {
        statements++;
        return a.result;
      },
    });
    const prepare = handle.prepare!;
    const recording = (text: string, options?: { begin?: boolean; commit?: boolean }) => {
      prepared.push({ text, ...options });
      prepare(text, options);
    };
    grants = createSqlGrantStore(sqlContext({ ...handle, db: counting, prepare: recording }));
  });
  after(async () => {
    await handle?.close();
    await pgDb?.drop();
  });

  const seed = async () => {
    const g = grant();
    const rt = refreshFor(g);
    await grants.create(g, rt, access());
    return { g, rt };
  };
  const used = async (rt: RefreshTokenRecord) => (await grants.getRefresh(rt.tokenHash))?.refresh.usedAt;

  it('rotates the tokens presented in one turn in one transaction: its read and its write', async () => {
    const seeded = await Promise.all(Array.from({ length: 12 }, seed));
    statements = 0;
    const issued: ReturnType<typeof access>[] = [];
    const outcomes = await Promise.all(
      seeded.map(({ rt }, i) => grants.rotate(rt.tokenHash, NOW + 1 + i, accepted, nextFor(issued))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.status),
      seeded.map(() => 'rotated'),
    );
    assert.equal(statements, 2);
    // The first begins the transaction, the second commits it (DatabaseHandle.prepare).
    const batch = prepared.filter((p) => / batch \*\//.test(p.text));
    assert.deepEqual(
      batch.map((p) => [!!p.begin, !!p.commit]),
      [
        [true, false],
        [false, true],
      ],
    );
    for (const [i, { g, rt }] of seeded.entries()) {
      assert.equal(await used(rt), NOW + 1 + i);
      const o = outcomes[i]!;
      assert.ok(o.status === 'rotated');
      assert.equal(o.grant.id, g.id);
      assert.deepEqual((await grants.getRefresh(o.issued.refresh.tokenHash))?.refresh, o.issued.refresh);
      assert.equal((await grants.findByAccessToken(o.issued.access.jti))?.id, g.id);
    }
  });

  it('leaves a second presentation and a used token to rotations alone: reuse, decided after the batch', async () => {
    const a = await seed();
    const b = await seed();
    const c = await seed();
    assert.equal((await grants.rotate(c.rt.tokenHash, NOW + 1, accepted, nextFor())).status, 'rotated');
    const outcomes = await Promise.all([
      grants.rotate(a.rt.tokenHash, NOW + 2, accepted, nextFor()),
      grants.rotate(b.rt.tokenHash, NOW + 2, accepted, nextFor()),
      grants.rotate(a.rt.tokenHash, NOW + 2, accepted, nextFor()),
      grants.rotate(c.rt.tokenHash, NOW + 2, accepted, nextFor()),
      grants.rotate('no-such-token', NOW + 2, accepted, nextFor()),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rotated', 'rotated', 'reused', 'reused', 'invalid'],
    );
    // Reuse revoked the families of a and c, not b's.
    assert.notEqual((await grants.get(a.g.id))?.revokedAt, null);
    assert.notEqual((await grants.get(c.g.id))?.revokedAt, null);
    assert.equal((await grants.get(b.g.id))?.revokedAt, null);
  });

  it('fails only the rotation whose callback throws or whose writes cannot be stored', async () => {
    const seeded = await Promise.all(Array.from({ length: 4 }, seed));
    const taken = access();
    await grants.create(grant(), null, taken);
    const outcomes = await Promise.allSettled([
      grants.rotate(seeded[0]!.rt.tokenHash, NOW + 1, accepted, nextFor()),
      grants.rotate(seeded[1]!.rt.tokenHash, NOW + 1, accepted, () => {
        throw new Error('next failed');
      }),
      grants.rotate(seeded[2]!.rt.tokenHash, NOW + 1, accepted, (prev) => ({
        refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null },
        access: taken, // its jti is stored already: the batch's write fails
      })),
      grants.rotate(seeded[3]!.rt.tokenHash, NOW + 1, () => ({ ok: false, error: 'refused' }) as const, nextFor()),
    ]);
    assert.equal(outcomes[0]!.status === 'fulfilled' && outcomes[0].value.status, 'rotated');
    assert.ok(outcomes[1]!.status === 'rejected' && /next failed/.test(String(outcomes[1].reason)));
    assert.ok(outcomes[2]!.status === 'rejected' && /duplicate key/.test(String(outcomes[2].reason)));
    assert.deepEqual(outcomes[3]!.status === 'fulfilled' && outcomes[3].value, { status: 'invalid', error: 'refused' });
    assert.equal(await used(seeded[0]!.rt), NOW + 1);
    for (const s of seeded.slice(1)) assert.equal(await used(s.rt), null);
  });

  it('keeps the reuse grace of each rotation of a batch, each with its own binding', async () => {
    const seeded = await Promise.all(Array.from({ length: 3 }, seed));
    const grace = (i: number) => ({ binding: `b${i}`, until: NOW + 30 });
    const keep = (i: number) => (prev: RefreshTokenRecord) => ({ ...nextFor()(prev), replay: `sealed-${i}` });
    const rotated = await Promise.all(
      seeded.map(({ rt }, i) => grants.rotate(rt.tokenHash, NOW + 1, accepted, keep(i), grace(i))),
    );
    assert.deepEqual(
      rotated.map((o) => o.status),
      ['rotated', 'rotated', 'rotated'],
    );
    const again = await Promise.all(
      seeded.map(({ rt }, i) => grants.rotate(rt.tokenHash, NOW + 2, accepted, keep(i), grace(i))),
    );
    assert.deepEqual(
      again.map((o) => (o.status === 'replayed' ? o.replay : o.status)),
      ['sealed-0', 'sealed-1', 'sealed-2'],
    );
    // Another binding is reuse.
    assert.equal((await grants.rotate(seeded[0]!.rt.tokenHash, NOW + 3, accepted, keep(0), grace(9))).status, 'reused');
  });

  it('fails every rotation of the batch with the unavailable error when the database is gone', async () => {
    // Nothing listens on port 1: every connection is refused.
    const gone = await openDatabase('postgres://postgres@127.0.0.1:1/none');
    const store = createSqlGrantStore(sqlContext(gone));
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((t) => store.rotate(t, NOW, accepted, nextFor())));
    for (const o of outcomes) assert.ok(o.status === 'rejected' && o.reason instanceof StorageUnavailableError);
    await gone.close();
  });
});
