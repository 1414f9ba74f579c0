// Issue 20: an admin action's changes commit in one transaction over the app's stores
// (Stores.transaction). This process's caches must show what a transaction changed as soon as it
// has committed (a client's cached record, the resource registry copy), and never hold what a
// transaction wrote but did not commit. The server here caches client records for 5 minutes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { ResourceServerRecord } from '../../src/ports/index.ts';
import { backends, basic, form, testApp } from '../fixtures/app.ts';

class Refused extends Error {}

for (const backend of await backends()) {
  describe(`the app's stores in a transaction (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_CLIENT_CACHE_TTL: '300', TESSERA_RATE_LIMITING: 'false' });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });
    const cc = (scope?: string) =>
      form(
        app,
        '/token',
        { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
        { authorization: basic('svc') },
      );

    it('a client changed in a transaction is seen at once once it commits (the cached record dropped)', async () => {
      assert.equal((await cc()).statusCode, 200); // 'svc' is in the cache now
      const cached = (await app.stores.clients.get('svc'))!;
      await app.stores.transaction(async (tx) => {
        const current = (await tx.clients.get('svc'))!;
        await tx.clients.put({ ...current, disabled: true, clientName: 'Disabled in a transaction' });
        // Read outside meanwhile (PostgreSQL answers the committed record, which the cache then
        // keeps; SQLite waits for the commit): the commit must still show.
        if (backend.name === 'postgres') assert.equal((await app.stores.clients.get('svc'))!.disabled, false);
      });
      assert.equal((await app.stores.clients.get('svc'))!.clientName, 'Disabled in a transaction');
      const refused = await cc();
      assert.equal(refused.statusCode, 401, refused.body);
      await app.stores.transaction((tx) => tx.clients.put({ ...cached, updatedAt: cached.updatedAt + 1 }));
      assert.equal((await cc()).statusCode, 200);
    });

    it('a client written in a transaction that rolls back is never seen, neither from the cache', async () => {
      const before = (await app.stores.clients.get('svc'))!;
      await assert.rejects(
        app.stores.transaction(async (tx) => {
          await tx.clients.put({ ...before, clientName: 'Never committed' });
          // Read inside through the transaction's stores (never cached: it may not commit).
          assert.equal((await tx.clients.get('svc'))!.clientName, 'Never committed');
          // And through a nested transaction of them (the same wrapping).
          await tx.transaction(async (inner) =>
            assert.equal((await inner.clients.get('svc'))!.clientName, 'Never committed'),
          );
          throw new Refused('rolled back');
        }),
        Refused,
      );
      assert.equal((await app.stores.clients.get('svc'))!.clientName, before.clientName);
    });

    it('a resource server saved or deleted in a transaction is in the registry copy at once once it commits', async () => {
      const identifier = 'https://tx-api.example/';
      assert.equal((await app.provider.resourceRegistry.read()).has(identifier), false);
      const record: ResourceServerRecord = {
        identifier,
        displayName: 'Made in a transaction',
        scopes: [{ name: 'tx:read', description: 'Read' }],
        accessTokenTtl: null,
        signingAlg: null,
        dpop: 'optional',
        createdAt: 1,
        updatedAt: 1,
      };
      await app.stores.transaction(async (tx) => {
        await tx.resourceServers.put(record);
        // Read outside meanwhile on PostgreSQL: the registry copy made now lacks it; the commit drops that copy.
        if (backend.name === 'postgres')
          assert.equal((await app.provider.resourceRegistry.read()).has(identifier), false);
      });
      assert.equal((await app.provider.resourceRegistry.read()).get(identifier)?.displayName, record.displayName);
      await app.stores.transaction(async (tx) => assert.equal(await tx.resourceServers.delete(identifier), true));
      assert.equal((await app.provider.resourceRegistry.read()).has(identifier), false);
    });
  });
}
