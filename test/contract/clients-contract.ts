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
  });
}
