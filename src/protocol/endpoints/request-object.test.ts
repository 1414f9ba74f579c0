import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose';
import { saveClient } from '../../admin/clients.ts';
import type { App } from '../../app.ts';
import type { ClientRecord } from '../../ports/clients.ts';
import { ISSUER, testApp } from '../../../test/fixtures/app.ts';
import { OAuthError } from '../errors.ts';
import { resolveRequestObject } from './request-object.ts';

describe('request objects (RFC 9101)', () => {
  let app: App;
  let client: ClientRecord;
  let psClient: ClientRecord;
  let noKeys: ClientRecord;
  let priv: CryptoKey;
  let pub: JWK;
  let other: CryptoKey;
  let rsa: CryptoKey;
  before(async () => {
    app = await testApp('sqlite::memory:');
    const kp = await generateKeyPair('ES256', { extractable: true });
    priv = kp.privateKey;
    pub = { ...(await exportJWK(kp.publicKey)), kid: 'k1' };
    other = (await generateKeyPair('ES256')).privateKey;
    const rs = await generateKeyPair('PS256', { extractable: true });
    rsa = rs.privateKey;
    const rsaPub = { ...(await exportJWK(rs.publicKey)), kid: 'r1' };
    const base = {
      redirect_uris: ['https://jar.example/cb'],
      grant_types: ['authorization_code' as const],
      scope: 'openid profile',
    };
    const now = app.provider.now();
    client = (
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'jar',
          client_secret: 'jar-secret-0123456789-abcdefghijklmnop',
          jwks: { keys: [pub, rsaPub] },
          ...base,
        },
        now,
      )
    ).client;
    psClient = (
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'jar-ps',
          client_secret: 'jar-secret-0123456789-abcdefghijklmnop',
          jwks: { keys: [pub, rsaPub] },
          request_object_signing_alg: 'PS256',
          ...base,
        },
        now,
      )
    ).client;
    noKeys = (await app.stores.clients.get('web'))!;
  });
  after(async () => {
    await app?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: JWTPayload = {}): JWTPayload => ({
    iss: 'jar',
    aud: ISSUER,
    iat: now(),
    exp: now() + 60,
    jti: randomUUID(),
    client_id: 'jar',
    response_type: 'code',
    redirect_uri: 'https://jar.example/cb',
    scope: 'openid',
    state: 's',
    ...over,
  });
  const signed = (c: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = priv) =>
    new SignJWT(c)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt', ...header } as never)
      .sign(key);
  const resolve = (jwt: string, c = client) => resolveRequestObject(app.provider, c, jwt);
  const refused = async (jwt: string | Promise<string>, match: RegExp, c = client) => {
    await assert.rejects(resolve(await jwt, c), (e) => {
      assert.ok(e instanceof OAuthError, String(e));
      assert.equal(e.code, 'invalid_request_object', e.description);
      assert.match(e.description, match);
      return true;
    });
  };

  it('returns only the authorization parameters inside, with client_id', async () => {
    const params = await resolve(await signed(claims({ max_age: 300, nonce: 'n', unknown_claim: 'x' })));
    assert.deepEqual(
      { ...params },
      {
        client_id: 'jar',
        response_type: 'code',
        redirect_uri: 'https://jar.example/cb',
        scope: 'openid',
        state: 's',
        max_age: '300',
        nonce: 'n',
      },
    );
    // Without a client_id claim and without typ: still fine.
    assert.equal((await resolve(await signed(claims({ client_id: undefined }), { typ: undefined }))).client_id, 'jar');
    // PS256 for the client registered for PS256.
    assert.equal(
      (
        await resolve(
          await signed(claims({ iss: 'jar-ps', client_id: 'jar-ps' }), { alg: 'PS256', kid: 'r1' }, rsa),
          psClient,
        )
      ).client_id,
      'jar-ps',
    );
  });
  it('refuses unsigned, encrypted and none-signed objects', async () => {
    await refused(new UnsecuredJWT(claims()).encode(), /Unsigned/);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(new Uint8Array(32));
    await refused(jwe, /Encrypted/);
    for (const bad of ['x', 'a.b', 'a.b.c', '']) await refused(bad, /not a signed JWT|Unsigned/);
  });
  it('refuses wrong iss, aud, client_id; expired, far-future, not-yet-valid objects; missing exp or jti', async () => {
    await refused(signed(claims({ iss: 'web' })), /invalid/);
    await refused(signed(claims({ aud: `${ISSUER}/authorize` })), /invalid/);
    await refused(signed(claims({ aud: 'https://other.example' })), /invalid/);
    await refused(signed(claims({ client_id: 'web' })), /client_id/);
    await refused(signed(claims({ iat: now() - 600, exp: now() - 120 })), /expired/);
    await refused(signed(claims({ exp: now() + 3600 })), /too far/);
    await refused(signed(claims({ nbf: now() - 10, exp: now() + 310 })), /too far|too long/);
    await refused(signed(claims({ nbf: now() + 300 })), /invalid/);
    await refused(signed(claims({ iat: now() + 300 })), /future/);
    await refused(signed(claims({ exp: undefined })), /invalid/);
    await refused(signed(claims({ jti: undefined })), /invalid/);
  });
  it('accepts a jti once', async () => {
    const jwt = await signed(claims());
    await resolve(jwt);
    await refused(jwt, /used before/);
  });
  it('refuses key confusion, the wrong key, an unknown kid, algorithms off the list and a client without keys', async () => {
    const pem = createPublicKey({ key: pub as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    await refused(signed(claims(), { alg: 'HS256' }, new TextEncoder().encode(pem)), /algorithm not allowed/);
    await refused(signed(claims(), {}, other), /invalid/);
    await refused(signed(claims(), { kid: 'nope' }), /could not be verified/);
    await refused(signed(claims({ iss: 'jar-ps', client_id: 'jar-ps' })), /algorithm not allowed/, psClient);
    await refused(signed(claims({ iss: 'web', client_id: 'web' })), /no registered keys/, noKeys);
  });
  it('refuses oversized objects, crit headers, other JWT types and non-string parameters', async () => {
    await refused(signed(claims({ state: 'x'.repeat(17000) })), /too large/);
    const crit = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', crit: ['urn:x'], 'urn:x': 1 } as never)
      .sign(priv, { crit: { 'urn:x': true } });
    await refused(crit, /invalid/);
    await refused(signed(claims(), { typ: 'at+jwt' }), /typ/);
    await refused(signed(claims({ scope: ['openid'] })), /single string/);
    // RFC 8707: resource may be an array of strings (several resources); anything else is refused.
    await refused(signed(claims({ resource: ['https://a.example', 42] as never })), /single string/);
    await refused(signed(claims({ resource: [] as never })), /single string/);
    await refused(signed(claims({ max_age: '1.5' as never, prompt: { x: 1 } as never })), /single string/);
  });
  it('resource may be an array inside (RFC 8707): its values are kept together like repeated parameters', async () => {
    const out = await resolve(await signed(claims({ resource: ['https://a.example/', 'https://b.example/'] })));
    assert.equal(out.resource, 'https://a.example/ https://b.example/');
  });
  it('over-long values inside are refused like outside (invalid_request)', async () => {
    await assert.rejects(resolve(await signed(claims({ redirect_uri: `https://jar.example/${'x'.repeat(3000)}` }))), {
      code: 'invalid_request',
    });
  });
});
