import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Branding, BrandingStore } from '../ports/branding.ts';
import { BRANDING_CACHE_MS, brandingCache, effectiveBrand } from './branding.ts';

const NO_ENV = {
  brandName: undefined,
  brandPrimaryColor: undefined,
  brandPrivacyUrl: undefined,
  brandTermsUrl: undefined,
  brandSupportUrl: undefined,
};

describe('effectiveBrand', () => {
  it("lays the stored branding over the environment's over Tessera's own", () => {
    assert.deepEqual(effectiveBrand(NO_ENV, undefined), { name: 'Tessera' });
    const env = { ...NO_ENV, brandName: 'Env', brandPrimaryColor: '#0b5394', brandTermsUrl: 'https://e/t' };
    assert.deepEqual(effectiveBrand(env, undefined), {
      name: 'Env',
      primaryColor: '#0b5394',
      primaryTextColor: '#ffffff',
      termsUrl: 'https://e/t',
    });
    assert.deepEqual(effectiveBrand(env, { name: 'Stored', primaryTextColor: '#ffffee' }), {
      name: 'Stored',
      primaryColor: '#0b5394',
      primaryTextColor: '#ffffee',
      termsUrl: 'https://e/t',
    });
  });
});

describe('brandingCache', () => {
  /** A store in memory that counts its reads (the cache's own behaviour is what is tested here). */
  function store(initial?: Branding) {
    let value = initial;
    const s = {
      reads: 0,
      async get() {
        s.reads++;
        return value ? { branding: value, updatedAt: 1 } : undefined;
      },
      async put(b: Branding) {
        value = b;
      },
      async logo() {
        return undefined;
      },
    };
    return s satisfies BrandingStore & { reads: number };
  }
  it('reads at most once per BRANDING_CACHE_MS, never making a page wait, and at once after a change here', async () => {
    let now = 0;
    const s = store({ name: 'A' });
    const cache = brandingCache(s, () => now);
    assert.equal(cache.current(), undefined, 'nothing read yet: the defaults');
    assert.deepEqual(await cache.read(), { name: 'A' });
    assert.equal(s.reads, 1);
    for (let i = 0; i < 10; i++) assert.deepEqual(cache.current(), { name: 'A' });
    assert.equal(s.reads, 1);
    await s.put({ name: 'B' });
    now += BRANDING_CACHE_MS;
    assert.deepEqual(cache.current(), { name: 'A' }, 'the old copy while the new one is read');
    assert.deepEqual(await cache.read(), { name: 'B' });
    await s.put({ name: 'C' });
    await cache.forget();
    assert.deepEqual(cache.current(), { name: 'C' });
  });
});
