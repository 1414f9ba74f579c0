/**
 * The contract of the authorization code store (ports/codes.ts). stores.test.ts declares it for
 * every SQL backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, times, tally, code, user, grant, refreshFor, access } from './factories.ts';

export function codesContract(stores: Stores): void {
  /**
   * The grant a redemption of `codeHash` stores (GrantStore.create with redeemedCode): whether the code was replayed.
   */
  const redeemGrant = async (codeHash: string) => {
    const g = grant();
    return (await stores.grants.create(g, refreshFor(g), access(), undefined, codeHash)).codeReplayed;
  };
  describe('authorization codes', () => {
    it('consume: ok once, then reused (with the record), missing for unknown codes', async () => {
      const c = code({ resource: 'https://api.example/' });
      await stores.codes.create(c);
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c, user: undefined });
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW + 1), { status: 'reused', code: c });
      assert.deepEqual(await stores.codes.consume(uid('code'), NOW), { status: 'missing' });
    });
    it("consume: the first use answers with the code's user as users.get has it; a replay without it", async () => {
      const u = user({ mfaRequired: true, mfaEnrolBy: NOW + 60, locale: 'fr' });
      await stores.users.create(u);
      const c = code({ userId: u.id });
      await stores.codes.create(c);
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), {
        status: 'ok',
        code: c,
        user: await stores.users.get(u.id),
      });
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW + 1), { status: 'reused', code: c });
      // The user as it is when the code is used: disabled after the code was issued, read disabled.
      const d = user();
      await stores.users.create(d);
      const dc = code({ userId: d.id });
      await stores.codes.create(dc);
      await stores.users.put({ ...d, disabled: true, updatedAt: NOW + 5 });
      assert.deepEqual(await stores.codes.consume(dc.codeHash, NOW), {
        status: 'ok',
        code: dc,
        user: { ...d, disabled: true, updatedAt: NOW + 5 },
      });
    });
    it('codes created and used in one turn each get their own answer (batched on PostgreSQL)', async () => {
      const u = user();
      await stores.users.create(u);
      const made = Array.from({ length: 20 }, (_, i) =>
        code({
          userId: i % 2 ? u.id : uid('user'),
          nonce: i % 3 ? null : `n-${i}`,
          ...(i % 4 ? {} : { dpopJkt: `jkt-${i}` }),
          ...(i % 5 ? {} : { claims: { id_token: ['email'], userinfo: [] } }),
        }),
      );
      await Promise.all(made.map((c) => stores.codes.create(c)));
      const unknown = uid('code');
      const used = await Promise.all([
        ...made.map((c, i) => stores.codes.consume(c.codeHash, NOW + i)),
        // The first code again in the same turn (after its first use), and a code never issued.
        stores.codes.consume(made[0]!.codeHash, NOW + 50),
        stores.codes.consume(unknown, NOW),
      ]);
      const stored = await stores.users.get(u.id);
      made.forEach((c, i) =>
        assert.deepEqual(used[i], { status: 'ok', code: c, user: i % 2 ? stored : undefined }, `code ${i}`),
      );
      assert.deepEqual(used.slice(20), [{ status: 'reused', code: made[0] }, { status: 'missing' }]);
      // The replay is marked: the first code's grant reads it, a code used once does not.
      assert.equal(await redeemGrant(made[0]!.codeHash), true);
      assert.equal(await redeemGrant(made[1]!.codeHash), false);
    });
    it('returns expired codes too (the caller checks expiry)', async () => {
      const c = code({ nonce: null, expiresAt: NOW - 10 });
      await stores.codes.create(c);
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW), { status: 'ok', code: c, user: undefined });
    });
    it('50 concurrent consumes of one code: exactly one ok, 49 reused', async () => {
      const c = code();
      await stores.codes.create(c);
      const results = await times(50, () => stores.codes.consume(c.codeHash, NOW));
      assert.deepEqual(tally(results), { ok: 1, reused: 49 });
      assert.equal(await redeemGrant(c.codeHash), true);
    });
    it('the grant of a redemption reads the replay mark: unset after the first use only, set once a later use came, and for an unknown code', async () => {
      const c = code();
      await stores.codes.create(c);
      assert.equal(await redeemGrant(c.codeHash), false);
      assert.equal((await stores.codes.consume(c.codeHash, NOW)).status, 'ok');
      assert.equal(await redeemGrant(c.codeHash), false);
      assert.equal((await stores.codes.consume(c.codeHash, NOW + 1)).status, 'reused');
      assert.equal(await redeemGrant(c.codeHash), true);
      // Still reused (never ok again) after the mark, and the mark stays.
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW + 2), { status: 'reused', code: c });
      assert.equal(await redeemGrant(c.codeHash), true);
      assert.equal(await redeemGrant(uid('code')), true);
      // A grant stored without a code to redeem reads none.
      const g = grant();
      assert.deepEqual(await stores.grants.create(g, null, access()), { codeReplayed: false });
    });
    it('a replay racing the redemption: the redemption sees the mark, or the replay finds the grant to revoke', async () => {
      for (let i = 0; i < 5; i++) {
        const c = code();
        await stores.codes.create(c);
        const [first, ...rest] = await Promise.all(
          Array.from({ length: 10 }, () => stores.codes.consume(c.codeHash, NOW)),
        );
        assert.deepEqual(tally([first!, ...rest]), { ok: 1, reused: 9 });
        assert.equal(await redeemGrant(c.codeHash), true);
      }
      // The winner stores its grant while a replay marks the code and then revokes the code's
      // grant: whatever the interleaving, the grant ends revoked.
      for (let i = 0; i < 10; i++) {
        const g = grant();
        const c = code({ grantId: g.id, clientId: g.clientId, userId: g.userId });
        await stores.codes.create(c);
        assert.equal((await stores.codes.consume(c.codeHash, NOW)).status, 'ok');
        const [created] = await Promise.all([
          stores.grants.create(g, refreshFor(g), access(), undefined, c.codeHash),
          (async () => {
            const replay = await stores.codes.consume(c.codeHash, NOW + 1);
            assert.equal(replay.status, 'reused');
            await stores.grants.revoke(g.id, NOW + 1);
          })(),
        ]);
        if (created.codeReplayed) await stores.grants.revoke(g.id, NOW + 2);
        assert.notEqual((await stores.grants.get(g.id))?.revokedAt ?? null, null, `round ${i}`);
      }
    });
  });
}
