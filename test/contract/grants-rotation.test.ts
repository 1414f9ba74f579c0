/**
 * Contract tests for the callbacks of grants.rotate and grants.useRefresh (ports/grants.ts): they
 * may be run more than once for one call, and the caller still gets one consistent result, that of
 * the run that was committed. On SQLite a rotation shares a group commit with the other hot
 * transactions of its turn (adapters/sql/batching.ts); here another member of its group fails (a
 * grant whose access token's jti is taken), so the group is rolled back and the rotation runs again
 * on its own. On in-memory SQLite, a SQLite file (WAL) and PostgreSQL (where nothing is grouped,
 * and the callbacks run once).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { GrantRecord, IssuedAccessToken, RefreshTokenRecord, UserRecord } from '../../src/ports/index.ts';
import { forEachBackend } from './backends.ts';
import { NOW, access, grant, refreshFor, seedGrant, tally, times, uid } from './factories.ts';

forEachBackend('grants: rotation callbacks run again', (stores, backend) => {
  // SQLite groups the hot transactions of a turn into one commit; PostgreSQL runs each alone.
  const grouped = () => backend.url.startsWith('sqlite');
  const seed = () => seedGrant(stores);
  /**
   * A grant creation that fails inside the transaction (its access token's jti is taken): queued
   * in the same turn as the call under test, it makes their group fail.
   */
  const failingCreate = (takenJti: IssuedAccessToken) => {
    const g = grant();
    return { id: g.id, done: stores.grants.create(g, refreshFor(g), takenJti) };
  };

  /** Callbacks that record their runs: each accept decides a value of its own, each next makes new records. */
  const recording = () => {
    const accepts: { run: number }[] = [];
    const nexts: { accepted: { run: number }; refresh: RefreshTokenRecord; access: IssuedAccessToken }[] = [];
    const accept = (_r: RefreshTokenRecord, _g: GrantRecord, _u: UserRecord | undefined) => {
      const value = { run: accepts.length + 1 };
      accepts.push(value);
      return { ok: true, value } as const;
    };
    const next = (prev: RefreshTokenRecord, _g: GrantRecord, accepted: { run: number }) => {
      const refresh = { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null };
      const made = { accepted, refresh, access: access() };
      nexts.push(made);
      return { refresh: made.refresh, access: made.access };
    };
    return { accepts, nexts, accept, next };
  };

  it('rotate in a failing group: exactly one rotation, and the successor stored is the one returned', async () => {
    const { g, rt, at } = await seed();
    const cb = recording();
    // The rotation first, so that it has run in the group when the creation fails.
    const rotation = stores.grants.rotate(rt.tokenHash, NOW + 1, cb.accept, cb.next);
    const other = failingCreate(at);
    const [rotated, failed] = await Promise.allSettled([rotation, other.done]);
    assert.equal(failed.status, 'rejected', 'the failing member gets its own error');
    assert.equal(await stores.grants.get(other.id), undefined);
    assert.equal(cb.accepts.length, grouped() ? 2 : 1, 'accept ran again after the group failed');
    assert.equal(cb.nexts.length, cb.accepts.length);
    const result = rotated.status === 'fulfilled' ? rotated.value : assert.fail(String(rotated.reason));
    assert.equal(result.status, 'rotated');
    if (result.status !== 'rotated') return;
    // The caller gets the committed run's: its verdict's value, and what its next made from that value.
    const committed = cb.nexts.at(-1)!;
    assert.equal(result.accepted, cb.accepts.at(-1));
    assert.equal(committed.accepted, result.accepted);
    assert.deepEqual(result.issued, { refresh: committed.refresh, access: committed.access });
    assert.deepEqual(result.previous, { ...rt, usedAt: NOW + 1 });
    // Exactly one rotation: the presented token used, the returned successor live, an earlier run's nowhere.
    const { refresh: successor, access: issued } = result.issued;
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: { ...rt, usedAt: NOW + 1 }, grant: g });
    assert.deepEqual(await stores.grants.getRefresh(successor.tokenHash), { refresh: successor, grant: g });
    assert.deepEqual(await stores.grants.findByAccessToken(issued.jti), g);
    for (const discarded of cb.nexts.slice(0, -1)) {
      assert.equal(await stores.grants.getRefresh(discarded.refresh.tokenHash), undefined);
      assert.equal(await stores.grants.findByAccessToken(discarded.access.jti), undefined);
    }
    // The returned successor is the one that rotates next; the presented token is now a replay.
    const again = recording();
    const onwards = await stores.grants.rotate(successor.tokenHash, NOW + 2, again.accept, again.next);
    assert.equal(onwards.status, 'rotated');
    const replay = await stores.grants.rotate(rt.tokenHash, NOW + 3, again.accept, again.next);
    assert.deepEqual(replay, { status: 'reused', grantId: g.id, clientId: g.clientId });
  });

  it('useRefresh in a failing group: one use, and the access token recorded is the one returned', async () => {
    const { g, rt, at } = await seed();
    const cb = recording();
    const next = (r: RefreshTokenRecord, gr: GrantRecord, a: { run: number }) => cb.next(r, gr, a).access;
    const use = stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 7200, cb.accept, next);
    const other = failingCreate(at);
    const [used, failed] = await Promise.allSettled([use, other.done]);
    assert.equal(failed.status, 'rejected', 'the failing member gets its own error');
    assert.equal(cb.accepts.length, grouped() ? 2 : 1, 'accept ran again after the group failed');
    const result = used.status === 'fulfilled' ? used.value : assert.fail(String(used.reason));
    assert.equal(result.status, 'used');
    if (result.status !== 'used') return;
    const committed = cb.nexts.at(-1)!;
    assert.equal(result.accepted, cb.accepts.at(-1));
    assert.equal(committed.accepted, result.accepted);
    assert.deepEqual(result.issued, committed.access);
    const kept = { ...rt, expiresAt: NOW + 7200 };
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: kept, grant: g });
    assert.deepEqual(await stores.grants.findByAccessToken(result.issued.jti), g);
    for (const discarded of cb.nexts.slice(0, -1)) {
      assert.equal(await stores.grants.findByAccessToken(discarded.access.jti), undefined);
    }
  });

  it("rotate with grace in a failing group: the replay kept is the committed run's, and a replay in a failing group is still one", async () => {
    const { g, rt, at } = await seed();
    const grace = { binding: 'same presenter', until: NOW + 31 };
    const runs: string[] = [];
    const next = (prev: RefreshTokenRecord) => {
      const replay = `sealed run ${runs.length + 1}`;
      runs.push(replay);
      return { refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null }, access: access(), replay };
    };
    const accept = () => ({ ok: true, value: 'ok' }) as const;
    const rotation = stores.grants.rotate(rt.tokenHash, NOW + 1, accept, next, grace);
    const other = failingCreate(at);
    const [rotated] = await Promise.allSettled([rotation, other.done]);
    assert.equal(runs.length, grouped() ? 2 : 1);
    const result = rotated.status === 'fulfilled' ? rotated.value : assert.fail(String(rotated.reason));
    assert.equal(result.status === 'rotated' && result.issued.replay, runs.at(-1));
    // Presented again, in a group that fails too: the committed run's replay comes back, the family lives.
    const again = stores.grants.rotate(rt.tokenHash, NOW + 2, accept, () => assert.fail('next must not run'), grace);
    const another = failingCreate(at);
    const [replayed] = await Promise.allSettled([again, another.done]);
    assert.deepEqual(replayed.status === 'fulfilled' && replayed.value, {
      status: 'replayed',
      grant: g,
      accepted: 'ok',
      replay: runs.at(-1),
      rotatedAt: NOW + 1,
    });
    assert.equal((await stores.grants.get(g.id))!.revokedAt, null);
  });

  it('what a rotation with grace keeps is erased on the next rotation, on revocation and by the cleanup after the window', async () => {
    const kept = async (grantId: string) =>
      (await backend.handle.db.selectFrom('refresh_grace').selectAll().where('grant_id', '=', grantId).execute()).map(
        (r) => ({ ...r, created_at: Number(r.created_at), expires_at: Number(r.expires_at) }),
      );
    const grace = { binding: 'same presenter', until: NOW + 31 };
    const sealed = (prev: RefreshTokenRecord) => ({
      refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null },
      access: access(),
      replay: `sealed ${uid('r')}`,
    });
    const yes = () => ({ ok: true, value: undefined }) as const;
    // Kept as the caller sealed it, for the presented token, until the window's end.
    const { g, rt } = await seed();
    const first = await stores.grants.rotate(rt.tokenHash, NOW + 1, yes, sealed, grace);
    assert.equal(first.status, 'rotated');
    if (first.status !== 'rotated') return;
    assert.deepEqual(await kept(g.id), [
      {
        token_hash: rt.tokenHash,
        grant_id: g.id,
        successor_hash: first.issued.refresh.tokenHash,
        binding: 'same presenter',
        response: first.issued.replay,
        created_at: NOW + 1,
        expires_at: NOW + 31,
      },
    ]);
    // The next rotation replaces it (one per family)...
    const second = await stores.grants.rotate(first.issued.refresh.tokenHash, NOW + 2, yes, sealed, grace);
    assert.equal(second.status, 'rotated');
    assert.deepEqual(
      (await kept(g.id)).map((r) => r.token_hash),
      [first.issued.refresh.tokenHash],
    );
    // ...the family's revocation erases it...
    await stores.grants.revoke(g.id, NOW + 3);
    assert.deepEqual(await kept(g.id), []);
    // ...and the cleanup erases it once the window is over (not before).
    const other = await seed();
    assert.equal((await stores.grants.rotate(other.rt.tokenHash, NOW + 1, yes, sealed, grace)).status, 'rotated');
    await stores.cleanup(NOW + 30);
    assert.equal((await kept(other.g.id)).length, 1);
    await stores.cleanup(NOW + 31);
    assert.deepEqual(await kept(other.g.id), []);
  });

  it('a refusal in a failing group: the refusal comes back, and nothing is stored', async () => {
    const { g, rt, at } = await seed();
    let runs = 0;
    const refuse = () => ({ ok: false, reason: `run ${++runs}` }) as const;
    const refusal = stores.grants.rotate(rt.tokenHash, NOW + 1, refuse, () => assert.fail('next must not run'));
    const other = failingCreate(at);
    const [refused] = await Promise.allSettled([refusal, other.done]);
    assert.equal(runs, grouped() ? 2 : 1);
    assert.deepEqual(refused.status === 'fulfilled' && refused.value, { status: 'invalid', reason: `run ${runs}` });
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
  });

  // PostgreSQL writes a rotation's BEGIN with its read and its COMMIT with its writes, on a
  // connection of its own (adapters/sql/grants-store.ts, atOnce): every way out must end that
  // transaction before the connection goes back to the pool, or the grant's lock would stay held
  // (a revocation would wait for ever) and the connection's next user would run inside it. Calls
  // side by side, on several connections, each used again.
  /** Resolves with `promise`, or fails once `ms` have passed (a lock left held would hang the test). */
  const within = <T>(promise: Promise<T>, what: string, ms = 5000) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms).unref(),
      ),
    ]);

  it('refusals, unknown and revoked tokens end their transaction: the grant is not left locked, the token not used', async () => {
    const { g, rt } = await seed();
    const refuse = () => ({ ok: false }) as const;
    const never = () => assert.fail('next must not run');
    for (let round = 0; round < 3; round++) {
      const presented = times(
        12,
        (i): Promise<{ status: string }> =>
          i % 3 === 2
            ? stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 100, refuse, never)
            : stores.grants.rotate(i % 3 ? uid('rt') : rt.tokenHash, NOW + 1, refuse, never),
      );
      assert.deepEqual(tally(await within(presented, 'refusals')), { invalid: 12 });
    }
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
    const cb = recording();
    const rotated = await within(stores.grants.rotate(rt.tokenHash, NOW + 1, cb.accept, cb.next), 'rotation');
    assert.equal(rotated.status, 'rotated');
    assert.equal(await within(stores.grants.revoke(g.id, NOW + 2), 'revocation'), true);
    const revoked = times(12, () => stores.grants.rotate(rt.tokenHash, NOW + 3, cb.accept, never));
    assert.deepEqual(tally(await within(revoked, 'revoked')), { invalid: 12 });
    const other = await seed();
    assert.equal(
      (await within(stores.grants.rotate(other.rt.tokenHash, NOW + 1, cb.accept, cb.next), 'rotation')).status,
      'rotated',
    );
  });

  it('a rotation or use whose writes fail, or whose callback throws, is undone whole: its error comes back, the token stays unused', async () => {
    const { g, rt, at } = await seed();
    const yes = () => ({ ok: true, value: undefined }) as const;
    // The new access token's jti is taken (the grant's first one): the rotation's writes fail.
    const taken = (prev: RefreshTokenRecord) => ({
      refresh: { ...prev, tokenHash: uid('rt'), createdAt: NOW + 1, usedAt: null },
      access: at,
    });
    const throwing = () => {
      throw new Error('next failed');
    };
    const grace = { binding: 'b', until: NOW + 31 };
    const failing = times(16, async (i) => {
      const attempt = [
        () => stores.grants.rotate(rt.tokenHash, NOW + 1, yes, taken),
        () => stores.grants.rotate(rt.tokenHash, NOW + 1, yes, throwing),
        () => stores.grants.rotate(rt.tokenHash, NOW + 1, yes, (p) => ({ ...taken(p), replay: 'r' }), grace),
        () => stores.grants.useRefresh(rt.tokenHash, NOW + 1, NOW + 100, yes, () => at),
      ][i % 4]!();
      await (i % 4 === 1 ? assert.rejects(attempt, /next failed/) : assert.rejects(attempt));
    });
    await within(failing, 'failing rotations');
    assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
    // The grant is not locked, the connections are usable, and the token still rotates once.
    const cb = recording();
    const rotated = await within(stores.grants.rotate(rt.tokenHash, NOW + 1, cb.accept, cb.next), 'rotation');
    assert.equal(rotated.status, 'rotated');
    assert.equal(cb.nexts.length, 1);
    assert.deepEqual(await stores.grants.rotate(rt.tokenHash, NOW + 2, cb.accept, cb.next), {
      status: 'reused',
      grantId: g.id,
      clientId: g.clientId,
    });
    assert.equal(await within(stores.grants.revoke(g.id, NOW + 3), 'revocation'), false);
  });
});
