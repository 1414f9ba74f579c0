import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { publicKeyProblem } from './key-limits.ts';

const b64 = (b: Buffer) => b.toString('base64url');
/** A modulus of exactly `bits` bits (only its size matters here). */
function modulus(bits: number): string {
  const b = randomBytes(Math.ceil(bits / 8));
  const top = bits % 8 || 8;
  b[0] = (b[0]! & ((1 << top) - 1)) | (1 << (top - 1));
  return b64(b);
}
const jwkOf = (type: 'rsa' | 'ec' | 'ed25519' | 'ed448', opts: object = {}) =>
  generateKeyPairSync(type as 'rsa', opts as { modulusLength: number }).publicKey.export({ format: 'jwk' }) as Record<
    string,
    unknown
  >;

describe('public key limits', () => {
  it('accepts real RSA 2048/3072/4096 keys with e = 65537, EC P-256/P-384/P-521 and Ed25519/Ed448 keys', () => {
    for (const bits of [2048, 3072, 4096])
      assert.equal(publicKeyProblem(jwkOf('rsa', { modulusLength: bits })), undefined, `RSA ${bits}`);
    for (const namedCurve of ['P-256', 'P-384', 'P-521'])
      assert.equal(publicKeyProblem(jwkOf('ec', { namedCurve })), undefined, namedCurve);
    assert.equal(publicKeyProblem(jwkOf('ed25519')), undefined);
    assert.equal(publicKeyProblem(jwkOf('ed448')), undefined);
  });

  it('refuses RSA moduli outside 2048-4096 bits, by their real bit length', () => {
    assert.equal(publicKeyProblem({ kty: 'RSA', e: 'AQAB', n: modulus(2048) }), undefined);
    assert.equal(publicKeyProblem({ kty: 'RSA', e: 'AQAB', n: modulus(4096) }), undefined);
    // A leading zero byte does not make a small modulus larger.
    assert.equal(
      publicKeyProblem({
        kty: 'RSA',
        e: 'AQAB',
        n: b64(Buffer.concat([Buffer.from([0]), Buffer.from(modulus(4096), 'base64url')])),
      }),
      undefined,
    );
    for (const bits of [1024, 2047, 4097, 8192, 16384])
      assert.match(
        publicKeyProblem({ kty: 'RSA', e: 'AQAB', n: modulus(bits) })!,
        /modulus must be 2048 to 4096 bits/,
        `${bits}`,
      );
    assert.match(publicKeyProblem({ kty: 'RSA', e: 'AQAB', n: b64(Buffer.alloc(300)) })!, /modulus/);
    for (const n of [undefined, 42, 'not base64!', `${modulus(2048)}=`])
      assert.match(publicKeyProblem({ kty: 'RSA', e: 'AQAB', n })!, /modulus/);
  });

  it('refuses any RSA public exponent but 65537: e = 3, a huge e, e with leading zeros', () => {
    const n = modulus(2048);
    for (const e of ['Aw', 'AAEAAQ', b64(randomBytes(256)), b64(Buffer.from([1, 0, 0, 1])), undefined, 65537]) {
      assert.match(publicKeyProblem({ kty: 'RSA', n, e })!, /exponent must be 65537/, String(e).slice(0, 20));
    }
  });

  it('refuses EC keys off the named curves or with coordinates of the wrong length, and other key types', () => {
    const p256 = jwkOf('ec', { namedCurve: 'P-256' });
    assert.match(publicKeyProblem({ ...p256, crv: 'secp256k1' })!, /curve must be one of P-256, P-384, P-521/);
    assert.match(publicKeyProblem({ ...p256, crv: 'toString' })!, /curve must be/);
    assert.match(publicKeyProblem({ ...p256, crv: 'P-384' })!, /coordinates must be 48 bytes/);
    assert.match(publicKeyProblem({ ...p256, x: b64(randomBytes(4096)) })!, /coordinates/);
    assert.match(publicKeyProblem({ ...p256, y: undefined })!, /coordinates/);
    assert.match(publicKeyProblem({ kty: 'OKP', crv: 'X25519', x: b64(randomBytes(32)) })!, /OKP curve/);
    assert.match(publicKeyProblem({ kty: 'OKP', crv: 'Ed25519', x: b64(randomBytes(64)) })!, /32 bytes/);
    assert.match(publicKeyProblem({ kty: 'oct', k: 'c2VjcmV0' })!, /kty must be/);
    for (const bad of [null, 'x', [], 42]) assert.ok(publicKeyProblem(bad));
  });
});
