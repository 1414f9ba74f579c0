/**
 * The ResourceServerStore contract (the registry of resource servers): call
 * resourceServersContract() inside a describe() with a getter for the store under test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { ResourceServerRecord, ResourceServerStore } from '../../src/ports/resource-servers.ts';

export function resourceServersContract(store: () => ResourceServerStore, now: number): void {
  const record = (over: Partial<ResourceServerRecord> = {}): ResourceServerRecord => ({
    identifier: `https://${randomUUID()}.example.com/api`,
    displayName: 'Orders — API',
    scopes: [
      { name: 'orders:read', description: 'See your orders' },
      { name: 'b', description: 'ß ✓' },
    ],
    accessTokenTtl: 300,
    signingAlg: 'ES256',
    dpop: 'required',
    createdAt: now,
    updatedAt: now,
    ...over,
  });

  it('put, get, list and delete keep every field as it was', async () => {
    const r = record();
    await store().put(r);
    assert.deepEqual(await store().get(r.identifier), r);
    const nulls = record({ accessTokenTtl: null, signingAlg: null, dpop: 'optional', scopes: [] });
    await store().put(nulls);
    assert.deepEqual(await store().get(nulls.identifier), nulls);
    const listed = await store().list();
    assert.ok(
      listed.some((x) => x.identifier === r.identifier) && listed.some((x) => x.identifier === nulls.identifier),
    );
    assert.deepEqual(
      listed.map((x) => x.identifier),
      [...listed.map((x) => x.identifier)].sort(),
      'ordered by identifier',
    );
    assert.equal(await store().get(`https://${randomUUID()}.example.com/`), undefined);
    assert.equal(await store().delete(r.identifier), true);
    assert.equal(await store().delete(r.identifier), false);
    assert.equal(await store().get(r.identifier), undefined);
  });

  it('keeps a scope description per language as given, beside plain texts (issue 18)', async () => {
    const r = record({
      scopes: [
        {
          name: 'orders:read',
          description: { en: 'See your orders', de: 'Ihre Bestellungen sehen', fr: 'Voir vos commandes' },
        },
        {
          name: 'orders:write',
          description: { en: 'Place orders', fr: 'Passer des commandes' },
          parent: 'orders:read',
        },
        { name: 'plain', description: 'Plain English' },
      ],
    });
    await store().put(r);
    assert.deepEqual(await store().get(r.identifier), r);
  });

  it('put replaces an existing resource in place, keeping its creation time; concurrent puts leave one row', async () => {
    const r = record();
    await store().put(r);
    await store().put({ ...r, displayName: 'Renamed', dpop: 'optional', createdAt: now + 50, updatedAt: now + 50 });
    assert.deepEqual(await store().get(r.identifier), {
      ...r,
      displayName: 'Renamed',
      dpop: 'optional',
      updatedAt: now + 50,
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store().put({ ...r, displayName: `n${i}`, updatedAt: now + i })),
    );
    assert.equal((await store().list()).filter((x) => x.identifier === r.identifier).length, 1);
  });

  it('keeps the scope hierarchy (a parent per scope, none when absent) and the order of the scopes', async () => {
    const r = record({
      scopes: [
        { name: 'files', description: 'Your files' },
        { name: 'files:read', description: 'Read your files', parent: 'files' },
        { name: 'files:read:meta', description: 'See file names', parent: 'files:read' },
        { name: 'other', description: 'Other' },
      ],
    });
    await store().put(r);
    const got = await store().get(r.identifier);
    assert.deepEqual(got, r);
    assert.ok(!('parent' in got!.scopes[0]!) && !('parent' in got!.scopes[3]!));
    assert.deepEqual((await store().list()).find((x) => x.identifier === r.identifier)?.scopes, r.scopes);
  });

  it('identifiers compare exactly: another spelling (case of the path, a trailing slash) is another key', async () => {
    const id = `https://${randomUUID()}.example.com/Api`;
    await store().put(record({ identifier: id }));
    assert.ok(await store().get(id));
    for (const other of [id.toLowerCase(), `${id}/`, id.replace('https:', 'HTTPS:')])
      assert.equal(await store().get(other), undefined, other);
    assert.equal(await store().delete(`${id}/`), false);
    assert.ok(await store().get(id));
  });
}
