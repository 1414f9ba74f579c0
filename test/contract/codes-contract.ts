/**
 * The contract of the authorization code store (ports/codes.ts). stores.test.ts declares it for
 * every SQL backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, times, tally, code, user } from './factories.ts';

export function codesContract(stores: Stores): void {
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
      assert.equal(await stores.codes.replayed(c.codeHash), true);
    });
    it('replayed: false after the first use only, true once a later use came, and for an unknown code', async () => {
      const c = code();
      await stores.codes.create(c);
      assert.equal(await stores.codes.replayed(c.codeHash), false);
      assert.equal((await stores.codes.consume(c.codeHash, NOW)).status, 'ok');
      assert.equal(await stores.codes.replayed(c.codeHash), false);
      assert.equal((await stores.codes.consume(c.codeHash, NOW + 1)).status, 'reused');
      assert.equal(await stores.codes.replayed(c.codeHash), true);
      // Still reused (never ok again) after the mark, and the mark stays.
      assert.deepEqual(await stores.codes.consume(c.codeHash, NOW + 2), { status: 'reused', code: c });
      assert.equal(await stores.codes.replayed(c.codeHash), true);
      assert.equal(await stores.codes.replayed(uid('code')), true);
    });
    it('a replay racing the redemption: the winner sees the mark of every replay that committed before it asks', async () => {
      for (let i = 0; i < 5; i++) {
        const c = code();
        await stores.codes.create(c);
        const [first, ...rest] = await Promise.all(
          Array.from({ length: 10 }, () => stores.codes.consume(c.codeHash, NOW)),
        );
        assert.deepEqual(tally([first!, ...rest]), { ok: 1, reused: 9 });
        assert.equal(await stores.codes.replayed(c.codeHash), true);
      }
    });
  });
}
