/**
 * The contract of the counter store (ports/counters.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW } from './factories.ts';

export function countersContract(stores: Stores): void {
  describe('counters', () => {
    it('counts atomically: 50 parallel hits give 50, each seeing a distinct count', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => stores.counters.hit('k-parallel', NOW, 60)));
      assert.deepEqual(
        results.map((r) => r.count).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal((await stores.counters.get('k-parallel', NOW))!.count, 50);
    });
    it('restarts once idle past its window, and resets on demand', async () => {
      await stores.counters.hit('k-idle', NOW, 60);
      assert.equal((await stores.counters.hit('k-idle', NOW + 30, 60)).count, 2);
      assert.deepEqual(await stores.counters.hit('k-idle', NOW + 30 + 60, 60), {
        count: 1,
        lastAt: NOW + 90,
        expiresAt: NOW + 150,
      });
      assert.equal(await stores.counters.get('k-idle', NOW + 150), undefined);
      await stores.counters.reset('k-idle');
      assert.equal(await stores.counters.get('k-idle', NOW), undefined);
    });
    it('resetPrefix removes the counters whose key starts with the prefix, and no other ("_" and "%" are plain characters)', async () => {
      for (const k of ['unlock:a_b:1', 'unlock:a_b:2', 'unlock:a_b', 'unlock:axb:1', 'unlock:a%b:1', 'unlock:a_c'])
        await stores.counters.hit(k, NOW, 60);
      assert.equal(await stores.counters.resetPrefix('unlock:a_b:'), 2);
      assert.equal(await stores.counters.get('unlock:a_b:1', NOW), undefined);
      for (const k of ['unlock:a_b', 'unlock:axb:1', 'unlock:a%b:1', 'unlock:a_c'])
        assert.equal((await stores.counters.get(k, NOW))?.count, 1, k);
      assert.equal(await stores.counters.resetPrefix('unlock:a%'), 1);
      assert.equal(await stores.counters.resetPrefix('unlock:nothing:'), 0);
    });
  });
}
