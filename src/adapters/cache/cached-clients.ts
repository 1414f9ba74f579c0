import type { ClientRecord, ClientStore } from '../../ports/clients.ts';

/** The cached client store, and how to drop clients changed around it (in a transaction) from its cache. */
export type CachedClientStore = ClientStore & { forget(clientIds: Iterable<string>): void };

/**
 * A read-through cache in front of the client store: client records are read on every token,
 * introspection and revocation request but change rarely. Changes made through this instance
 * show at once; changes made elsewhere (the CLI, another instance) within `ttlMs`; changes made in a
 * transaction of this instance once it has committed and `forget` has been told of them
 * (clientWritesNoted).
 */
export function cachedClients(
  store: ClientStore,
  ttlMs: number,
  now: () => number = Date.now,
  maxEntries = 10_000,
): CachedClientStore {
  if (ttlMs <= 0) return { ...store, forget() {} };
  const cache = new Map<string, { client: ClientRecord; until: number }>();
  return {
    forget(clientIds) {
      for (const id of clientIds) cache.delete(id);
    },
    async get(clientId) {
      const hit = cache.get(clientId);
      const t = now();
      if (hit && hit.until > t) return hit.client;
      const client = await store.get(clientId);
      if (client) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
        cache.set(clientId, { client, until: t + ttlMs });
      } else {
        cache.delete(clientId);
      }
      return client;
    },
    list: () => store.list(),
    page: (q) => store.page(q),
    async put(client) {
      cache.delete(client.clientId);
      await store.put(client);
      cache.delete(client.clientId);
    },
    async replaceSecretHash(clientId, from, to) {
      cache.delete(clientId);
      const replaced = await store.replaceSecretHash(clientId, from, to);
      cache.delete(clientId);
      return replaced;
    },
    async delete(clientId) {
      cache.delete(clientId);
      const deleted = await store.delete(clientId);
      cache.delete(clientId);
      return deleted;
    },
    async markUsed(clientId, at) {
      const marked = await store.markUsed(clientId, at);
      // The cached record says so too, so this instance does not mark it again within the TTL.
      const hit = cache.get(clientId);
      if (hit && hit.client.firstUsedAt === undefined)
        cache.set(clientId, { client: { ...hit.client, firstUsedAt: at }, until: hit.until });
      return marked;
    },
    async deleteUnusedRegistrations(changedBefore, limit) {
      const deleted = await store.deleteUnusedRegistrations(changedBefore, limit);
      for (const id of deleted) cache.delete(id);
      return deleted;
    },
  };
}

/**
 * `store` (a transaction's, not cached: what it reads may never commit) telling `changed` of every
 * client it writes, so that the cache drops them once the transaction has ended (CachedClientStore.forget).
 */
export function clientWritesNoted(store: ClientStore, changed: (clientId: string) => void): ClientStore {
  return {
    get: (clientId) => store.get(clientId),
    list: () => store.list(),
    page: (q) => store.page(q),
    async put(client) {
      changed(client.clientId);
      await store.put(client);
    },
    async replaceSecretHash(clientId, from, to) {
      changed(clientId);
      return store.replaceSecretHash(clientId, from, to);
    },
    async delete(clientId) {
      changed(clientId);
      return store.delete(clientId);
    },
    async markUsed(clientId, at) {
      changed(clientId);
      return store.markUsed(clientId, at);
    },
    async deleteUnusedRegistrations(changedBefore, limit) {
      const deleted = await store.deleteUnusedRegistrations(changedBefore, limit);
      for (const id of deleted) changed(id);
      return deleted;
    },
  };
}
