import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose';
import { saveClient } from '../../admin/clients.ts';
import type { App } from '../../app.ts';
import type { ProtocolEvent } from '../events.ts';
import { ISSUER, testApp } from '../../../test/fixtures/app.ts';
import { authenticateClient } from './authenticate-client.ts';
import { ClientAuthError, JWT_BEARER, verifyClientAssertion } from './client-assertion.ts';

const SECRET = 'jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

describe('client assertions (private_key_jwt, client_secret_jwt)', () => {
  let app: App;
  let priv: CryptoKey;
  let pub: JWK;
  let other: CryptoKey;
  const events: ProtocolEvent[] = [];
  before(async () => {
    app = await testApp('sqlite::memory:');
    const kp = await generateKeyPair('ES256', { extractable: true });
    priv = kp.privateKey;
    pub = { ...(await exportJWK(kp.publicKey)), kid: 'k1' };
    other = (await generateKeyPair('ES256')).privateKey;
    const now = app.provider.now();
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'pkj',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      now,
    );
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'pkj-ps',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        token_endpoint_auth_signing_alg: 'PS256',
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      now,
    );
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'csj',
        token_endpoint_auth_method: 'client_secret_jwt',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      now,
    );
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'off',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pub] },
        grant_types: ['client_credentials'],
        scope: 'api:read',
        disabled: true,
      },
      now,
    );
    (app.provider as { events: (e: ProtocolEvent) => void }).events = (e) => events.push(e);
  });
  after(async () => {
    await app?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (id: string, over: JWTPayload = {}): JWTPayload => ({
    iss: id,
    sub: id,
    aud: ISSUER,
    iat: now(),
    exp: now() + 60,
    jti: randomUUID(),
    ...over,
  });
  const signed = (c: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = priv) =>
    new SignJWT(c)
      .setProtectedHeader({ alg: key instanceof Uint8Array ? 'HS256' : 'ES256', kid: 'k1', ...header } as never)
      .sign(key);
  const secretKey = new TextEncoder().encode(SECRET);
  const verify = (jwt: string, clientId?: string) => verifyClientAssertion(app.provider, jwt, clientId);
  const refused = async (jwt: string | Promise<string>, reason: string, clientId?: string) => {
    await assert.rejects(verify(await jwt, clientId), (e) => {
      assert.ok(e instanceof ClientAuthError, String(e));
      assert.equal(e.code, 'invalid_client');
      assert.equal(e.reason, reason, e.detail);
      return true;
    });
  };

  it('accepts a private_key_jwt assertion and a client_secret_jwt assertion', async () => {
    assert.equal((await verify(await signed(claims('pkj')))).client.clientId, 'pkj');
    assert.equal((await verify(await signed(claims('pkj')), 'pkj')).method, 'private_key_jwt');
    assert.equal(
      (await verify(await signed(claims('csj'), { kid: undefined }, secretKey))).method,
      'client_secret_jwt',
    );
    assert.equal(
      (await verify(await signed(claims('pkj'), { typ: 'client-authentication+jwt' }))).client.clientId,
      'pkj',
    );
  });
  it('refuses wrong iss, sub and aud (only the issuer identifier, as a single string)', async () => {
    await refused(signed(claims('pkj', { iss: 'csj' })), 'assertion_invalid');
    await refused(signed(claims('pkj', { sub: 'csj' })), 'assertion_invalid');
    await refused(signed(claims('pkj', { iss: 'nobody', sub: 'nobody' })), 'unknown_client');
    await refused(signed(claims('pkj', { sub: undefined, iss: undefined })), 'assertion_invalid');
    await refused(signed(claims('pkj', { aud: `${ISSUER}/token` })), 'assertion_invalid');
    await refused(signed(claims('pkj', { aud: 'https://other.example' })), 'assertion_invalid');
    await refused(signed(claims('pkj', { aud: [ISSUER] })), 'assertion_invalid');
    await refused(signed(claims('pkj', { aud: [ISSUER, 'https://other.example'] })), 'assertion_invalid');
    await refused(signed(claims('pkj')), 'client_id_mismatch', 'csj');
  });
  it('refuses expired, far-future, not-yet-valid and exp-less assertions', async () => {
    await refused(signed(claims('pkj', { iat: now() - 600, exp: now() - 120 })), 'assertion_expired');
    await refused(signed(claims('pkj', { exp: now() + 3600 })), 'assertion_lifetime');
    await refused(signed(claims('pkj', { iat: now() - 10, exp: now() + 300 + 20 })), 'assertion_lifetime');
    await refused(signed(claims('pkj', { iat: now() + 600, exp: now() + 60 })), 'assertion_lifetime');
    await refused(signed(claims('pkj', { nbf: now() + 120 })), 'assertion_invalid');
    await refused(signed(claims('pkj', { exp: undefined })), 'assertion_invalid');
    // Within the clock skew: accepted.
    assert.ok(await verify(await signed(claims('pkj', { iat: now() - 80, exp: now() - 10 }))));
  });
  it('requires a jti and accepts it once', async () => {
    await refused(signed(claims('pkj', { jti: undefined })), 'assertion_invalid');
    await refused(signed(claims('pkj', { jti: 'x'.repeat(201) })), 'assertion_invalid');
    const jwt = await signed(claims('pkj'));
    await verify(jwt);
    await refused(jwt, 'assertion_replayed');
    // The same jti from another client is that client's own.
    const jti = randomUUID();
    await verify(await signed(claims('pkj', { jti })));
    await verify(await signed(claims('csj', { jti }), { kid: undefined }, secretKey));
  });
  it('refuses alg none, key confusion, the wrong key, an unknown kid and algorithms off the client list', async () => {
    await refused(new UnsecuredJWT(claims('pkj')).encode(), 'assertion_alg');
    // HS256 with the client's public key as the HMAC secret (the classic confusion attack).
    const pem = createPublicKey({ key: pub as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    await refused(signed(claims('pkj'), { alg: 'HS256' }, new TextEncoder().encode(pem)), 'assertion_alg');
    await refused(
      signed(claims('pkj'), { alg: 'HS256' }, new TextEncoder().encode(JSON.stringify(pub))),
      'assertion_alg',
    );
    // An asymmetric signature for a client_secret_jwt client.
    await refused(signed(claims('csj')), 'assertion_alg');
    // HMAC with the wrong secret.
    await refused(
      signed(claims('csj'), {}, new TextEncoder().encode('wrong-secret-0123456789-abcdefghijklmn')),
      'assertion_invalid',
    );
    await refused(signed(claims('pkj'), {}, other), 'assertion_invalid');
    await refused(signed(claims('pkj'), { kid: 'unknown' }), 'no_matching_key');
    // The client registered PS256 only.
    await refused(signed(claims('pkj-ps')), 'assertion_alg');
  });
  it('refuses oversized, malformed, encrypted, crit-bearing and mistyped assertions', async () => {
    await refused(signed(claims('pkj', { pad: 'x'.repeat(9000) })), 'assertion_malformed');
    await refused('e30.e30.', 'assertion_invalid');
    for (const bad of ['', 'abc', 'a.b.c', `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.bm90IGpzb24.c2ln`])
      await refused(bad, 'assertion_malformed');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims('pkj'))))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(new Uint8Array(32));
    await refused(jwe, 'assertion_malformed');
    const crit = await new SignJWT(claims('pkj'))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', crit: ['urn:x'], 'urn:x': 1 } as never)
      .sign(priv, { crit: { 'urn:x': true } });
    await refused(crit, 'assertion_invalid');
    await refused(signed(claims('pkj'), { typ: 'at+jwt' }), 'assertion_invalid');
    await refused(signed(claims('pkj'), { typ: 'dpop+jwt' }), 'assertion_invalid');
  });
  it('through authenticateClient: the assertion type, one method only, the registered method, disabled clients; failures audited with a reason', async () => {
    const req = { method: 'POST', params: new URLSearchParams(), headers: {}, cookies: {}, ip: '192.0.2.1' };
    const auth = (params: Record<string, string>, headers: Record<string, string> = {}) =>
      authenticateClient(app.provider, { ...req, headers }, params, { allowPublic: false });
    assert.equal(
      (await auth({ client_assertion_type: JWT_BEARER, client_assertion: await signed(claims('pkj')) })).client
        .clientId,
      'pkj',
    );
    await assert.rejects(auth({ client_assertion_type: 'urn:other', client_assertion: await signed(claims('pkj')) }), {
      code: 'invalid_client',
    });
    await assert.rejects(auth({ client_assertion: await signed(claims('pkj')) }), { code: 'invalid_request' });
    await assert.rejects(auth({ client_assertion_type: JWT_BEARER }), { code: 'invalid_request' });
    await assert.rejects(
      auth({ client_assertion_type: JWT_BEARER, client_assertion: await signed(claims('pkj')), client_secret: 'x' }),
      { code: 'invalid_request' },
    );
    await assert.rejects(
      auth(
        { client_assertion_type: JWT_BEARER, client_assertion: await signed(claims('pkj')) },
        { authorization: 'Basic eDp5' },
      ),
      { code: 'invalid_request' },
    );
    // A JWT client cannot fall back to a secret, nor a secret client to an assertion.
    await assert.rejects(auth({ client_id: 'csj', client_secret: SECRET }), { code: 'invalid_client' });
    await assert.rejects(
      auth({
        client_assertion_type: JWT_BEARER,
        client_assertion: await signed(
          claims('web'),
          { kid: undefined },
          new TextEncoder().encode('web-secret-0123456789-abcdefghijklmnop'),
        ),
      }),
      { code: 'invalid_client' },
    );
    await assert.rejects(auth({ client_assertion_type: JWT_BEARER, client_assertion: await signed(claims('off')) }), {
      code: 'invalid_client',
    });
    events.length = 0;
    const jwt = await signed(claims('pkj'));
    await auth({ client_assertion_type: JWT_BEARER, client_assertion: jwt });
    await assert.rejects(auth({ client_assertion_type: JWT_BEARER, client_assertion: jwt }), {
      code: 'invalid_client',
    });
    assert.deepEqual(events, [
      {
        type: 'client_auth_failed',
        clientId: 'pkj',
        method: 'private_key_jwt',
        reason: 'assertion_replayed',
        ip: '192.0.2.1',
      },
    ]);
    assert.ok(!JSON.stringify(events).includes(jwt.split('.')[2]!));
  });
  it('TESSERA_ASSERTION_TOKEN_ENDPOINT_AUDIENCE=true also accepts the token endpoint URL as aud (nothing else)', async () => {
    const lenient = await testApp('sqlite::memory:', { TESSERA_ASSERTION_TOKEN_ENDPOINT_AUDIENCE: 'true' });
    try {
      await saveClient(
        lenient.stores,
        lenient.provider.config,
        {
          client_id: 'pkj',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [pub] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        lenient.provider.now(),
      );
      assert.ok(
        await verifyClientAssertion(
          lenient.provider,
          await signed(claims('pkj', { aud: `${ISSUER}/token` })),
          undefined,
        ),
      );
      assert.ok(await verifyClientAssertion(lenient.provider, await signed(claims('pkj')), undefined));
      await assert.rejects(
        verifyClientAssertion(
          lenient.provider,
          await signed(claims('pkj', { aud: `${ISSUER}/introspect` })),
          undefined,
        ),
        { code: 'invalid_client' },
      );
      await assert.rejects(
        verifyClientAssertion(
          lenient.provider,
          await signed(claims('pkj', { aud: [ISSUER, `${ISSUER}/token`] })),
          undefined,
        ),
        { code: 'invalid_client' },
      );
    } finally {
      await lenient.close();
    }
  });
  it('duplicate kids: each matching key is tried; no kid with several keys works the same way', async () => {
    const a = await generateKeyPair('ES256', { extractable: true });
    const b = await generateKeyPair('ES256', { extractable: true });
    const keys = [
      { ...(await exportJWK(a.publicKey)), kid: 'dup' },
      { ...(await exportJWK(b.publicKey)), kid: 'dup' },
    ];
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'dup',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys },
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      app.provider.now(),
    );
    assert.equal((await verify(await signed(claims('dup'), { kid: 'dup' }, b.privateKey))).client.clientId, 'dup');
    assert.equal((await verify(await signed(claims('dup'), { kid: undefined }, a.privateKey))).client.clientId, 'dup');
    await refused(signed(claims('dup'), { kid: 'dup' }, other), 'no_matching_key');
  });
  it('keeps the client_secret_jwt secret only wrapped (never in plain text) and re-applying the same input changes nothing', async () => {
    const stored = (await app.stores.clients.get('csj'))!;
    assert.ok(!JSON.stringify(stored).includes(SECRET));
    assert.equal((stored.metadata.client_secret_jwe as string).split('.').length, 5);
    const again = await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'csj',
        token_endpoint_auth_method: 'client_secret_jwt',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        scope: 'api:read',
      },
      app.provider.now(),
    );
    assert.equal(again.changed, false);
  });
});
