/**
 * The contract of the factor store (ports/factors.ts): TOTP apps, passkeys and recovery codes.
 * stores.test.ts declares it for every SQL backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FactorRecord } from '../../src/ports/factors.ts';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, times, uid } from './factories.ts';

export const totpFactor = (over: Partial<FactorRecord> = {}): FactorRecord => ({
  id: uid('factor'),
  userId: uid('user'),
  kind: 'totp',
  name: 'Phone',
  createdAt: NOW,
  lastUsedAt: null,
  confirmed: false,
  secret: 'wrapped-secret',
  credentialId: null,
  publicKey: null,
  counter: 0,
  transports: [],
  backupEligible: false,
  backedUp: false,
  aaguid: null,
  ...over,
});

export const passkeyFactor = (over: Partial<FactorRecord> = {}): FactorRecord =>
  totpFactor({
    kind: 'passkey',
    name: 'YubiKey',
    confirmed: true,
    secret: null,
    credentialId: uid('cred'),
    publicKey: 'pQECAyYgASFYIA',
    counter: 0,
    transports: ['usb', 'nfc'],
    backupEligible: true,
    backedUp: false,
    aaguid: '00000000-0000-0000-0000-000000000000',
    ...over,
  });

export function factorsContract(stores: Stores): void {
  describe('factors', () => {
    it('create stores a factor as given; get, listByUser and findByCredentialId read it back', async () => {
      const userId = uid('user');
      const app = totpFactor({ userId });
      const key = passkeyFactor({ userId, createdAt: NOW + 1, lastUsedAt: NOW + 1, counter: 7 });
      assert.equal(await stores.factors.create(app), true);
      assert.equal(await stores.factors.create(key), true);
      assert.deepEqual(await stores.factors.get(app.id), app);
      assert.deepEqual(await stores.factors.get(key.id), key);
      assert.deepEqual(await stores.factors.listByUser(userId), [app, key]);
      assert.deepEqual(await stores.factors.findByCredentialId(key.credentialId!), key);
      assert.equal(await stores.factors.findByCredentialId(uid('cred')), undefined);
      assert.equal(await stores.factors.get(uid('factor')), undefined);
      assert.deepEqual(await stores.factors.listByUser(uid('user')), []);
    });

    it('refuses a second factor with the same id or the same credential ID (even for another user), changing nothing', async () => {
      const key = passkeyFactor();
      assert.equal(await stores.factors.create(key), true);
      const sameCredential = passkeyFactor({ credentialId: key.credentialId, userId: uid('user') });
      assert.equal(await stores.factors.create(sameCredential), false);
      assert.equal(await stores.factors.get(sameCredential.id), undefined);
      assert.equal(
        await stores.factors.create({ ...key, name: 'Other', userId: uid('user'), credentialId: uid('c') }),
        false,
      );
      assert.deepEqual(await stores.factors.get(key.id), key);
      assert.deepEqual(await stores.factors.findByCredentialId(key.credentialId!), key);
      // Several TOTP apps (no credential ID) live side by side.
      const userId = uid('user');
      assert.equal(await stores.factors.create(totpFactor({ userId })), true);
      assert.equal(await stores.factors.create(totpFactor({ userId })), true);
      assert.equal((await stores.factors.listByUser(userId)).length, 2);
    });

    it('confirm marks the owner’s factor confirmed once; another user cannot', async () => {
      const app = totpFactor();
      await stores.factors.create(app);
      assert.equal(await stores.factors.confirm(uid('user'), app.id, NOW + 5), false);
      assert.equal((await stores.factors.get(app.id))!.confirmed, false);
      assert.equal(await stores.factors.confirm(app.userId, app.id, NOW + 5), true);
      assert.equal(await stores.factors.confirm(app.userId, app.id, NOW + 6), false);
      const stored = (await stores.factors.get(app.id))!;
      assert.equal(stored.confirmed, true);
      assert.equal(stored.lastUsedAt, NOW + 5);
      assert.equal(await stores.factors.confirm(app.userId, uid('factor'), NOW), false);
    });

    it('confirm: of 10 concurrent callers exactly one succeeds', async () => {
      const app = totpFactor();
      await stores.factors.create(app);
      const results = await times(10, (i) => stores.factors.confirm(app.userId, app.id, NOW + i));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('rename and delete act only on the owner’s factor', async () => {
      const app = totpFactor();
      await stores.factors.create(app);
      const stranger = uid('user');
      assert.equal(await stores.factors.rename(stranger, app.id, 'Mine now'), false);
      assert.equal(await stores.factors.delete(stranger, app.id), false);
      assert.equal((await stores.factors.get(app.id))!.name, 'Phone');
      assert.equal(await stores.factors.rename(app.userId, app.id, 'Work phone'), true);
      assert.equal((await stores.factors.get(app.id))!.name, 'Work phone');
      assert.equal(await stores.factors.delete(app.userId, app.id), true);
      assert.equal(await stores.factors.get(app.id), undefined);
      assert.equal(await stores.factors.delete(app.userId, app.id), false);
      assert.equal(await stores.factors.rename(app.userId, app.id, 'x'), false);
    });

    it('deleteByUser removes every factor and recovery code of that user only, and says how many factors', async () => {
      const userId = uid('user');
      const other = uid('user');
      await stores.factors.create(totpFactor({ userId }));
      await stores.factors.create(passkeyFactor({ userId }));
      const kept = passkeyFactor({ userId: other });
      await stores.factors.create(kept);
      await stores.factors.setRecoveryCodes(userId, ['h1', 'h2'], NOW);
      await stores.factors.setRecoveryCodes(other, ['h1', 'h3'], NOW);
      assert.equal(await stores.factors.deleteByUser(userId), 2);
      assert.deepEqual(await stores.factors.listByUser(userId), []);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 0);
      assert.equal(await stores.factors.useRecoveryCode(userId, 'h1', NOW), false);
      assert.deepEqual(await stores.factors.listByUser(other), [kept]);
      assert.equal(await stores.factors.countRecoveryCodes(other), 2);
      assert.equal(await stores.factors.deleteByUser(userId), 0);
    });

    it('recordUse sets the last-used time; a passkey counter only grows', async () => {
      const app = totpFactor({ confirmed: true });
      await stores.factors.create(app);
      assert.equal(await stores.factors.recordUse(app.id, NOW + 10), true);
      assert.equal((await stores.factors.get(app.id))!.lastUsedAt, NOW + 10);

      const key = passkeyFactor({ counter: 5 });
      await stores.factors.create(key);
      assert.equal(await stores.factors.recordUse(key.id, NOW + 20, { counter: 6, backedUp: true }), true);
      let stored = (await stores.factors.get(key.id))!;
      assert.deepEqual([stored.counter, stored.backedUp, stored.lastUsedAt], [6, true, NOW + 20]);
      // The same counter again, a lower one, or 0 after counting: a cloned authenticator, nothing changes.
      for (const counter of [6, 3, 0])
        assert.equal(await stores.factors.recordUse(key.id, NOW + 30, { counter, backedUp: false }), false);
      stored = (await stores.factors.get(key.id))!;
      assert.deepEqual([stored.counter, stored.backedUp, stored.lastUsedAt], [6, true, NOW + 20]);
      assert.equal(await stores.factors.recordUse(uid('factor'), NOW), false);
    });

    it('recordUse accepts a counter of 0 every time from an authenticator that keeps none', async () => {
      const key = passkeyFactor({ counter: 0 });
      await stores.factors.create(key);
      assert.equal(await stores.factors.recordUse(key.id, NOW + 1, { counter: 0, backedUp: true }), true);
      assert.equal(await stores.factors.recordUse(key.id, NOW + 2, { counter: 0, backedUp: false }), true);
      const stored = (await stores.factors.get(key.id))!;
      assert.deepEqual([stored.counter, stored.backedUp, stored.lastUsedAt], [0, false, NOW + 2]);
    });

    it('recordUse: of 10 concurrent uses with the same counter exactly one succeeds', async () => {
      const key = passkeyFactor({ counter: 1 });
      await stores.factors.create(key);
      const results = await times(10, () => stores.factors.recordUse(key.id, NOW, { counter: 2, backedUp: false }));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('setRecoveryCodes replaces the whole set, all unused; count counts the unused ones', async () => {
      const userId = uid('user');
      assert.equal(await stores.factors.countRecoveryCodes(userId), 0);
      await stores.factors.setRecoveryCodes(userId, ['a', 'b', 'c'], NOW);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 3);
      assert.equal(await stores.factors.useRecoveryCode(userId, 'a', NOW), true);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 2);
      await stores.factors.setRecoveryCodes(userId, ['a', 'd'], NOW + 1);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 2);
      assert.equal(await stores.factors.useRecoveryCode(userId, 'b', NOW), false, 'an old code is gone');
      assert.equal(await stores.factors.useRecoveryCode(userId, 'a', NOW), true, 'the new set is unused');
      await stores.factors.setRecoveryCodes(userId, [], NOW + 2);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 0);
    });

    it('useRecoveryCode: each code once, only the owner’s; of 20 concurrent callers exactly one wins', async () => {
      const userId = uid('user');
      await stores.factors.setRecoveryCodes(userId, ['x', 'y'], NOW);
      assert.equal(await stores.factors.useRecoveryCode(uid('user'), 'x', NOW), false);
      const results = await times(20, () => stores.factors.useRecoveryCode(userId, 'x', NOW));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await stores.factors.useRecoveryCode(userId, 'x', NOW + 1), false);
      assert.equal(await stores.factors.useRecoveryCode(userId, 'nope', NOW), false);
      assert.equal(await stores.factors.countRecoveryCodes(userId), 1);
    });
  });
}
