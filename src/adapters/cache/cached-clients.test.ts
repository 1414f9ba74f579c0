import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ClientRecord, ClientStore } from '../../ports/clients.ts';
import { cachedClients } from './cached-clients.ts';

const record = (id: string, name = id) => ({ clientId: id, clientName: name }) as ClientRecord;

function countingStore(): ClientStore & { reads: number; data: Map<string, ClientRecord> } {
  const data = new Map<string, ClientRecord>();
  const s = {
    reads: 0,
    data,
    async get(id: string) {
      s.reads++;
      return data.get(id);
    },
    async list() {
      return [...data.values()];
    },
    async page() {
      return { items: [...data.values()] };
    },
    async put(c: ClientRecord) {
      data.set(c.clientId, c);
    },
    async delete(id: string) {
      return data.delete(id);
    },
    async replaceSecretHash(id: string, from: string, to: string) {
      const c = data.get(id);
      if (c?.secretHash !== from) return false;
      data.set(id, { ...c, secretHash: to });
      return true;
    },
    async markUsed(id: string, at: number) {
      const c = data.get(id);
      if (!c || c.firstUsedAt !== undefined) return false;
      data.set(id, { ...c, firstUsedAt: at });
      return true;
    },
    async deleteUnusedRegistrations() {
      const gone = [...data.values()].filter((c) => c.firstUsedAt === undefined).map((c) => c.clientId);
      for (const id of gone) data.delete(id);
      return gone;
    },
  };
  return s;
}

it('serves repeated reads from memory until the TTL passes', async () => {
  let t = 0;
  const inner = countingStore();
  inner.data.set('a', record('a'));
  const c = cachedClients(inner, 1000, () => t);
  await c.get('a');
  await c.get('a');
  assert.equal(inner.reads, 1);
  inner.data.set('a', record('a', 'renamed elsewhere'));
  t = 999;
  assert.equal((await c.get('a'))!.clientName, 'a');
  t = 1000;
  assert.equal((await c.get('a'))!.clientName, 'renamed elsewhere');
});

it('shows its own changes and deletions at once, and never caches a miss', async () => {
  const inner = countingStore();
  const c = cachedClients(inner, 60_000, () => 0);
  assert.equal(await c.get('b'), undefined);
  await c.put(record('b'));
  assert.equal((await c.get('b'))!.clientId, 'b');
  await c.put(record('b', 'new name'));
  assert.equal((await c.get('b'))!.clientName, 'new name');
  await c.delete('b');
  assert.equal(await c.get('b'), undefined);
});

it('is bounded', async () => {
  const inner = countingStore();
  for (let i = 0; i < 5; i++) inner.data.set(`c${i}`, record(`c${i}`));
  const c = cachedClients(inner, 60_000, () => 0, 3);
  for (let i = 0; i < 5; i++) await c.get(`c${i}`);
  const before = inner.reads;
  await c.get('c0');
  assert.equal(inner.reads, before + 1);
});

it('a first use marked through the cache shows in the cached record; a swept client leaves the cache', async () => {
  const inner = countingStore();
  inner.data.set('a', record('a'));
  inner.data.set('b', record('b'));
  const c = cachedClients(inner, 1000, () => 0);
  assert.equal((await c.get('a'))?.firstUsedAt, undefined);
  assert.equal(await c.markUsed('a', 42), true);
  assert.equal((await c.get('a'))?.firstUsedAt, 42);
  assert.equal(await c.markUsed('a', 43), false);
  assert.equal(inner.reads, 1);
  await c.get('b');
  assert.deepEqual(await c.deleteUnusedRegistrations(100, 10), ['b']);
  assert.equal(await c.get('b'), undefined);
});
