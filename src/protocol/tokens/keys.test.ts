import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKey, unwrapPrivateJwk } from './keys.ts';

const KEK = 'k'.repeat(40);

describe('signing keys at rest', () => {
  it('wraps the private key with AES-256-GCM (compact JWE, dir) and unwraps it with the same KEK only', async () => {
    const rec = await generateSigningKey('ES256', KEK, 1);
    assert.equal(rec.privateJwe.split('.').length, 5);
    const header = JSON.parse(Buffer.from(rec.privateJwe.split('.')[0]!, 'base64url').toString());
    assert.deepEqual(header, { alg: 'dir', enc: 'A256GCM' });
    assert.ok(!JSON.stringify(rec.publicJwk).includes('"d"'));
    assert.ok(!rec.privateJwe.includes((await unwrapPrivateJwk(KEK, rec.privateJwe)).d as string));
    await assert.rejects(unwrapPrivateJwk('other'.repeat(10), rec.privateJwe));
  });
  it('generates every supported algorithm with kid, use and alg', async () => {
    for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA'] as const) {
      const rec = await generateSigningKey(alg, KEK, 1);
      assert.equal(rec.publicJwk.alg, alg);
      assert.equal(rec.publicJwk.use, 'sig');
      assert.equal(rec.publicJwk.kid, rec.kid);
    }
  });
});
