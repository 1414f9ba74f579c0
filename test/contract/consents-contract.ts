/**
 * The contract of the consent store (ports/consents.ts). stores.test.ts declares it for every SQL
 * backend (backends.ts), with `stores` the open backend's stores.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';
import { NOW, uid, times } from './factories.ts';

export function consentsContract(stores: Stores): void {
  describe('consents', () => {
    it('grant creates, merges scopes (union) and updates grantedAt', async () => {
      const userId = uid('user');
      const clientId = uid('client');
      assert.equal(await stores.consents.get(userId, clientId), undefined);
      await stores.consents.grant(userId, clientId, ['openid', 'profile'], NOW);
      assert.deepEqual(await stores.consents.get(userId, clientId), {
        userId,
        clientId,
        scopes: ['openid', 'profile'],
        resources: { '': ['openid', 'profile'] },
        grantedAt: NOW,
      });
      await stores.consents.grant(userId, clientId, ['profile', 'email'], NOW + 10);
      assert.deepEqual(await stores.consents.get(userId, clientId), {
        userId,
        clientId,
        scopes: ['openid', 'profile', 'email'],
        resources: { '': ['openid', 'profile', 'email'] },
        grantedAt: NOW + 10,
      });
    });
    it("grant remembers the scopes per resource (RFC 8707), merged per resource, the default audience under ''", async () => {
      const userId = uid('user');
      const clientId = uid('client');
      const [A, B] = ['https://a.example/', 'https://b.example/'];
      await stores.consents.grant(userId, clientId, ['openid', 'read'], NOW, [A]);
      assert.deepEqual(await stores.consents.get(userId, clientId), {
        userId,
        clientId,
        scopes: ['openid', 'read'],
        resources: { [A]: ['openid', 'read'] },
        grantedAt: NOW,
      });
      // Another resource with another scope: each resource keeps its own scopes (write is not consented at A).
      await stores.consents.grant(userId, clientId, ['openid', 'write'], NOW + 1, [B]);
      assert.deepEqual((await stores.consents.get(userId, clientId))!.resources, {
        [A]: ['openid', 'read'],
        [B]: ['openid', 'write'],
      });
      // No resource: the default audience.
      await stores.consents.grant(userId, clientId, ['email'], NOW + 2);
      assert.deepEqual((await stores.consents.get(userId, clientId))!.resources, {
        [A]: ['openid', 'read'],
        [B]: ['openid', 'write'],
        '': ['email'],
      });
      assert.deepEqual((await stores.consents.get(userId, clientId))!.scopes, ['openid', 'read', 'write', 'email']);
      // Concurrent grants to one resource lose nothing.
      await times(6, (i) => stores.consents.grant(userId, clientId, [`s${i}`], NOW + 3, [A, `https://r${i}.example/`]));
      const c = (await stores.consents.get(userId, clientId))!;
      assert.deepEqual([...c.resources[A]!].sort(), ['openid', 'read', 's0', 's1', 's2', 's3', 's4', 's5']);
      assert.equal(Object.keys(c.resources).length, 9);
    });
    it('concurrent grants lose no scope', async () => {
      const userId = uid('user');
      const clientId = uid('client');
      await times(8, (i) => stores.consents.grant(userId, clientId, [`scope${i}`, 'openid'], NOW));
      const c = await stores.consents.get(userId, clientId);
      assert.deepEqual([...c!.scopes].sort(), ['openid', ...Array.from({ length: 8 }, (_, i) => `scope${i}`)].sort());
    });
    it('listByUser and revoke', async () => {
      const userId = uid('user');
      const [a, b] = [uid('client'), uid('client')];
      await stores.consents.grant(userId, a, ['openid'], NOW);
      await stores.consents.grant(userId, b, ['email'], NOW);
      await stores.consents.grant(uid('user'), a, ['openid'], NOW);
      const listed = await stores.consents.listByUser(userId);
      assert.deepEqual(listed.map((c) => c.clientId).sort(), [a, b].sort());
      assert.equal(await stores.consents.revoke(userId, a), true);
      assert.equal(await stores.consents.revoke(userId, a), false);
      assert.deepEqual(
        (await stores.consents.listByUser(userId)).map((c) => c.clientId),
        [b],
      );
    });
  });
}
