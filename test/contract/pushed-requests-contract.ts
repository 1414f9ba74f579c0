/**
 * The contract of the pushed authorization request store (ports/pushed-requests.ts).
 * stores.test.ts declares it for every SQL backend (backends.ts), with `stores` the open backend's
 * stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushedRequestRecord, Stores } from '../../src/ports/index.ts';
import { NOW, uid, times } from './factories.ts';

export function pushedRequestsContract(stores: Stores): void {
  describe('pushed authorization requests', () => {
    const pushed = (over: Partial<PushedRequestRecord> = {}): PushedRequestRecord => ({
      uriHash: uid('par'),
      clientId: 'c1',
      params: { client_id: 'c1', scope: 'openid', dpop_jkt: 'x'.repeat(43) },
      createdAt: NOW,
      expiresAt: NOW + 60,
      ...over,
    });
    it('consume: returns the request once, to its own client only, until it expires', async () => {
      const r = pushed();
      await stores.pushedRequests.create(r);
      assert.equal(await stores.pushedRequests.consume(r.uriHash, 'another-client', NOW), undefined);
      assert.deepEqual(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), r);
      assert.equal(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), undefined);
      const old = pushed({ expiresAt: NOW + 5 });
      await stores.pushedRequests.create(old);
      assert.equal(await stores.pushedRequests.consume(old.uriHash, 'c1', NOW + 5), undefined);
      assert.equal(await stores.pushedRequests.consume(uid('par'), 'c1', NOW), undefined);
    });
    it('50 concurrent consumes of one request_uri: exactly one gets it', async () => {
      const r = pushed();
      await stores.pushedRequests.create(r);
      const results = await times(50, () => stores.pushedRequests.consume(r.uriHash, 'c1', NOW));
      assert.equal(results.filter(Boolean).length, 1);
    });
    it('cleanup deletes expired requests', async () => {
      const r = pushed({ expiresAt: NOW + 7 });
      await stores.pushedRequests.create(r);
      assert.ok((await stores.cleanup(NOW + 7)) >= 1);
      assert.equal(await stores.pushedRequests.consume(r.uriHash, 'c1', NOW), undefined);
    });
  });
}
