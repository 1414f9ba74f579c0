import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { OAuthError } from '../errors.ts';
import { importSigningKey } from '../tokens/signer.ts';
import { errorResponseModeFor, isJwtMode, jarmAlgFor, jarmResponseJwt, jarmSigner, responseModeFor } from './jarm.ts';
import { KeyRing } from '../tokens/keys.ts';

const plain = { metadata: {} };
const registered = { metadata: { authorization_signed_response_alg: 'ES256' } };

describe('JARM response modes', () => {
  it('maps the requested response_mode (jwt is query.jwt for the code flow)', () => {
    assert.equal(responseModeFor(plain, undefined), 'query');
    assert.equal(responseModeFor(plain, 'query'), 'query');
    assert.equal(responseModeFor(plain, 'form_post'), 'form_post');
    assert.equal(responseModeFor(plain, 'jwt'), 'query.jwt');
    assert.equal(responseModeFor(plain, 'query.jwt'), 'query.jwt');
    assert.equal(responseModeFor(plain, 'form_post.jwt'), 'form_post.jwt');
  });
  it('a client registered with authorization_signed_response_alg gets JWT responses by default', () => {
    assert.equal(responseModeFor(registered, undefined), 'query.jwt');
    assert.equal(responseModeFor(registered, 'form_post.jwt'), 'form_post.jwt');
    assert.equal(responseModeFor(registered, 'query'), 'query');
  });
  it('with JARM switched off (TESSERA_FEATURES_DISABLED=jarm) the JWT modes are refused and nothing is signed', () => {
    for (const m of ['jwt', 'query.jwt', 'form_post.jwt']) {
      assert.throws(
        () => responseModeFor(plain, m, false),
        (e: unknown) => e instanceof OAuthError && e.code === 'invalid_request',
        m,
      );
      assert.equal(errorResponseModeFor(registered, m, false), 'query');
    }
    assert.equal(responseModeFor(registered, undefined, false), 'query');
    assert.equal(responseModeFor(plain, 'form_post', false), 'form_post');
  });
  it('refuses unknown modes (fragment modes too: code flow only) with invalid_request', () => {
    for (const m of ['fragment', 'fragment.jwt', 'JWT', 'query.JWT', '', 'web_message']) {
      assert.throws(
        () => responseModeFor(plain, m),
        (e: unknown) => e instanceof OAuthError && e.code === 'invalid_request',
        m,
      );
    }
    // An error about an invalid mode is itself sent in the default mode of the client.
    assert.equal(errorResponseModeFor(plain, 'fragment'), 'query');
    assert.equal(errorResponseModeFor(registered, 'fragment'), 'query.jwt');
    assert.equal(isJwtMode('form_post.jwt'), true);
    assert.equal(isJwtMode('form_post'), false);
  });
});

describe('JARM response JWT', () => {
  it('is signed by the given key and carries iss, aud, exp, iat and the response parameters', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = importSigningKey('k1', 'ES256', (await exportJWK(privateKey)) as Record<string, unknown>);
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    const now = Math.floor(Date.now() / 1000);
    const jwt = jarmResponseJwt(key, {
      issuer: 'https://as.example',
      clientId: 'c1',
      now,
      ttl: 300,
      fields: { code: 'abc', state: 's t' },
    });
    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
      issuer: 'https://as.example',
      audience: 'c1',
      algorithms: ['ES256'],
    });
    assert.deepEqual(payload, {
      code: 'abc',
      state: 's t',
      iss: 'https://as.example',
      aud: 'c1',
      exp: now + 300,
      iat: now,
    });
    assert.equal(protectedHeader.kid, 'k1');
    // Response parameters cannot override the JWT's own claims.
    const forged = jarmResponseJwt(key, {
      issuer: 'https://as.example',
      clientId: 'c1',
      now,
      ttl: 300,
      fields: { iss: 'https://evil.example', aud: 'other', error: 'access_denied' },
    });
    const p2 = (await jwtVerify(forged, jwks, { issuer: 'https://as.example', audience: 'c1' })).payload;
    assert.equal(p2.error, 'access_denied');
    // Another client is not the audience; an expired response fails.
    await assert.rejects(jwtVerify(jwt, jwks, { audience: 'c2' }));
    const old = jarmResponseJwt(key, {
      issuer: 'https://as.example',
      clientId: 'c1',
      now: now - 1000,
      ttl: 300,
      fields: { code: 'x' },
    });
    await assert.rejects(jwtVerify(old, jwks, { audience: 'c1' }), /exp/);
  });
});

describe('JARM signing algorithm', () => {
  it('a FAPI client on a server with no FAPI algorithm is refused, never answered in RS256', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const rs = importSigningKey('rs1', 'RS256', (await exportJWK(privateKey)) as Record<string, unknown>);
    const ring = new KeyRing(rs, [], 0);
    const p = {
      config: { signingAlg: 'RS256', signingAlgs: ['RS256'], fapiProfile: 'none' as const, fapiMessageSigning: false },
      keys: () => ring,
    };
    const fapi = { metadata: { fapi_profile: '2.0' as const } };
    assert.throws(
      () => jarmSigner(p, jarmAlgFor(p, fapi)),
      (err: unknown) => err instanceof OAuthError && err.code === 'invalid_request' && !err.redirectable,
    );
    // Other clients get RS256; a request stored before the algorithm was recorded gets the default.
    assert.equal(jarmSigner(p, jarmAlgFor(p, plain)).alg, 'RS256');
    assert.equal(jarmSigner(p, undefined).alg, 'RS256');
  });
});
