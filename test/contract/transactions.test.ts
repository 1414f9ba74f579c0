/**
 * The contract of Stores.transaction (ports/index.ts), on every SQL backend (backends.ts): what `fn`
 * writes through the stores it is given commits together, with the audit record it appends, or
 * not at all; nested transactions; stores' own transactions inside one; concurrent transactions
 * and audit appends extending one chain; nothing waiting for itself on SQLite's one connection.
 * A file of its own (its own databases): it counts audit records from the genesis of the chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachBackend } from './backends.ts';
import {
  NOW,
  access,
  auditEvent,
  client,
  grant,
  key,
  refreshFor,
  seedGrant,
  session,
  times,
  uid,
  user,
} from './factories.ts';

class Refused extends Error {}

/** Resolves `p`, or fails after `ms` (a transaction that waits for itself would never end). */
const within = <T>(p: Promise<T>, ms = 10_000): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref()),
  ]);

forEachBackend('Stores.transaction', (stores, backend) => {
  const pg = backend.url.startsWith('postgres');
  const auditCount = async () => (await stores.audit.query({})).length;

  describe('commit and rollback', () => {
    it('commits what fn wrote in several stores, with its audit record, and returns what fn returned', async () => {
      const [c, u, g] = [client(), user(), grant()];
      const before = await auditCount();
      const out = await stores.transaction(async (tx) => {
        await tx.clients.put(c);
        assert.equal(await tx.users.create(u), true);
        await tx.grants.create(g, refreshFor(g), access());
        await tx.consents.grant(u.id, c.clientId, ['openid'], NOW);
        await tx.audit.append([auditEvent({ type: 'admin_test_commit', actor: u.id })]);
        // Its own writes are seen inside (the user by id: no batched lookup across requests).
        assert.deepEqual(await tx.users.get(u.id), u);
        assert.deepEqual(await tx.clients.get(c.clientId), c);
        return 'done';
      });
      assert.equal(out, 'done');
      assert.deepEqual(await stores.clients.get(c.clientId), c);
      assert.deepEqual(await stores.users.get(u.id), u);
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.deepEqual((await stores.consents.get(u.id, c.clientId))?.scopes, ['openid']);
      assert.equal(await auditCount(), before + 1);
      assert.deepEqual((await stores.audit.verify()).ok, true);
    });

    it('rolls back everything on a throw: nothing written, the audit record not appended, the error passed on', async () => {
      const [c, u, k] = [client(), user(), key({ state: 'retired' })];
      const s = session({ userId: u.id });
      const g = grant({ clientId: c.clientId, userId: u.id });
      const jti = uid('jti');
      const before = await auditCount();
      await assert.rejects(
        stores.transaction(async (tx) => {
          await tx.clients.put(c);
          await tx.users.create(u);
          await tx.sessions.create(s);
          await tx.grants.create(g, refreshFor(g), access());
          await tx.keys.insert(k, false);
          await tx.revocations.revokeAccessToken(jti, NOW + 60);
          await tx.adminRoles.set({ userId: u.id, role: 'auditor', grantedAt: NOW, grantedBy: 'cli' });
          await tx.stats.add(Math.floor(NOW / 60) * 60, { rolled_back: 1 });
          await tx.audit.append([auditEvent({ type: 'admin_test_rollback' })]);
          assert.equal(await tx.revocations.isAccessTokenRevoked(jti), true);
          throw new Refused('no');
        }),
        Refused,
      );
      assert.equal(await stores.clients.get(c.clientId), undefined);
      assert.equal(await stores.users.get(u.id), undefined);
      assert.equal(await stores.sessions.get(s.idHash), undefined);
      assert.equal(await stores.grants.get(g.id), undefined);
      assert.equal(
        (await stores.keys.list()).find((x) => x.kid === k.kid),
        undefined,
      );
      assert.equal(await stores.revocations.isAccessTokenRevoked(jti), false);
      assert.equal(await stores.adminRoles.get(u.id), undefined);
      assert.deepEqual(await stores.stats.range(0, NOW + 60), []);
      assert.equal(await auditCount(), before);
      assert.equal((await stores.audit.query({ type: 'admin_test_rollback' })).length, 0);
      assert.equal((await stores.audit.verify()).ok, true);
    });

    it('a throw after writes in several stores (a client deleted with its grants, a user deleted with its tombstone) undoes them all', async () => {
      const c = client();
      const u = user();
      await stores.clients.put(c);
      await stores.users.create(u);
      const { g, rt } = await seedGrant(stores, { clientId: c.clientId, userId: u.id });
      await stores.consents.grant(u.id, c.clientId, ['openid', 'profile'], NOW);
      const s = session({ userId: u.id });
      await stores.sessions.create(s);
      await assert.rejects(
        stores.transaction(async (tx) => {
          assert.equal(await tx.clients.delete(c.clientId), true);
          assert.equal(await tx.users.deleteWithTombstone(u.id, NOW, NOW + 86400), true);
          assert.equal(await tx.sessions.deleteByUser(u.id), 1);
          assert.notEqual((await tx.grants.get(g.id))!.revokedAt, null);
          throw new Refused('after the writes');
        }),
        Refused,
      );
      assert.deepEqual(await stores.clients.get(c.clientId), c);
      assert.deepEqual(await stores.users.get(u.id), u);
      assert.equal(await stores.users.tombstone(u.id), undefined);
      assert.deepEqual(await stores.sessions.get(s.idHash), s);
      assert.deepEqual(await stores.grants.getRefresh(rt.tokenHash), { refresh: rt, grant: g });
      assert.deepEqual((await stores.consents.get(u.id, c.clientId))?.scopes, ['openid', 'profile']);
    });
  });

  describe('nesting and stores of the transaction', () => {
    it('a nested transaction commits with the outer one; one that throws undoes its own writes only', async () => {
      const [a, b, c] = [client(), client(), client()];
      await stores.transaction(async (tx) => {
        await tx.clients.put(a);
        await tx.transaction(async (inner) => {
          await inner.clients.put(b);
        });
        await assert.rejects(
          tx.transaction(async (inner) => {
            await inner.clients.put(c);
            assert.deepEqual(await inner.clients.get(c.clientId), c);
            throw new Refused('inner');
          }),
          Refused,
        );
        assert.equal(await tx.clients.get(c.clientId), undefined);
      });
      assert.deepEqual(await stores.clients.get(a.clientId), a);
      assert.deepEqual(await stores.clients.get(b.clientId), b);
      assert.equal(await stores.clients.get(c.clientId), undefined);
    });

    it('a nested transaction that committed is undone by the outer one throwing', async () => {
      const b = client();
      await assert.rejects(
        stores.transaction(async (tx) => {
          await tx.transaction((inner) => inner.clients.put(b));
          throw new Refused('outer');
        }),
        Refused,
      );
      assert.equal(await stores.clients.get(b.clientId), undefined);
    });

    it("a store refusing by throwing inside its own transaction (keys' promote) undoes its own part only", async () => {
      const alg = 'EdDSA';
      const active = key({ alg, state: 'active' });
      const spare = client();
      await stores.transaction(async (tx) => {
        await tx.clients.put(spare);
        await tx.keys.insert(active, false);
        // No prepublished key of that kid: promote moves the active key to grace, then refuses.
        assert.equal(await tx.keys.promote(active.kid, uid('kid'), NOW + 60, NOW), false);
        assert.equal((await tx.keys.list()).find((k) => k.kid === active.kid)?.state, 'active');
        // On PostgreSQL a failed statement would abort the transaction; the savepoint keeps it usable.
        await assert.rejects(tx.keys.insert(key({ alg, state: 'active' }), false));
        assert.deepEqual(await tx.clients.get(spare.clientId), spare);
      });
      assert.equal((await stores.keys.list()).find((k) => k.kid === active.kid)?.state, 'active');
      assert.deepEqual(await stores.clients.get(spare.clientId), spare);
      await stores.keys.retire(active.kid, NOW, { early: true });
      await stores.keys.demote(active.kid, NOW);
      await stores.keys.retire(active.kid, NOW, { early: true });
    });

    it('store calls side by side inside one transaction (Promise.all) take turns with their savepoints', async () => {
      const clients = Array.from({ length: 6 }, () => client());
      const grants = clients.map((c) => grant({ clientId: c.clientId }));
      await stores.transaction(async (tx) => {
        await Promise.all(clients.map((c) => tx.clients.put(c)));
        await Promise.all(grants.map((g) => tx.grants.create(g, refreshFor(g), access())));
        const deleted = await Promise.all(clients.map((c, i) => (i % 2 ? tx.clients.delete(c.clientId) : false)));
        assert.deepEqual(deleted, [false, true, false, true, false, true]);
      });
      for (const [i, c] of clients.entries()) {
        assert.equal((await stores.clients.get(c.clientId)) === undefined, i % 2 === 1);
        assert.equal((await stores.grants.get(grants[i]!.id))!.revokedAt === null, i % 2 === 0);
      }
    });

    it('cleanup, exclusive and close refuse inside; the outer stores refuse a transaction inside one; ping answers', async () => {
      await stores.transaction(async (tx) => {
        await assert.rejects(tx.cleanup(NOW), /inside a transaction/);
        await assert.rejects(
          tx.exclusive(async () => 1),
          /inside a transaction/,
        );
        await assert.rejects(tx.close(), /inside a transaction/);
        await assert.rejects(
          stores.transaction(async () => 1),
          /use the stores the transaction gave/,
        );
        await tx.ping();
      });
      // Once it has ended, the outer stores run one again (a timer set inside fires after it).
      assert.equal(await stores.transaction(async () => 2), 2);
    });
  });

  describe('concurrency', () => {
    it('requests outside wait for the transaction, not the other way round; they see its writes once committed', async () => {
      const c = client();
      const other = user();
      await stores.users.create(other);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const tx = stores.transaction(async (t) => {
        await t.clients.put(c);
        entered();
        await gate;
        await t.audit.append([auditEvent({ type: 'admin_test_wait' })]);
      });
      await inside;
      // Outside, meanwhile: a read (PostgreSQL: the committed state, without the client yet;
      // SQLite: waits for the connection), a batched user lookup, a hot write (group commit) and
      // an audit append.
      const g = grant();
      const outside = [
        stores.clients.get(c.clientId),
        stores.users.get(other.id),
        stores.grants.create(g, refreshFor(g), access()),
        stores.audit.append([auditEvent({ type: 'admin_test_outside' })]),
      ] as const;
      if (pg) assert.equal(await within(outside[0]), undefined);
      release();
      await within(tx);
      const [read, u] = await within(Promise.all(outside));
      if (!pg) assert.deepEqual(read, c);
      assert.deepEqual(u, other);
      assert.deepEqual(await stores.clients.get(c.clientId), c);
      assert.deepEqual(await stores.grants.get(g.id), g);
      assert.equal((await stores.audit.verify()).ok, true);
    });

    it('concurrent transactions and audit appends outside them extend one chain (seqs contiguous, verify ok)', async () => {
      const before = await stores.audit.query({});
      const start = before.length ? before.at(-1)!.seq : 0;
      const marker = uid('run');
      const results = await within(
        Promise.allSettled([
          ...Array.from({ length: 8 }, (_, i) =>
            stores.transaction(async (tx) => {
              const c = client();
              await tx.clients.put(c);
              await tx.audit.append([auditEvent({ type: 'admin_tx', details: { marker, i } })]);
              if (i % 4 === 3) throw new Refused('rolled back');
              // Writes after the append: the chain head stays locked until the commit.
              await tx.users.create(user());
              return c.clientId;
            }),
          ),
          ...Array.from({ length: 8 }, (_, i) =>
            stores.audit.append([
              auditEvent({ type: 'outside', details: { marker, i } }),
              auditEvent({ type: 'outside', details: { marker, i, second: true } }),
            ]),
          ),
        ]),
        30_000,
      );
      assert.equal(results.filter((r) => r.status === 'rejected').length, 2);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof Refused, String(r.reason));
      const after = await stores.audit.query({ from: 0 });
      const added = after.filter((r) => r.seq > start);
      assert.deepEqual(
        added.map((r) => r.seq),
        Array.from({ length: 6 + 16 }, (_, i) => start + 1 + i),
      );
      assert.equal(added.filter((r) => r.type === 'admin_tx').length, 6);
      assert.deepEqual(
        added
          .filter((r) => r.type === 'admin_tx')
          .map((r) => Number(r.details.i))
          .sort(),
        [0, 1, 2, 4, 5, 6],
      );
      assert.deepEqual((await stores.audit.verify()).ok, true);
      for (const r of results.slice(0, 8))
        if (r.status === 'fulfilled') assert.ok(await stores.clients.get(r.value as string));
    });

    if (pg) {
      it('PostgreSQL: many transactions at once, each on its own connection, every one commits', async () => {
        const made = await within(
          times(20, (i) =>
            stores.transaction(async (tx) => {
              const c = client({ clientName: `parallel ${i}` });
              await tx.clients.put(c);
              await tx.consents.grant(`user-parallel-${i % 3}`, c.clientId, ['openid'], NOW);
              await tx.audit.append([auditEvent({ type: 'admin_parallel', details: { i } })]);
              return c.clientId;
            }),
          ),
          30_000,
        );
        for (const id of made) assert.ok(await stores.clients.get(id));
        assert.equal((await stores.audit.query({ type: 'admin_parallel' })).length, 20);
        assert.deepEqual((await stores.audit.verify()).ok, true);
      });
    }
  });
});
