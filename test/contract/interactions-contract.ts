/**
 * The contract of the interaction store (ports/interactions.ts). stores.test.ts declares it for
 * every SQL backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, times, interaction } from './factories.ts';

export function interactionsContract(stores: Stores): void {
  describe('interactions', () => {
    it('create/get/setLogin round-trip', async () => {
      const i = interaction();
      await stores.interactions.create(i);
      assert.deepEqual(await stores.interactions.get(i.uid), i);
      await stores.interactions.setLogin(i.uid, 'sess-hash', NOW + 3);
      assert.deepEqual(await stores.interactions.get(i.uid), { ...i, sessionIdHash: 'sess-hash', loginAt: NOW + 3 });
      assert.equal(await stores.interactions.get(uid('none')), undefined);
    });
    it('consume returns it once, then undefined', async () => {
      const i = interaction();
      await stores.interactions.create(i);
      assert.deepEqual(await stores.interactions.consume(i.uid), i);
      assert.equal(await stores.interactions.consume(i.uid), undefined);
      assert.equal(await stores.interactions.get(i.uid), undefined);
    });
    it('consume is atomic under concurrency (8 callers, one winner)', async () => {
      const i = interaction();
      await stores.interactions.create(i);
      const results = await times(8, () => stores.interactions.consume(i.uid));
      assert.equal(results.filter((r) => r !== undefined).length, 1);
    });
  });
}
