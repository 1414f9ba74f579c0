/**
 * The contract of the sign-in store (ports/sign-ins.ts): pending second-factor sign-ins and
 * remembered devices. stores.test.ts declares it for every SQL backend (backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PendingSignInRecord, Stores } from '../../src/ports/index.ts';
import { NOW, uid, times } from './factories.ts';

const pending = (over: Partial<PendingSignInRecord> = {}): PendingSignInRecord => ({
  idHash: uid('sign-in'),
  userId: uid('user'),
  amr: ['pwd'],
  continueTo: `ia:${uid('ia')}`,
  stepUp: false,
  createdAt: NOW,
  expiresAt: NOW + 600,
  ...over,
});

export function signInsContract(stores: Stores): void {
  describe('sign-ins', () => {
    it('a pending sign-in round-trips while live, and not after it expires', async () => {
      const p = pending({ amr: ['pwd', 'otp'], stepUp: true, continueTo: 'account' });
      await stores.signIns.createPending(p);
      assert.deepEqual(await stores.signIns.getPending(p.idHash, NOW), p);
      assert.equal(await stores.signIns.getPending(p.idHash, NOW + 600), undefined);
      assert.equal(await stores.signIns.getPending(uid('none'), NOW), undefined);
    });
    it('a pending sign-in keeps the upstream identity it began with (issue 17), and a password one has none', async () => {
      const upstream = { providerId: 'corp', issuer: 'https://idp.example.com', subject: uid('sub'), sid: 'u-sid' };
      const p = pending({ amr: ['fed'], upstream });
      const plain = pending();
      await stores.signIns.createPending(p);
      await stores.signIns.createPending(plain);
      assert.deepEqual(await stores.signIns.getPending(p.idHash, NOW), p);
      assert.deepEqual(await stores.signIns.consumePending(p.idHash, NOW), p);
      const got = await stores.signIns.consumePending(plain.idHash, NOW);
      assert.deepEqual(got, plain);
      assert.equal(got && 'upstream' in got, false);
    });
    it('consumePending returns it once, then undefined; an expired one is never returned', async () => {
      const p = pending();
      await stores.signIns.createPending(p);
      assert.deepEqual(await stores.signIns.consumePending(p.idHash, NOW), p);
      assert.equal(await stores.signIns.consumePending(p.idHash, NOW), undefined);
      assert.equal(await stores.signIns.getPending(p.idHash, NOW), undefined);
      const old = pending({ expiresAt: NOW - 1 });
      await stores.signIns.createPending(old);
      assert.equal(await stores.signIns.consumePending(old.idHash, NOW), undefined);
    });
    it('consumePending is atomic under concurrency (8 callers, one winner)', async () => {
      const p = pending();
      await stores.signIns.createPending(p);
      const results = await times(8, () => stores.signIns.consumePending(p.idHash, NOW));
      assert.equal(results.filter((r) => r !== undefined).length, 1);
    });
    it("forgetUser drops the user's sign-ins waiting for a second factor, and no one else's", async () => {
      const mine = pending();
      const theirs = pending();
      await stores.signIns.createPending(mine);
      await stores.signIns.createPending(theirs);
      await stores.signIns.forgetUser(mine.userId);
      assert.equal(await stores.signIns.getPending(mine.idHash, NOW), undefined);
      assert.deepEqual(await stores.signIns.getPending(theirs.idHash, NOW), theirs);
    });
    it('a remembered device counts for its user only, until it expires, and is forgotten with the user', async () => {
      const userId = uid('user');
      const idHash = uid('device');
      await stores.signIns.rememberDevice({ idHash, userId, createdAt: NOW, expiresAt: NOW + 100 });
      await stores.signIns.rememberDevice({ idHash: uid('device'), userId, createdAt: NOW, expiresAt: NOW + 100 });
      assert.equal(await stores.signIns.isRememberedDevice(idHash, userId, NOW), true);
      assert.equal(await stores.signIns.isRememberedDevice(idHash, uid('user'), NOW), false);
      assert.equal(await stores.signIns.isRememberedDevice(idHash, userId, NOW + 100), false);
      assert.equal(await stores.signIns.isRememberedDevice(uid('device'), userId, NOW), false);
      assert.equal(await stores.signIns.forgetUser(userId), 2);
      assert.equal(await stores.signIns.isRememberedDevice(idHash, userId, NOW), false);
    });
  });
}
