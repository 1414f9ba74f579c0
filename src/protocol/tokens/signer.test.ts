import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import type { SigningAlg } from '../../config/config.ts';
import { derToJose, importSigningKey, signJwt } from './signer.ts';

describe('signer: node:crypto signatures that jose verifies', () => {
  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA'] as SigningAlg[]) {
    it(alg, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg, {
        extractable: true,
        ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
      });
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
  it('payloads larger than the reused scratch room, between small ones, all verify', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = importSigningKey('k', 'ES256', (await exportJWK(privateKey)) as Record<string, unknown>);
    for (const size of [10, 20_000, 5, 100_000, 7]) {
      const claims = { big: 'é'.repeat(size), n: size };
      const { payload } = await jwtVerify(signJwt(key, 'JWT', claims), publicKey, { algorithms: ['ES256'] });
      assert.deepEqual(payload, claims);
    }
  });
  it('ES256 signatures of every length convert to valid JWS signatures', async () => {
    // About 1 in 128 ECDSA signatures has an r or s shorter than 32 bytes or a leading zero
    // byte in DER; 1500 signatures cover both cases with near certainty.
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = importSigningKey('k', 'ES256', (await exportJWK(privateKey)) as Record<string, unknown>);
    for (let i = 0; i < 1500; i++) {
      const token = signJwt(key, 'JWT', { i });
      assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 64);
      await jwtVerify(token, publicKey, { algorithms: ['ES256'] });
    }
  });
  it('derToJose pads short integers and strips sign bytes', () => {
    const r = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(31, 1)]); // 33 bytes, leading zero
    const sPart = Buffer.alloc(30, 2); // 30 bytes, needs two bytes of padding
    const der = Buffer.concat([
      Buffer.from([0x30, 2 + r.length + 2 + sPart.length, 0x02, r.length]),
      r,
      Buffer.from([0x02, sPart.length]),
      sPart,
    ]);
    const raw = derToJose(der, 32);
    assert.deepEqual(raw.subarray(0, 32), r.subarray(1));
    assert.deepEqual(raw.subarray(32), Buffer.concat([Buffer.alloc(2), sPart]));
    assert.throws(() => derToJose(Buffer.from([0x31, 0x00]), 32));
  });
  it('refuses to verify with a key of another type', async () => {
    const es = await generateKeyPair('ES256', { extractable: true });
    const key = importSigningKey('k', 'ES256', (await exportJWK(es.privateKey)) as Record<string, unknown>);
    const other = await generateKeyPair('ES256');
    await assert.rejects(jwtVerify(signJwt(key, 'JWT', {}), other.publicKey));
    assert.ok(await importJWK(await exportJWK(es.publicKey), 'ES256'));
  });
});
