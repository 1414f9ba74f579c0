/**
 * The contract of the stores of operating Tessera (ports/admin.ts): admin roles and the per-minute
 * figures. stores.test.ts declares it for every SQL backend (backends.ts), with `stores` the open
 * backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, times, uid, user } from './factories.ts';

export function adminContract(stores: Stores): void {
  describe('admin roles', () => {
    it('set/get/list/count/remove; one role per user, replaced whole', async () => {
      const [a, b] = [uid('user'), uid('user')];
      const owners = await stores.adminRoles.count('owner');
      const auditors = await stores.adminRoles.count('auditor');
      assert.equal(await stores.adminRoles.get(a), undefined);
      await stores.adminRoles.set({ userId: a, role: 'owner', grantedAt: NOW, grantedBy: 'cli' });
      await stores.adminRoles.set({ userId: b, role: 'auditor', grantedAt: NOW, grantedBy: a });
      assert.deepEqual(await stores.adminRoles.get(a), { userId: a, role: 'owner', grantedAt: NOW, grantedBy: 'cli' });
      assert.equal(await stores.adminRoles.count('owner'), owners + 1);
      assert.equal(await stores.adminRoles.count('auditor'), auditors + 1);
      await stores.adminRoles.set({ userId: b, role: 'support', grantedAt: NOW + 5, grantedBy: 'admin' });
      assert.deepEqual(await stores.adminRoles.get(b), {
        userId: b,
        role: 'support',
        grantedAt: NOW + 5,
        grantedBy: 'admin',
      });
      assert.equal(await stores.adminRoles.count('auditor'), auditors);
      const listed = (await stores.adminRoles.list()).filter((r) => r.userId === a || r.userId === b);
      assert.deepEqual(
        listed.map((r) => [r.userId, r.role]),
        [
          [a, 'owner'],
          [b, 'support'],
        ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
      );
      const all = (await stores.adminRoles.list()).map((r) => r.userId);
      assert.deepEqual(all, [...all].sort());
      assert.equal(await stores.adminRoles.remove(a), true);
      assert.equal(await stores.adminRoles.remove(a), false);
      assert.equal(await stores.adminRoles.get(a), undefined);
      assert.equal(await stores.adminRoles.count('owner'), owners);
    });

    it('refuses a role that is not one of ADMIN_ROLES', async () => {
      const id = uid('user');
      await assert.rejects(
        stores.adminRoles.set({ userId: id, role: 'root' as 'owner', grantedAt: NOW, grantedBy: 'cli' }),
        /unknown admin role/,
      );
      assert.equal(await stores.adminRoles.get(id), undefined);
    });

    it("goes with its user (deleteWithTombstone), and only that user's", async () => {
      const [u, other] = [user(), user()];
      await stores.users.create(u);
      await stores.users.create(other);
      await stores.adminRoles.set({ userId: u.id, role: 'admin', grantedAt: NOW, grantedBy: 'cli' });
      await stores.adminRoles.set({ userId: other.id, role: 'admin', grantedAt: NOW, grantedBy: 'cli' });
      assert.equal(await stores.users.deleteWithTombstone(u.id, NOW, NOW + 60), true);
      assert.equal(await stores.adminRoles.get(u.id), undefined);
      assert.equal((await stores.adminRoles.get(other.id))?.role, 'admin');
    });
  });

  describe('per-minute figures', () => {
    // Minutes of their own, two weeks ago (so cleanup's 8 days reach them without a `now` far ahead).
    const M = (Math.floor(NOW / 60) - 20_000) * 60;

    it('adds to the figures of a minute; range sums instances, oldest first, minutes without figures absent', async () => {
      await stores.stats.add(M, { tokens_issued: 3, sign_ins_ok: 1 });
      await stores.stats.add(M, { tokens_issued: 2, sign_ins_failed: 1, unchanged: 0 });
      await stores.stats.add(M + 120, { tokens_issued: 7 });
      await stores.stats.add(M + 180, {});
      assert.deepEqual(await stores.stats.range(M, M + 240), [
        { minute: M, values: { sign_ins_failed: 1, sign_ins_ok: 1, tokens_issued: 5 } },
        { minute: M + 120, values: { tokens_issued: 7 } },
      ]);
      // [from, to): `to` excluded, `from` included.
      assert.deepEqual(await stores.stats.range(M + 60, M + 120), []);
      assert.deepEqual(
        (await stores.stats.range(M + 120, M + 121)).map((m) => m.minute),
        [M + 120],
      );
    });

    it('concurrent adds (as many instances at once) lose no count', async () => {
      const m = M + 600;
      await times(24, (i) => stores.stats.add(m, { a: 1, b: 2, [`only-${i % 3}`]: 1 }));
      assert.deepEqual(await stores.stats.range(m, m + 60), [
        { minute: m, values: { a: 24, b: 48, 'only-0': 8, 'only-1': 8, 'only-2': 8 } },
      ]);
    });

    it('refuses a minute that is not one and a value that is not an integer, adding nothing', async () => {
      const m = M + 1200;
      await assert.rejects(stores.stats.add(m + 1, { a: 1 }), /multiple of 60/);
      await assert.rejects(stores.stats.add(m, { a: 1, b: 0.5 }), /integer/);
      await assert.rejects(stores.stats.add(m, { a: Number.NaN }), /integer/);
      assert.deepEqual(await stores.stats.range(m, m + 60), []);
    });

    it('deleteBefore removes the minutes before its minute; cleanup keeps 8 days', async () => {
      const m = M + 3000;
      await stores.stats.add(m, { x: 1 });
      await stores.stats.add(m + 60, { x: 1, y: 1 });
      await stores.stats.add(m + 120, { x: 1 });
      // The earlier tests' minutes go too (they are before `m`).
      const earlier = (await stores.stats.range(0, m)).reduce((n, x) => n + Object.keys(x.values).length, 0);
      assert.ok(earlier > 0);
      assert.equal(await stores.stats.deleteBefore(m + 60), earlier + 1);
      assert.deepEqual(
        (await stores.stats.range(m, m + 180)).map((r) => r.minute),
        [m + 60, m + 120],
      );
      await stores.cleanup(m + 120 + 8 * 86400);
      assert.deepEqual(
        (await stores.stats.range(m, m + 180)).map((r) => r.minute),
        [m + 120],
      );
    });
  });
}
