/**
 * The contract of the signing key store (ports/keys.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, times, key } from './factories.ts';

export function keysContract(stores: Stores): void {
  describe('signing keys', () => {
    const retireAll = async () => {
      for (const k of await stores.keys.list())
        if (k.state === 'active') await stores.keys.setState(k.kid, 'retired', NOW);
    };
    it('insert/list round-trip; only one active key', async () => {
      await retireAll();
      const first = key({ createdAt: NOW - 10 });
      assert.equal(await stores.keys.insert(first, true), true);
      assert.equal(await stores.keys.insert(key(), true), false);
      await assert.rejects(stores.keys.insert(key(), false)); // the database itself refuses a second active key
      const retired = key({ state: 'retired', retiredAt: NOW - 1 });
      assert.equal(await stores.keys.insert(retired, false), true);
      const listed = await stores.keys.list();
      assert.deepEqual(
        listed.find((k) => k.kid === first.kid),
        first,
      );
      assert.deepEqual(
        listed.find((k) => k.kid === retired.kid),
        retired,
      );
      assert.equal(listed.filter((k) => k.state === 'active').length, 1);
    });
    it('setState: retire the old key, then activate the new one', async () => {
      await retireAll();
      const old = key();
      const fresh = key({ state: 'retired' });
      await stores.keys.insert(old, true);
      await stores.keys.insert(fresh, false);
      await stores.keys.setState(old.kid, 'retired', NOW + 5);
      await stores.keys.setState(fresh.kid, 'active', NOW + 5);
      const listed = await stores.keys.list();
      assert.deepEqual(
        listed.find((k) => k.kid === old.kid),
        { ...old, state: 'retired', retiredAt: NOW + 5 },
      );
      assert.deepEqual(
        listed.find((k) => k.kid === fresh.kid),
        { ...fresh, state: 'active', retiredAt: null },
      );
    });
    it('rotate: the active key goes to grace, the new one becomes active; 10 concurrent rotations give exactly one', async () => {
      await retireAll();
      const current = key();
      await stores.keys.insert(current, true);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => stores.keys.rotate(current.kid, key(), NOW + 600)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const listed = await stores.keys.list();
      assert.deepEqual(
        listed.find((k) => k.kid === current.kid),
        { ...current, state: 'grace', retiredAt: NOW + 600 },
      );
      assert.equal(listed.filter((k) => k.state === 'active').length, 1);
      assert.equal(await stores.keys.rotate(current.kid, key(), NOW + 600), false); // no longer the active key
    });
    const retireOthers = async () => {
      for (const k of await stores.keys.list())
        if (k.state !== 'retired' && k.state !== 'active') await stores.keys.setState(k.kid, 'retired', NOW);
    };
    it('prepublish: stores one prepublished key; 20 concurrent prepublishes give exactly one', async () => {
      await retireAll();
      await retireOthers();
      const active = key({ activatesAt: NOW - 100 });
      await stores.keys.insert(active, true);
      const candidates = Array.from({ length: 20 }, () => key({ state: 'prepublished', activatesAt: NOW + 3600 }));
      const results = await Promise.all(candidates.map((k) => stores.keys.prepublish(k)));
      assert.equal(results.filter(Boolean).length, 1);
      const listed = await stores.keys.list();
      const pre = listed.filter((k) => k.state === 'prepublished');
      assert.equal(pre.length, 1);
      assert.deepEqual(pre[0], candidates[results.indexOf(true)]);
      assert.deepEqual(
        listed.find((k) => k.kid === active.kid),
        active,
      ); // the active key is untouched
      assert.equal(await stores.keys.prepublish(key({ state: 'prepublished' })), false);
    });
    it('promote: 20 concurrent promotions give exactly one; the old key goes to grace, the prepublished one becomes active', async () => {
      await retireAll();
      await retireOthers();
      const active = key();
      const pre = key({ state: 'prepublished', activatesAt: NOW + 50 });
      await stores.keys.insert(active, true);
      assert.equal(await stores.keys.prepublish(pre), true);
      const results = await times(20, () => stores.keys.promote(active.kid, pre.kid, NOW + 900, NOW + 60));
      assert.equal(results.filter(Boolean).length, 1);
      const listed = await stores.keys.list();
      assert.deepEqual(
        listed.find((k) => k.kid === active.kid),
        { ...active, state: 'grace', retiredAt: NOW + 900 },
      );
      assert.deepEqual(
        listed.find((k) => k.kid === pre.kid),
        { ...pre, state: 'active', activatesAt: NOW + 60 },
      );
      assert.equal(listed.filter((k) => k.state === 'active').length, 1);
      assert.equal(listed.filter((k) => k.state === 'prepublished').length, 0);
    });
    it('promote changes nothing when the prepublished key is gone (rolled back) or the active key moved on', async () => {
      await retireAll();
      await retireOthers();
      const active = key();
      await stores.keys.insert(active, true);
      assert.equal(await stores.keys.promote(active.kid, uid('missing'), NOW + 900, NOW), false);
      // the first update was rolled back
      assert.equal((await stores.keys.list()).find((k) => k.kid === active.kid)!.state, 'active');
      const pre = key({ state: 'prepublished', activatesAt: NOW });
      await stores.keys.prepublish(pre);
      assert.equal(await stores.keys.promote(uid('not-active'), pre.kid, NOW + 900, NOW), false);
      assert.equal((await stores.keys.list()).find((k) => k.kid === pre.kid)!.state, 'prepublished');
    });
    it('retire: scheduled retirement only after the grace end; 20 concurrent retirements give exactly one', async () => {
      await retireAll();
      await retireOthers();
      const graced = key({ state: 'grace', retiredAt: NOW + 100 });
      await stores.keys.insert(graced, false);
      assert.equal(await stores.keys.retire(graced.kid, NOW + 99, { early: false }), false); // not yet
      const results = await times(20, () => stores.keys.retire(graced.kid, NOW + 100, { early: false }));
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(
        (await stores.keys.list()).find((k) => k.kid === graced.kid),
        { ...graced, state: 'retired', retiredAt: NOW + 100 },
      );
      const active = key();
      await stores.keys.insert(active, true);
      assert.equal(await stores.keys.retire(active.kid, NOW, { early: true }), false); // never the active key
      const pre = key({ state: 'prepublished', activatesAt: NOW + 10 });
      await stores.keys.prepublish(pre);
      // the schedule retires only grace keys
      assert.equal(await stores.keys.retire(pre.kid, NOW + 1, { early: false }), false);
      assert.equal(await stores.keys.retire(pre.kid, NOW + 1, { early: true }), true);
      assert.equal((await stores.keys.list()).find((k) => k.kid === pre.kid)!.state, 'retired');
    });
    it('rewrap: replaces the wrapped key only if unchanged; 20 concurrent rewraps of one key give exactly one', async () => {
      const k = key({ state: 'retired', retiredAt: NOW });
      await stores.keys.insert(k, false);
      const results = await times(20, (i) => stores.keys.rewrap(k.kid, k.privateJwe, `rewrapped-${i}`));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(
        (await stores.keys.list()).find((x) => x.kid === k.kid)!.privateJwe,
        `rewrapped-${results.indexOf(true)}`,
      );
      assert.equal(await stores.keys.rewrap(k.kid, k.privateJwe, 'again'), false);
      assert.equal(await stores.keys.rewrap(uid('missing'), 'x', 'y'), false);
    });
    it('per algorithm: one active and one prepublished key of each; 20-way races on each transition give one per algorithm', async () => {
      const retireEvery = async () => {
        for (const k of await stores.keys.list())
          if (k.state !== 'retired') await stores.keys.setState(k.kid, 'retired', NOW);
      };
      await retireEvery();
      const ALGS = ['ES256', 'RS256'];
      // Start-up on several processes at once: one active key per algorithm.
      const inserted = await times(20, (i) => stores.keys.insert(key({ alg: ALGS[i % 2]! }), true));
      assert.equal(inserted.filter(Boolean).length, 2);
      const active = Object.fromEntries(
        (await stores.keys.list()).filter((k) => k.state === 'active').map((k) => [k.alg, k]),
      );
      assert.deepEqual(Object.keys(active).sort(), ALGS);
      // the database refuses a second active RS256 key
      await assert.rejects(stores.keys.insert(key({ alg: 'RS256' }), false));
      // Prepublish: 20 candidates per algorithm, racing together: one each.
      const candidates = Array.from({ length: 40 }, (_, i) =>
        key({ alg: ALGS[i % 2]!, state: 'prepublished', activatesAt: NOW + 3600 }),
      );
      const pre = await Promise.all(candidates.map((k) => stores.keys.prepublish(k)));
      assert.deepEqual(
        ALGS.map((a) => candidates.filter((k, i) => pre[i] && k.alg === a).length),
        [1, 1],
      );
      const prepublished = Object.fromEntries(
        (await stores.keys.list()).filter((k) => k.state === 'prepublished').map((k) => [k.alg, k]),
      );
      assert.deepEqual(Object.keys(prepublished).sort(), ALGS);
      // A prepublished key never takes the place of another algorithm's active key.
      assert.equal(await stores.keys.promote(active.ES256!.kid, prepublished.RS256!.kid, NOW + 900, NOW), false);
      assert.equal(await stores.keys.rotate(active.ES256!.kid, key({ alg: 'RS256' }), NOW + 900), false);
      assert.equal((await stores.keys.list()).find((k) => k.kid === active.ES256!.kid)!.state, 'active');
      // Promote: 20 racers per algorithm, all at once: one promotion each.
      const promoted = await times(40, (i) =>
        stores.keys.promote(active[ALGS[i % 2]!]!.kid, prepublished[ALGS[i % 2]!]!.kid, NOW + 900, NOW + 60),
      );
      assert.deepEqual(
        ALGS.map((_, a) => promoted.filter((r, i) => r && i % 2 === a).length),
        [1, 1],
      );
      const listed = await stores.keys.list();
      for (const a of ALGS) {
        assert.deepEqual(
          listed.filter((k) => k.state === 'active' && k.alg === a).map((k) => k.kid),
          [prepublished[a]!.kid],
        );
        assert.equal(listed.find((k) => k.kid === active[a]!.kid)!.state, 'grace');
      }
      // Rotate: 20 racers per algorithm: one rotation each, the other algorithm's key untouched.
      const rotated = await times(40, (i) =>
        stores.keys.rotate(prepublished[ALGS[i % 2]!]!.kid, key({ alg: ALGS[i % 2]! }), NOW + 900),
      );
      assert.deepEqual(
        ALGS.map((_, a) => rotated.filter((r, i) => r && i % 2 === a).length),
        [1, 1],
      );
      assert.deepEqual(
        (await stores.keys.list())
          .filter((k) => k.state === 'active')
          .map((k) => k.alg)
          .sort(),
        ALGS,
      );
      // Demote (an algorithm taken out of the configuration): 20 racers, one; the key goes to grace.
      const rsActive = (await stores.keys.list()).find((k) => k.state === 'active' && k.alg === 'RS256')!;
      const demoted = await times(20, () => stores.keys.demote(rsActive.kid, NOW + 900));
      assert.equal(demoted.filter(Boolean).length, 1);
      assert.deepEqual(
        (await stores.keys.list()).find((k) => k.kid === rsActive.kid),
        { ...rsActive, state: 'grace', retiredAt: NOW + 900 },
      );
      assert.deepEqual(
        (await stores.keys.list()).filter((k) => k.state === 'active').map((k) => k.alg),
        ['ES256'],
      );
      await retireEvery();
    });
    it('10 concurrent insert(…, true): exactly one succeeds', async () => {
      await retireAll();
      const results = await times(10, () => stores.keys.insert(key(), true));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await stores.keys.list()).filter((k) => k.state === 'active').length, 1);
    });
  });
}
