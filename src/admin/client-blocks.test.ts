// Disabling and enabling clients, stored ones and Client ID Metadata Document clients (blocks), over
// real SQLite stores: what is revoked, in which order, what a failure half-way leaves, and that a
// metadata document client cannot be deleted. The HTTP side: test/integration/cimd-block.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { openStores } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { AdminError, deleteClient, saveClient, setClientDisabled, setMetadataDocumentBlocked } from './clients.ts';
import { saveUser } from './users.ts';

const NOW = 1_800_000_000;
const URL_ID = 'https://agent.example.com/client.json';
const config = loadConfig({
  TESSERA_ENV: 'development',
  TESSERA_ISSUER: 'http://localhost:4999',
  DATABASE_URL: 'sqlite::memory:',
});
const { stores, handle } = await openStores(config, { migrate: true });
after(() => handle.close());
const { user } = await saveUser(stores, { username: 'alice' }, NOW);

async function grant(clientId: string): Promise<string> {
  const id = randomUUID();
  await stores.grants.create(
    {
      id,
      clientId,
      userId: user.id,
      scope: 'openid',
      resource: null,
      sid: null,
      authTime: NOW,
      amr: ['pwd'],
      createdAt: NOW,
      expiresAt: NOW + 86_400,
      revokedAt: null,
    },
    {
      tokenHash: randomUUID(),
      grantId: id,
      clientId,
      scope: 'openid',
      createdAt: NOW,
      expiresAt: NOW + 3600,
      usedAt: null,
    },
    { jti: randomUUID(), expiresAt: NOW + 300 },
  );
  return id;
}
const revoked = async (id: string) => (await stores.grants.get(id))!.revokedAt !== null;
const accessToken = (clientId: string, iat: number) => ({ jti: randomUUID(), iat, client_id: clientId, sub: user.id });

describe('disabling a metadata document client (a block)', () => {
  it('revokes its grants, refuses its access tokens and blocks it, without any client stored', async () => {
    const [g1, g2] = [await grant(URL_ID), await grant(URL_ID)];
    const other = await grant('https://other.example.com/client.json');
    assert.deepEqual(await setMetadataDocumentBlocked(stores, URL_ID, true, NOW + 10), { revoked: 2, changed: true });
    assert.ok((await revoked(g1)) && (await revoked(g2)));
    assert.equal(await revoked(other), false, 'only that client');
    assert.equal(await stores.clientBlocks.has(URL_ID), true);
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(URL_ID, NOW + 5)), true);
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(URL_ID, NOW + 20)), true, 'while blocked: all');
    assert.equal(await stores.clients.get(URL_ID), undefined, 'nothing stored as a client');
    // setClientDisabled (the bootstrap, the admin API) does the same for an https id.
    const g3 = await grant(URL_ID);
    assert.equal(await setClientDisabled(stores, URL_ID, true, NOW + 11), 1);
    assert.ok(await revoked(g3));
    assert.deepEqual(await setMetadataDocumentBlocked(stores, URL_ID, true, NOW + 12), { revoked: 0, changed: false });
    assert.deepEqual(
      (await stores.clientBlocks.list()).find((b) => b.clientId === URL_ID),
      { clientId: URL_ID, blockedAt: NOW + 10 },
    );
  });

  it('enabling lifts the block; tokens issued before stay refused, later ones pass; an unblocked id is left alone', async () => {
    const stale = await grant(URL_ID);
    assert.deepEqual(await setMetadataDocumentBlocked(stores, URL_ID, false, NOW + 30), { revoked: 1, changed: true });
    assert.ok(await revoked(stale), 'a grant made while blocked (a stale cache elsewhere) is revoked');
    assert.equal(await stores.clientBlocks.has(URL_ID), false);
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(URL_ID, NOW + 30)), true);
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(URL_ID, NOW + 31)), false);
    // Enabling a client that is not blocked changes nothing: its live grants stay live.
    const live = await grant(URL_ID);
    assert.deepEqual(await setMetadataDocumentBlocked(stores, URL_ID, false, NOW + 40), { revoked: 0, changed: false });
    assert.equal(await revoked(live), false);
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(URL_ID, NOW + 35)), false);
  });

  it('a failure recording the block leaves the grants revoked and the tokens refused (revocation comes first)', async () => {
    const id = 'https://failing.example.com/client.json';
    const g = await grant(id);
    const failing: Stores = {
      ...stores,
      clientBlocks: {
        ...stores.clientBlocks,
        add: async () => {
          throw new Error('database down');
        },
      },
    };
    await assert.rejects(setClientDisabled(failing, id, true, NOW + 50), /database down/);
    assert.ok(await revoked(g));
    assert.equal(await stores.revocations.isTokenRevoked(accessToken(id, NOW + 40)), true);
  });

  it('refuses identifiers that can never be a metadata document client, and deletion', async () => {
    for (const bad of ['https://agent.example.com/', 'https://agent.example.com/a/../b', 'https://u@x.example/c'])
      await assert.rejects(setClientDisabled(stores, bad, true, NOW), AdminError);
    await assert.rejects(deleteClient(stores, URL_ID, NOW), /never stored.*client disable/);
    assert.equal(await stores.clientBlocks.has('https://agent.example.com/'), false);
  });
});

describe('disabling a stored client', () => {
  it('revokes its grants and refuses its tokens even when saving the client fails', async () => {
    await saveClient(stores, config, { client_id: 'web', redirect_uris: ['https://app.example/cb'] }, NOW);
    const g = await grant('web');
    const failing: Stores = {
      ...stores,
      clients: {
        ...stores.clients,
        put: async () => {
          throw new Error('database down');
        },
      },
    };
    await assert.rejects(setClientDisabled(failing, 'web', true, NOW + 1), /database down/);
    assert.ok(await revoked(g));
    assert.equal(await stores.revocations.isTokenRevoked(accessToken('web', NOW)), true);
    assert.equal(await setClientDisabled(stores, 'web', true, NOW + 2), 0);
    assert.equal((await stores.clients.get('web'))!.disabled, true);
    assert.equal(await stores.clientBlocks.has('web'), false, 'a stored client is not blocked, it is disabled');
    await deleteClient(stores, 'web', NOW + 3);
    await assert.rejects(deleteClient(stores, 'web', NOW + 3), /no client web/);
  });
});
