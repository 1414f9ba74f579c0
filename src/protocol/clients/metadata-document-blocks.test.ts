// The blocks of metadata document clients as a process sees them (cached for the client cache TTL,
// changes made here seen at once, a failing store never read as "not blocked"), and the wrapped
// client store answering a blocked identifier without resolving its document. The SQL store:
// test/contract/client-blocks-contract.ts; over HTTP: test/integration/cimd-block.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientBlock, ClientBlockStore } from '../../ports/client-blocks.ts';
import type { ClientRecord, ClientStore } from '../../ports/clients.ts';
import { isSelfRegistered } from '../resources.ts';
import { blockedClient, MetadataDocumentBlocks } from './metadata-document-blocks.ts';
import { isMetadataDocumentClient, metadataDocumentClients } from './metadata-document.ts';

const URL_ID = 'https://agent.example.com/client.json';

/** A block store in a Map, counting reads of the whole list, failing while `down`. */
function memoryBlocks() {
  const rows = new Map<string, ClientBlock>();
  const state = { lists: 0, down: false };
  const store: ClientBlockStore = {
    has: async (id) => rows.has(id),
    list: async () => {
      state.lists++;
      if (state.down) throw new Error('database down');
      return [...rows.values()];
    },
    add: async (clientId, at) => !rows.has(clientId) && Boolean(rows.set(clientId, { clientId, blockedAt: at })),
    remove: async (id) => rows.delete(id),
  };
  return { rows, state, store };
}

describe('MetadataDocumentBlocks', () => {
  it('reads the whole list once per TTL; a change made elsewhere shows after it, one made here at once', async () => {
    const { rows, state, store } = memoryBlocks();
    let t = 1_000_000;
    const blocks = new MetadataDocumentBlocks(store, 30_000, () => t);
    assert.equal(await blocks.find(URL_ID), undefined);
    assert.equal(await blocks.find('https://b.example.com/c'), undefined);
    assert.equal(state.lists, 1, 'one read for any number of identifiers');
    rows.set(URL_ID, { clientId: URL_ID, blockedAt: 5 }); // the CLI, or another instance
    t += 29_999;
    assert.equal(await blocks.find(URL_ID), undefined, 'within the TTL');
    t += 1;
    assert.deepEqual(await blocks.find(URL_ID), { clientId: URL_ID, blockedAt: 5 });
    assert.equal(state.lists, 2);
    // Through this process's store: seen at once, both ways.
    await blocks.store.remove(URL_ID);
    assert.equal(await blocks.find(URL_ID), undefined);
    await blocks.store.add(URL_ID, 7);
    assert.deepEqual(await blocks.find(URL_ID), { clientId: URL_ID, blockedAt: 7 });
  });

  it('coalesces concurrent reads, and a failing store fails the lookup (then recovers)', async () => {
    const { state, store } = memoryBlocks();
    const blocks = new MetadataDocumentBlocks(store, 30_000);
    await Promise.all([blocks.find(URL_ID), blocks.find(URL_ID), blocks.find('https://x.example/y')]);
    assert.equal(state.lists, 1);
    const down = new MetadataDocumentBlocks(store, 30_000);
    state.down = true;
    await assert.rejects(down.find(URL_ID), /database down/);
    state.down = false;
    assert.equal(await down.find(URL_ID), undefined);
  });

  it('with a TTL of 0 reads the store every time', async () => {
    const { rows, state, store } = memoryBlocks();
    const blocks = new MetadataDocumentBlocks(store, 0);
    await blocks.find(URL_ID);
    rows.set(URL_ID, { clientId: URL_ID, blockedAt: 1 });
    assert.ok(await blocks.find(URL_ID));
    assert.equal(state.lists, 2);
  });
});

describe('blockedClient', () => {
  it('is disabled, a metadata document client under the self-registered rules, and can do nothing', () => {
    const c = blockedClient({ clientId: URL_ID, blockedAt: 42 });
    assert.equal(c.disabled, true);
    assert.equal(c.clientId, URL_ID);
    assert.equal(c.clientName, 'agent.example.com');
    assert.ok(isMetadataDocumentClient(c));
    assert.ok(isSelfRegistered(c));
    assert.deepEqual([c.redirectUris, c.postLogoutRedirectUris, c.grantTypes, c.scopes], [[], [], [], []]);
    assert.equal(c.secretHash, null);
    assert.equal(c.skipConsent, false);
    assert.deepEqual(Object.keys(c.metadata), ['registration'], 'no keys, no logout URIs');
    assert.notEqual(
      c.metadata.registration!.access_token_hash,
      blockedClient({ clientId: URL_ID, blockedAt: 42 }).metadata.registration!.access_token_hash,
    );
  });
});

describe('the wrapped client store and blocks', () => {
  const stored: ClientStore = {
    get: async () => undefined,
    list: async () => [],
    page: async () => ({ items: [] }),
    put: async () => {},
    delete: async () => false,
    markUsed: async () => false,
    deleteUnusedRegistrations: async () => [],
    replaceSecretHash: async () => false,
  };
  it('answers a blocked identifier with a disabled client and never resolves its document', async () => {
    const resolved: string[] = [];
    const documents = {
      enabled: true,
      resolve: async (url: string) => {
        resolved.push(url);
        return { clientId: url, disabled: false } as ClientRecord;
      },
    };
    const { store } = memoryBlocks();
    const blocks = new MetadataDocumentBlocks(store, 30_000);
    const clients = metadataDocumentClients(stored, documents, blocks);
    assert.equal((await clients.get(URL_ID))?.disabled, false);
    await blocks.store.add(URL_ID, 9);
    const blocked = await clients.get(URL_ID);
    assert.equal(blocked?.disabled, true);
    assert.equal(blocked?.createdAt, 9);
    assert.deepEqual(resolved, [URL_ID], 'no resolve while blocked');
    await assert.rejects(clients.put(blocked!), /never stored/);
    await blocks.store.remove(URL_ID);
    assert.equal((await clients.get(URL_ID))?.disabled, false);
    assert.deepEqual(resolved, [URL_ID, URL_ID]);
  });
});
