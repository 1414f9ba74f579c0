import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResourceServerRecord, ResourceServerStore } from '../ports/resource-servers.ts';
import {
  derivePairwiseKey,
  forgettingWrites,
  grantFactsCache,
  pairwiseKeys,
  protocolServices,
  REGISTRY_CACHE_MS,
  resourceRegistryCache,
} from './services.ts';

const resource = (identifier: string): ResourceServerRecord => ({
  identifier,
  displayName: identifier,
  scopes: [],
  accessTokenTtl: null,
  signingAlg: null,
  dpop: 'optional',
  createdAt: 0,
  updatedAt: 0,
});

/** A resource-server store in memory that counts its reads; `fail` makes the next read fail. */
function memoryStore() {
  const rows = new Map<string, ResourceServerRecord>();
  const store = {
    reads: 0,
    fail: false as boolean,
    get: async (id: string) => rows.get(id),
    async list() {
      store.reads++;
      if (store.fail) {
        store.fail = false;
        throw new Error('database down');
      }
      return [...rows.values()];
    },
    async put(r: ResourceServerRecord) {
      rows.set(r.identifier, r);
    },
    async delete(id: string) {
      return rows.delete(id);
    },
  } satisfies ResourceServerStore & { reads: number; fail: boolean };
  return store;
}

describe('protocol services', () => {
  it('pairwise keys: derived once per secret, the same key as a fresh derivation', () => {
    const keys = pairwiseKeys();
    const k = keys.keyFor('a-test-secret-of-at-least-32-bytes-long');
    assert.equal(keys.keyFor('a-test-secret-of-at-least-32-bytes-long'), k);
    assert.deepEqual(k, derivePairwiseKey('a-test-secret-of-at-least-32-bytes-long'));
    assert.notDeepEqual(keys.keyFor('another-secret-of-at-least-32-bytes-long'), k);
  });

  it("grant facts: kept until the token expires by the provider's clock, bounded", () => {
    let clock = 1000;
    const cache = grantFactsCache(() => clock, 2);
    cache.set('a', { userId: 'u', claims: null }, 1010);
    cache.set('none', null, 1010);
    assert.deepEqual(cache.get('a'), { userId: 'u', claims: null });
    assert.equal(cache.get('none'), null, 'a token without a grant is remembered as such');
    assert.equal(cache.get('other'), undefined);
    clock = 1010;
    assert.equal(cache.get('a'), undefined, 'expired');
    clock = 1000;
    cache.set('b', { userId: 'v', claims: null }, 1010);
    assert.equal(cache.get('a'), undefined, 'the oldest entry went first');
    assert.deepEqual(cache.get('b'), { userId: 'v', claims: null });
  });

  it("resource registry: one read per REGISTRY_CACHE_MS of the provider's clock, shared by callers", async () => {
    let clock = 1000;
    const store = memoryStore();
    await store.put(resource('https://a.example/'));
    const registry = resourceRegistryCache(store, () => clock);
    assert.equal(registry.ready(), undefined);
    const [one, two] = await Promise.all([registry.read(), registry.read()]);
    assert.equal(one, two);
    assert.equal(store.reads, 1);
    assert.equal(registry.ready(), one);
    assert.deepEqual([...one.keys()], ['https://a.example/']);
    clock += REGISTRY_CACHE_MS / 1000 - 1;
    assert.equal(await registry.read(), one);
    clock += 1;
    assert.equal(registry.ready(), undefined, 'stale');
    assert.notEqual(await registry.read(), one);
    assert.equal(store.reads, 2);
  });

  it('resource registry: a failed read is not kept, and writes through forgettingWrites are seen at once', async () => {
    const clock = 1000;
    const inner = memoryStore();
    const registry = resourceRegistryCache(inner, () => clock);
    const store = forgettingWrites(inner, registry);
    inner.fail = true;
    await assert.rejects(registry.read());
    assert.equal((await registry.read()).size, 0, 'read again after the failure');
    await store.put(resource('https://b.example/'));
    assert.deepEqual([...(await registry.read()).keys()], ['https://b.example/']);
    assert.equal(await store.delete('https://none.example/'), false);
    const before = inner.reads;
    await registry.read();
    assert.equal(inner.reads, before, 'nothing deleted, nothing forgotten');
    assert.equal(await store.delete('https://b.example/'), true);
    assert.equal((await registry.read()).size, 0);
  });

  it('protocolServices builds a fresh set per Provider', () => {
    const store = memoryStore();
    const a = protocolServices({ stores: { resourceServers: store }, now: () => 0 });
    const b = protocolServices({ stores: { resourceServers: store }, now: () => 0 });
    assert.notEqual(a.verifiedTokens, b.verifiedTokens);
    assert.notEqual(a.resourceRegistry, b.resourceRegistry);
  });
});
