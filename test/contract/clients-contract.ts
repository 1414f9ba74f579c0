/**
 * The contract of the client store (ports/clients.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, client, seedGrant } from './factories.ts';

export function clientsContract(stores: Stores): void {
  describe('clients', () => {
    it('replaceSecretHash changes only the hash, and only from the expected one (one of 10 racing wins)', async () => {
      const c = client({ secretHash: 'hmac:old', clientName: 'kept' });
      await stores.clients.put(c);
      assert.equal(await stores.clients.replaceSecretHash(c.clientId, 'hmac:other', 'hmac:new'), false);
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) => stores.clients.replaceSecretHash(c.clientId, 'hmac:old', `hmac:new${i}`)),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      const stored = (await stores.clients.get(c.clientId))!;
      assert.equal(stored.secretHash, `hmac:new${wins.indexOf(true)}`);
      assert.deepEqual({ ...stored, secretHash: c.secretHash }, c);
      assert.equal(await stores.clients.replaceSecretHash(uid('client'), 'hmac:old', 'hmac:x'), false);
    });
    it('put/get round-trips every field', async () => {
      const c = client({
        secretHash: null,
        tokenEndpointAuthMethod: 'none',
        applicationType: 'native',
        skipConsent: true,
        allowedResources: ['https://api.example/'],
      });
      await stores.clients.put(c);
      assert.deepEqual(await stores.clients.get(c.clientId), c);
      assert.equal(await stores.clients.get(uid('nope')), undefined);
      // An id no client can hold: unknown, not a storage error.
      assert.equal(await stores.clients.get(`${c.clientId}\u0000`), undefined);
    });
    it('put replaces the whole client; list includes it', async () => {
      const c = client();
      await stores.clients.put(c);
      const changed = {
        ...c,
        clientName: 'Renamed',
        redirectUris: ['https://new.example/cb'],
        disabled: true,
        updatedAt: NOW + 5,
      };
      await stores.clients.put(changed);
      assert.deepEqual(await stores.clients.get(c.clientId), changed);
      const listed = await stores.clients.list();
      assert.deepEqual(
        listed.find((x) => x.clientId === c.clientId),
        changed,
      );
      assert.equal(listed.filter((x) => x.clientId === c.clientId).length, 1);
    });
    it('delete removes the client, forgets its consents and revokes its grants', async () => {
      const c = client();
      await stores.clients.put(c);
      const { g, at } = await seedGrant(stores, { clientId: c.clientId });
      await stores.consents.grant(g.userId, c.clientId, ['openid'], NOW);
      assert.equal(await stores.clients.delete(c.clientId), true);
      assert.equal(await stores.clients.get(c.clientId), undefined);
      assert.equal(await stores.consents.get(g.userId, c.clientId), undefined);
      assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      assert.equal(await stores.clients.delete(c.clientId), false);
    });
    it('markUsed records the first token once; put keeps it, whatever the record put says', async () => {
      const c = client();
      await stores.clients.put(c);
      assert.equal((await stores.clients.get(c.clientId))!.firstUsedAt, undefined);
      const racing = await Promise.all(
        Array.from({ length: 5 }, (_, i) => stores.clients.markUsed(c.clientId, NOW + i)),
      );
      assert.equal(racing.filter(Boolean).length, 1);
      const first = (await stores.clients.get(c.clientId))!.firstUsedAt;
      assert.equal(first, NOW + racing.indexOf(true));
      assert.equal(await stores.clients.markUsed(c.clientId, NOW + 100), false);
      // A record read before the mark, put back (an update of its metadata), does not clear it.
      await stores.clients.put({ ...c, clientName: 'Renamed', updatedAt: NOW + 1 });
      const stored = (await stores.clients.get(c.clientId))!;
      assert.equal(stored.clientName, 'Renamed');
      assert.equal(stored.firstUsedAt, first);
      assert.deepEqual(
        (await stores.clients.list()).find((x) => x.clientId === c.clientId),
        stored,
      );
      assert.equal(await stores.clients.markUsed(uid('nope'), NOW), false);
    });
    it('deleteUnusedRegistrations deletes registered clients never used and unchanged since the cut-off, oldest first', async () => {
      // Times far before NOW, so the clients of other tests are never in reach.
      const base = 1_000 + Math.floor(Math.random() * 1_000_000) * 10;
      const registered = (at: number) =>
        client({ createdAt: at, updatedAt: at, metadata: { registration: { access_token_hash: 'h', mode: 'open' } } });
      const old1 = registered(base);
      const old2 = registered(base + 1);
      const old3 = registered(base + 2);
      const used = registered(base);
      // An operator-made client, even one whose metadata spells a registration member deeper down.
      const operator = client({
        createdAt: base + 4,
        updatedAt: base + 4,
        metadata: { jwks: { keys: [{ kty: 'EC', registration: { x: 1 } }] } },
      });
      const recent = registered(base + 9);
      for (const c of [old1, old2, old3, used, operator, recent]) await stores.clients.put(c);
      await stores.clients.markUsed(used.clientId, base + 1);
      const { g, at } = await seedGrant(stores, { clientId: old1.clientId });
      await stores.consents.grant(g.userId, old1.clientId, ['openid'], NOW);

      // At most `limit`, the oldest first.
      assert.deepEqual(await stores.clients.deleteUnusedRegistrations(base + 5, 1), [old1.clientId]);
      assert.equal(await stores.clients.get(old1.clientId), undefined);
      assert.equal(await stores.consents.get(g.userId, old1.clientId), undefined);
      assert.notEqual((await stores.grants.get(g.id))!.revokedAt, null);
      assert.equal(await stores.revocations.isAccessTokenRevoked(at.jti), true);
      // One marked used meanwhile stays.
      await stores.clients.markUsed(old3.clientId, base + 3);
      assert.deepEqual(await stores.clients.deleteUnusedRegistrations(base + 5, 100), [old2.clientId]);
      for (const kept of [old3, used, operator, recent])
        assert.ok(await stores.clients.get(kept.clientId), kept.clientId);
      // An update (RFC 7592, an operator's approval) restarts its time.
      await stores.clients.put({ ...recent, updatedAt: base + 20 });
      assert.deepEqual(await stores.clients.deleteUnusedRegistrations(base + 10, 100), []);
      assert.deepEqual(await stores.clients.deleteUnusedRegistrations(base + 20, 100), [recent.clientId]);
    });
  });
}
