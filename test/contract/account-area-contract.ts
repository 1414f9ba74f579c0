/**
 * The contract of what the account area added to the stores (migration 0023): a session's browser
 * details, a user's sessions listed and ended by sid, known devices, and deleted accounts'
 * tombstones. stores.test.ts declares it for every SQL backend (backends.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, session, uid, user } from './factories.ts';

export function accountAreaContract(stores: Stores): void {
  describe('account area: sessions', () => {
    it("keeps a session's User-Agent, address and device hash; absent ones stay absent", async () => {
      const s = session({
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
        ip: '2001:db8::1',
        deviceHash: 'h'.repeat(43),
      });
      await stores.sessions.create(s);
      assert.deepEqual(await stores.sessions.get(s.idHash), s);
      const bare = session();
      await stores.sessions.create(bare);
      assert.deepEqual(await stores.sessions.get(bare.idHash), bare);
    });
    it("listByUser lists that user's sessions only, most recently seen first", async () => {
      const userId = uid('user');
      const older = session({ userId, lastSeenAt: NOW - 50 });
      const newer = session({ userId, lastSeenAt: NOW - 5 });
      await stores.sessions.create(older);
      await stores.sessions.create(newer);
      await stores.sessions.create(session());
      assert.deepEqual(await stores.sessions.listByUser(userId), [newer, older]);
      assert.deepEqual(await stores.sessions.listByUser(uid('user')), []);
    });
    it("deleteBySid deletes that user's session with the sid, never another user's", async () => {
      const [me, other] = [uid('user'), uid('user')];
      const mine = session({ userId: me });
      const theirs = session({ userId: other });
      await stores.sessions.create(mine);
      await stores.sessions.create(theirs);
      assert.equal(await stores.sessions.deleteBySid(me, theirs.sid), undefined);
      assert.deepEqual(await stores.sessions.get(theirs.idHash), theirs);
      assert.deepEqual(await stores.sessions.deleteBySid(me, mine.sid), mine);
      assert.equal(await stores.sessions.get(mine.idHash), undefined);
      assert.equal(await stores.sessions.deleteBySid(me, mine.sid), undefined);
    });
    it('rememberDevice: the first browser of an account, then known; another browser is new; concurrent calls agree', async () => {
      const [userId, device] = [uid('user'), uid('device')];
      const results = await Promise.all(
        Array.from({ length: 10 }, () => stores.sessions.rememberDevice(userId, device, NOW)),
      );
      assert.deepEqual(
        results.filter((r) => r !== 'known'),
        ['first'],
      );
      assert.equal(await stores.sessions.rememberDevice(userId, device, NOW + 10), 'known');
      assert.equal(await stores.sessions.rememberDevice(uid('user'), device, NOW), 'first', 'per user');
      const second = uid('device');
      assert.equal(await stores.sessions.rememberDevice(userId, second, NOW + 20), 'new');
      assert.equal(await stores.sessions.rememberDevice(userId, second, NOW + 30), 'known');
      assert.equal(await stores.sessions.rememberDevice(userId, device, NOW + 40), 'known', 'the first stays known');
    });
    it('rememberDevice: of first sign-ins from several browsers at once, at most one is the first', async () => {
      const userId = uid('user');
      const devices = Array.from({ length: 8 }, () => uid('device'));
      const results = await Promise.all(devices.map((d) => stores.sessions.rememberDevice(userId, d, NOW)));
      assert.ok(
        results.every((r) => r !== 'known'),
        JSON.stringify(results),
      );
      assert.ok(results.filter((r) => r === 'first').length <= 1, JSON.stringify(results));
      for (const d of devices) assert.equal(await stores.sessions.rememberDevice(userId, d, NOW + 1), 'known');
    });
  });

  describe('account area: deleted accounts', () => {
    it('deleteWithTombstone removes the user, keeps the id and reserves the canonical username until the time given', async () => {
      const u = user({ username: `Tomb-${uid('x').slice(-8)}` });
      await stores.users.put(u);
      await stores.sessions.rememberDevice(u.id, 'device-of-the-deleted', NOW);
      assert.equal(await stores.users.deleteWithTombstone(u.id, NOW, NOW + 100), true);
      assert.equal(
        await stores.sessions.rememberDevice(u.id, 'device-of-the-deleted', NOW),
        'first',
        'devices forgotten',
      );
      assert.equal(await stores.users.get(u.id), undefined);
      assert.deepEqual(await stores.users.tombstone(u.id), {
        userId: u.id,
        usernameCanonical: u.username.toLowerCase(),
        deletedAt: NOW,
        reservedUntil: NOW + 100,
      });
      assert.equal(await stores.users.deleteWithTombstone(u.id, NOW, NOW + 100), false, 'gone already');
      assert.equal(await stores.users.usernameReserved(u.username.toUpperCase(), NOW + 99), true, 'canonical form');
      assert.equal(await stores.users.usernameReserved(u.username, NOW + 100), false, 'reservation over');
      assert.equal(await stores.users.usernameReserved(`${u.username}-other`, NOW), false);
      assert.equal(await stores.users.tombstone(uid('user')), undefined);
    });
    it('create refuses a deleted account id', async () => {
      const u = user();
      await stores.users.put(u);
      await stores.users.deleteWithTombstone(u.id, NOW, NOW);
      assert.equal(await stores.users.create({ ...u, username: `${u.username}-again` }), false);
      assert.equal(await stores.users.get(u.id), undefined);
    });
  });
}
