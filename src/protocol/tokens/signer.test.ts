import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import type { SigningAlg } from '../../config/config.ts';
import { importSigningKey, signJwt } from './signer.ts';

describe('signer: node:crypto signatures that jose verifies', () => {
  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA'] as SigningAlg[]) {
    it(alg, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      const key = importSigningKey('k1', alg, (await exportJWK(privateKey)) as Record<string, unknown>);
      const token = signJwt(key, 'at+jwt', { sub: 'alice', n: 1, s: 'é' });
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { algorithms: [alg], typ: 'at+jwt' });
      assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: 'k1' });
      assert.deepEqual(payload, { sub: 'alice', n: 1, s: 'é' });
      // A flipped payload bit fails verification.
      const [h, p, s] = token.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'mallory', n: 1, s: 'é' })).toString('base64url')}.${s}`;
      await assert.rejects(jwtVerify(forged, publicKey, { algorithms: [alg] }));
      assert.ok(p);
    });
  }
  it('refuses to verify with a key of another type', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const key = importSigningKey('k', 'ES256', (await exportJWK(es.privateKey)) as Record<string, unknown>);
    const other = await generateKeyPair('ES256');
    await assert.rejects(jwtVerify(signJwt(key, 'JWT', {}), other.publicKey));
    assert.ok(await importJWK(await exportJWK(es.publicKey), 'ES256'));
  });
});
