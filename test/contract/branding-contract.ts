/**
 * The BrandingStore contract (the deployment's branding and its logo, issue 18): call
 * brandingContract() inside a describe() with a getter for the Stores under test.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Stores } from '../../src/ports/index.ts';

export function brandingContract(stores: () => Stores, now: number): void {
  it('get is undefined until a branding is put; put replaces it whole', async () => {
    const store = stores().branding;
    assert.equal(await store.get(), undefined);
    assert.equal(await store.logo(), undefined);
    await store.put({ name: 'Acme ID', primaryColor: '#0a7', privacyUrl: 'https://acme.example/privacy' }, now);
    assert.deepEqual(await store.get(), {
      branding: { name: 'Acme ID', primaryColor: '#0a7', privacyUrl: 'https://acme.example/privacy' },
      updatedAt: now,
    });
    await store.put({ name: 'Acme Sign-in 東京' }, now + 1);
    assert.deepEqual(await store.get(), { branding: { name: 'Acme Sign-in 東京' }, updatedAt: now + 1 });
  });

  it('keeps the logo bytes exactly, keeps them when put leaves them out, and removes them with null', async () => {
    const store = stores().branding;
    const bytes = new Uint8Array(256 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    const logo = { type: 'image/png', size: bytes.length, sha256: 'abc' };
    await store.put({ name: 'Acme', logo }, now + 2, bytes);
    assert.deepEqual(await store.logo(), bytes);
    await store.put({ name: 'Acme 2', logo }, now + 3);
    assert.deepEqual(await store.logo(), bytes, 'undefined keeps the bytes');
    assert.deepEqual((await store.get())?.branding, { name: 'Acme 2', logo });
    await store.put({ name: 'Acme 3' }, now + 4, null);
    assert.equal(await store.logo(), undefined);
    assert.deepEqual(await store.get(), { branding: { name: 'Acme 3' }, updatedAt: now + 4 });
  });

  it('a put inside a transaction that fails is undone', async () => {
    const before = await stores().branding.get();
    await assert.rejects(
      stores().transaction(async (tx) => {
        await tx.branding.put({ name: 'never' }, now + 9, new Uint8Array([1, 2, 3]));
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.deepEqual(await stores().branding.get(), before);
    assert.equal(await stores().branding.logo(), undefined);
  });
}
