/**
 * The contract of the user store (ports/users.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, user } from './factories.ts';

export function usersContract(stores: Stores): void {
  describe('users', () => {
    it('put/get/findByUsername round-trip, with nulls', async () => {
      const u = user();
      const bare = user({
        passwordHash: null,
        email: null,
        emailVerified: false,
        name: null,
        givenName: null,
        familyName: null,
        disabled: true,
      });
      await stores.users.put(u);
      await stores.users.put(bare);
      assert.deepEqual(await stores.users.get(u.id), u);
      assert.deepEqual(await stores.users.get(bare.id), bare);
      assert.deepEqual(await stores.users.findByUsername(u.username), u);
      assert.equal(await stores.users.findByUsername(uid('ghost')), undefined);
      // A name no user can hold: unknown, not a storage error.
      assert.equal(await stores.users.findByUsername(`${u.username}\u0000`), undefined);
      assert.equal(await stores.users.findByCanonical(`${u.username}\u0000`), undefined);
      assert.equal(await stores.users.findConfusable(`${u.username}\u0000`), undefined);
      assert.equal(await stores.users.get(uid('ghost')), undefined);
    });
    it('put replaces by id (including the username); list includes it', async () => {
      const u = user();
      await stores.users.put(u);
      const renamed = { ...u, username: uid('bob'), email: 'bob@example.com', updatedAt: NOW + 1 };
      await stores.users.put(renamed);
      assert.deepEqual(await stores.users.get(u.id), renamed);
      assert.equal(await stores.users.findByUsername(u.username), undefined);
      assert.deepEqual(
        (await stores.users.list()).filter((x) => x.id === u.id),
        [renamed],
      );
    });
    it('the chosen language round-trips (put, create, page), is cleared by null, and defaults to none', async () => {
      const u = user();
      await stores.users.put(u);
      assert.equal((await stores.users.get(u.id))?.locale ?? null, null);
      await stores.users.put({ ...u, locale: 'de' });
      assert.equal((await stores.users.get(u.id))?.locale, 'de');
      assert.deepEqual(await stores.users.get(u.id), { ...u, locale: 'de' });
      assert.equal((await stores.users.findByUsername(u.username))?.locale, 'de');
      await stores.users.put({ ...u, locale: null });
      assert.equal((await stores.users.get(u.id))?.locale ?? null, null);
      const made = user({ locale: 'fr' });
      assert.equal(await stores.users.create(made), true);
      assert.equal((await stores.users.get(made.id))?.locale, 'fr');
      assert.equal((await stores.users.list()).find((x) => x.id === made.id)?.locale, 'fr');
    });
    it('usernames are unique', async () => {
      const u = user();
      await stores.users.put(u);
      await assert.rejects(stores.users.put(user({ username: u.username })));
    });
    it('create adds a new user and never replaces one (same username or same id)', async () => {
      const u = user();
      assert.equal(await stores.users.create(u), true);
      assert.deepEqual(await stores.users.get(u.id), u);
      const sameName = user({ username: u.username, passwordHash: 'other' });
      assert.equal(await stores.users.create(sameName), false);
      assert.equal(await stores.users.get(sameName.id), undefined);
      assert.equal(await stores.users.create({ ...u, username: uid('other'), passwordHash: 'other' }), false);
      assert.deepEqual(await stores.users.get(u.id), u);
      assert.deepEqual(await stores.users.findByUsername(u.username), u);
    });
    it('usernames are unique and found by their canonical form (RFC 8265): case, width and composition do not make a new name', async () => {
      const base = uid('bob');
      const u = user({ username: base.replace(/^bob/, 'Bob'), origin: 'signup' });
      assert.equal(await stores.users.create(u), true);
      for (const form of [base, base.toUpperCase(), base.replace(/^bob/, '\uFF42\uFF4F\uFF42')]) {
        assert.deepEqual(await stores.users.findByUsername(form), u, form);
        assert.equal(await stores.users.create(user({ username: form })), false, form);
        await assert.rejects(stores.users.put(user({ username: form })), Error, form);
      }
      const name = uid('josé');
      const composed = user({ username: name.normalize('NFC') });
      await stores.users.put(composed);
      assert.equal(await stores.users.create(user({ username: name.normalize('NFD') })), false);
      assert.deepEqual(await stores.users.findByUsername(name.normalize('NFD')), composed);
    });
    it('findConfusable finds a look-alike name (UTS #39 skeleton); listUnresolved lists rows without a canonical form', async () => {
      const tag = uid('x').replace(/[^a-z0-9]/g, '');
      const u = user({ username: `paypal${tag}` });
      await stores.users.put(u);
      assert.equal((await stores.users.findConfusable(`paypa1${tag}`))?.id, u.id);
      assert.equal((await stores.users.findConfusable(`\u0440aypal${tag}`))?.id, u.id);
      assert.equal(await stores.users.findConfusable(`paypal${tag}x`), undefined);
      assert.equal((await stores.users.findByCanonical(`PAYPAL${tag}`))?.id, u.id);
      assert.equal(await stores.users.findByCanonical(`paypa1${tag}`), undefined);
      assert.equal(
        (await stores.users.listUnresolved()).some((x) => x.id === u.id),
        false,
      );
    });
    it('50 parallel creations of one username: exactly one succeeds, and it is the stored one', async () => {
      const name = uid('race');
      const candidates = Array.from({ length: 50 }, (_, i) => user({ username: name, passwordHash: `hash-${i}` }));
      const results = await Promise.all(candidates.map((c) => stores.users.create(c)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = candidates[results.indexOf(true)]!;
      assert.deepEqual(await stores.users.findByUsername(name), winner);
    });
  });
}
