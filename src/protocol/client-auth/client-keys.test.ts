import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { jwksProblems, jwksUriProblem } from './client-keys.ts';

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK,
    priv: await exportJWK(privateKey),
  };
}

describe('client key set validation', () => {
  it('accepts public RSA/EC/OKP keys and refuses private members, symmetric keys and malformed sets', async () => {
    const k = await keyPair('a');
    assert.deepEqual(jwksProblems({ keys: [k.jwk] }), []);
    assert.match(jwksProblems({ keys: [{ ...k.priv, kid: 'a' }] }).join(), /private members \(d\)/);
    assert.match(jwksProblems({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }).join(), /kty must be/);
    for (const bad of [null, [], 'x', {}, { keys: [] }, { keys: 'x' }, { keys: [1] }, { keys: Array(101).fill(k.jwk) }])
      assert.ok(jwksProblems(bad).length > 0, JSON.stringify(bad)?.slice(0, 40));
  });
  it('refuses expensive keys before they are imported: RSA outside 2048-4096 bits or with e other than 65537, EC off the named curves', () => {
    const huge = Buffer.alloc(2048, 0xff).toString('base64url');
    assert.match(
      jwksProblems({ keys: [{ kty: 'RSA', e: 'AQAB', n: huge }] }).join(),
      /key 0: RSA modulus must be 2048 to 4096 bits/,
    );
    assert.match(
      jwksProblems({ keys: [{ kty: 'RSA', e: 'Aw', n: Buffer.alloc(256, 0xff).toString('base64url') }] }).join(),
      /exponent must be 65537/,
    );
    assert.match(
      jwksProblems({ keys: [{ kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA' }] }).join(),
      /curve must be one of/,
    );
  });
  it('jwks_uri: https; http only on a loopback host with the development allowance; no credentials or fragment', () => {
    assert.equal(jwksUriProblem('https://client.example/jwks', false), undefined);
    assert.match(jwksUriProblem('http://client.example/jwks', false)!, /https/);
    assert.match(jwksUriProblem('http://127.0.0.1:8080/jwks', false)!, /https/);
    assert.equal(jwksUriProblem('http://127.0.0.1:8080/jwks', true), undefined);
    assert.equal(jwksUriProblem('http://localhost:8080/jwks', true), undefined);
    assert.equal(jwksUriProblem('http://[::1]:8080/jwks', true), undefined);
    assert.match(jwksUriProblem('http://10.0.0.1/jwks', true)!, /loopback/);
    assert.match(jwksUriProblem('http://localhost.evil.example/jwks', true)!, /loopback/);
    assert.ok(jwksUriProblem('https://user:pw@client.example/jwks', false));
    assert.ok(jwksUriProblem('https://client.example/jwks#x', false));
    assert.ok(jwksUriProblem('ftp://client.example/jwks', true));
    assert.ok(jwksUriProblem('not a url', true));
    assert.ok(jwksUriProblem(42, true));
  });
});
