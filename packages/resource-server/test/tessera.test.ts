/**
 * The resource server against a real Tessera, through `authenticate` (the adapters' common core):
 * introspection with client authentication and its cache bound (a revoked token is refused once the
 * bound has passed), introspection and key failures as 503, an algorithm allow-list, replay
 * protection shared through Redis, and certificate-bound tokens behind a trusted proxy header.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { Redis } from 'ioredis';
import { hasOpenssl, makePki, type TestPki } from '../../../test/fixtures/certs.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../../../test/fixtures/redis.ts';
import type { RunningServer } from '../../../test/fixtures/server.ts';
import {
  CertificateMismatchError,
  createResourceServer,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidDpopProofError,
  InvalidTokenError,
  RedisReplayStore,
  type RequestLike,
  ServiceUnavailableError,
  UseDpopNonceError,
} from '../src/index.ts';
import { dpopKey, proof, RESOURCE, RS, RS_POST, revoke, sleep, startTessera, token } from './support.ts';

const get = (authorization: string, extra: Record<string, string> = {}, remoteAddress?: string): RequestLike => ({
  method: 'GET',
  url: '/v1/items',
  headers: { authorization, ...extra },
  remoteAddress,
});

describe('the resource server against Tessera', () => {
  let tessera: RunningServer;
  let rsKey: Awaited<ReturnType<typeof generateKeyPair>>;
  before(async () => {
    rsKey = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(rsKey.publicKey)), kid: 'rs-key-1', use: 'sig', alg: 'ES256' };
    tessera = await startTessera({}, [
      {
        client_id: 'rs-jwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [jwk] },
        grant_types: ['client_credentials'],
        scope: '',
        redirect_uris: [],
      },
    ]);
  });
  after(async () => {
    await tessera?.stop();
  });

  it('verifies a JWT locally and reports who, what and until when', async () => {
    const rs = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE });
    const { access_token } = await token(tessera);
    const info = await rs.authenticate(get(`Bearer ${access_token}`), { scopes: ['api:read'] });
    assert.equal(info.source, 'jwt');
    assert.equal(info.clientId, 'svc');
    assert.equal(info.issuer, tessera.issuer);
    assert.deepEqual(info.audience, [RESOURCE]);
    assert.ok(info.expiresAt > Date.now() / 1000);
    await assert.rejects(rs.authenticate(get(`Bearer ${access_token}`), { scopes: ['api:admin'] }), (e) => {
      assert.ok(e instanceof InsufficientScopeError);
      assert.deepEqual(e.scope, ['api:read', 'api:write', 'api:admin']);
      return true;
    });
  });

  it('step-up (RFC 9470): a token of the client itself (no user, no acr or auth_time) is refused where a route demands an authentication level', async () => {
    const rs = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE });
    const { access_token } = await token(tessera);
    const req = get(`Bearer ${access_token}`);
    const info = await rs.authenticate(req);
    assert.equal(info.acr, undefined);
    assert.equal(info.authTime, undefined);
    for (const demand of [{ acr: 'urn:tessera:acr:mfa' }, { maxAge: 60 }]) {
      const err = await rs.authenticate(req, demand).then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InsufficientUserAuthenticationError);
      const r = rs.refusal(err, req);
      assert.equal(r.status, 401);
      assert.match(
        r.headers['www-authenticate']!,
        demand.acr
          ? /^Bearer error="insufficient_user_authentication", error_description="[^"]+", acr_values="urn:tessera:acr:mfa phr phrh"/
          : /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age="60"/,
      );
    }
  });

  it('introspects every token when asked to, and refuses a revoked one once the cache bound has passed', async () => {
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: { clientId: RS.id, clientSecret: RS.secret, always: true, cacheSeconds: 2 },
    });
    const { access_token } = await token(tessera);
    const info = await rs.authenticate(get(`Bearer ${access_token}`));
    assert.equal(info.source, 'introspection');
    assert.equal(info.clientId, 'svc');
    assert.deepEqual(info.scopes, ['api:read', 'api:write']);
    await revoke(tessera, access_token);
    // Within the bound the cached answer stands (that is what the bound means)...
    assert.equal((await rs.authenticate(get(`Bearer ${access_token}`))).clientId, 'svc');
    // (The clock is in whole seconds: an answer lives between cacheSeconds - 1 and cacheSeconds, never longer.)
    await sleep(2100);
    // ...and after it, introspection says inactive.
    await assert.rejects(rs.authenticate(get(`Bearer ${access_token}`)), InvalidTokenError);
  });

  it('introspects opaque tokens with client_secret_post; an unknown one is invalid_token', async () => {
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: { clientId: RS_POST.id, clientSecret: RS_POST.secret, authMethod: 'client_secret_post' },
    });
    await assert.rejects(rs.authenticate(get('Bearer some-opaque-token-0123456789')), InvalidTokenError);
    const { access_token } = await token(tessera);
    assert.equal((await rs.authenticate(get(`Bearer ${access_token}`))).source, 'jwt');
  });

  it('introspects with private_key_jwt client authentication (RFC 7523, aud the issuer)', async () => {
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: {
        clientId: 'rs-jwt',
        authMethod: 'private_key_jwt',
        privateKey: rsKey.privateKey,
        keyId: 'rs-key-1',
        always: true,
      },
    });
    const { access_token } = await token(tessera);
    assert.equal((await rs.authenticate(get(`Bearer ${access_token}`))).source, 'introspection');
    const other = await generateKeyPair('ES256');
    const wrongKey = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: { clientId: 'rs-jwt', authMethod: 'private_key_jwt', privateKey: other.privateKey, always: true },
    });
    await assert.rejects(wrongKey.authenticate(get(`Bearer ${access_token}`)), ServiceUnavailableError);
  });

  it('a refresh-token-shaped or wrong-audience introspection answer is refused', async () => {
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: 'https://elsewhere.example/',
      introspection: { clientId: RS.id, clientSecret: RS.secret, always: true },
    });
    const { access_token } = await token(tessera);
    await assert.rejects(rs.authenticate(get(`Bearer ${access_token}`)), /not for this resource/);
  });

  it('answers 503, never an accepted token, when introspection fails or its client is refused', async () => {
    const unreachable = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: {
        clientId: RS.id,
        clientSecret: RS.secret,
        always: true,
        endpoint: 'http://127.0.0.1:1/introspect',
      },
      timeout: 2000,
    });
    const { access_token } = await token(tessera);
    await assert.rejects(unreachable.authenticate(get(`Bearer ${access_token}`)), ServiceUnavailableError);
    const refusal = unreachable.refusal(new ServiceUnavailableError('x'));
    assert.equal(refusal.status, 503);
    assert.equal(refusal.headers['retry-after'], '5');

    const wrongSecret = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      introspection: { clientId: RS.id, clientSecret: 'not-the-secret-0123456789', always: true },
    });
    await assert.rejects(wrongSecret.authenticate(get(`Bearer ${access_token}`)), ServiceUnavailableError);
  });

  it('answers 503 when the authorization server cannot be reached, and 401 for an issuer mismatch of the token', async () => {
    const { access_token } = await token(tessera);
    const down = createResourceServer({ issuer: 'http://127.0.0.1:1', resource: RESOURCE, timeout: 1000 });
    await assert.rejects(down.authenticate(get(`Bearer ${access_token}`)), ServiceUnavailableError);
    // Metadata naming another issuer than the one configured is not used (RFC 8414 section 3.3).
    const mismatch = createResourceServer({
      issuer: `${tessera.issuer}/`,
      resource: RESOURCE,
      authorizationServerMetadataUrl: `${tessera.issuer}/.well-known/oauth-authorization-server`,
    });
    await assert.rejects(mismatch.authenticate(get(`Bearer ${access_token}`)), ServiceUnavailableError);
  });

  it('refuses a token signed with an algorithm outside the allow-list', async () => {
    const rs = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE, algorithms: ['RS256'] });
    const { access_token } = await token(tessera);
    await assert.rejects(rs.authenticate(get(`Bearer ${access_token}`)), /algorithm not accepted/);
    assert.throws(() => createResourceServer({ issuer: tessera.issuer, resource: RESOURCE, algorithms: ['HS256'] }));
  });

  it('refuses an expired token (beyond the clock skew)', async () => {
    const { access_token } = await token(tessera);
    const later = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      clockSkew: 0,
      now: () => Math.floor(Date.now() / 1000) + 3600,
    });
    await assert.rejects(later.authenticate(get(`Bearer ${access_token}`)), /expired/);
  });

  it('requires DPoP-bound tokens when dpop is required', async () => {
    const rs = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE, dpop: { mode: 'required' } });
    const { access_token } = await token(tessera);
    await assert.rejects(rs.authenticate(get(`Bearer ${access_token}`)), InvalidTokenError);
    await assert.rejects(rs.verifyBearerToken(access_token), InvalidTokenError);
    assert.equal(rs.metadata().dpop_bound_access_tokens_required, true);
    assert.match(rs.challenge(), /^DPoP /);
  });

  it('asks for a server nonce in DPoP proofs when configured, then accepts the retry', async () => {
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      dpop: { nonceSecret: 'nonce-secret-for-the-test-0123456789abcdef' },
    });
    const key = await dpopKey();
    const { access_token } = await token(tessera, { key });
    const first = get(`DPoP ${access_token}`, { dpop: await proof(key, 'GET', `${RESOURCE}/items`, access_token) });
    const err = await rs.authenticate(first).then(
      () => assert.fail('accepted without a nonce'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UseDpopNonceError);
    const answer = rs.refusal(err, first);
    assert.equal(answer.status, 401);
    const nonce = answer.headers['dpop-nonce']!;
    assert.ok(nonce);
    const retry = await proof(key, 'GET', `${RESOURCE}/items`, access_token, { nonce });
    assert.equal((await rs.authenticate(get(`DPoP ${access_token}`, { dpop: retry }))).clientId, 'svc');
  });

  describe('DPoP replay protection shared through Redis', async () => {
    const url = await sharedRedis();
    const prefix = uniquePrefix('rs-dpop');
    let redis: Redis | undefined;
    after(async () => {
      redis?.disconnect();
      if (url) await deletePrefix(url, prefix);
    });
    it('a proof accepted by one instance is refused by another', { skip: url ? false : 'no Redis' }, async () => {
      redis = new Redis(url!, { maxRetriesPerRequest: 1 });
      const options = {
        issuer: tessera.issuer,
        resource: RESOURCE,
        dpop: { replayStore: new RedisReplayStore(redis, { prefix }) },
      };
      const [a, b] = [createResourceServer(options), createResourceServer(options)];
      const key = await dpopKey();
      const { access_token } = await token(tessera, { key });
      const p = await proof(key, 'GET', `${RESOURCE}/items`, access_token);
      await a.authenticate(get(`DPoP ${access_token}`, { dpop: p }));
      await assert.rejects(b.authenticate(get(`DPoP ${access_token}`, { dpop: p })), InvalidDpopProofError);
      const fresh = await proof(key, 'GET', `${RESOURCE}/items`, access_token);
      assert.equal((await b.authenticate(get(`DPoP ${access_token}`, { dpop: fresh }))).cnf?.jkt, key.jkt);
    });
    it('a replay store that fails is a 503, not an accepted proof', async () => {
      const broken = new Redis('redis://127.0.0.1:1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      broken.on('error', () => {});
      const rs = createResourceServer({
        issuer: tessera.issuer,
        resource: RESOURCE,
        dpop: { replayStore: new RedisReplayStore(broken) },
      });
      const key = await dpopKey();
      const { access_token } = await token(tessera, { key });
      const p = await proof(key, 'GET', `${RESOURCE}/items`, access_token);
      await assert.rejects(rs.authenticate(get(`DPoP ${access_token}`, { dpop: p })), ServiceUnavailableError);
      broken.disconnect();
    });
  });
});

describe('a signing-key rotation in Tessera', () => {
  const ADMIN = 'admin-token-for-the-rotation-test-0123456789';
  let tessera: RunningServer;
  before(async () => {
    tessera = await startTessera({ TESSERA_ADMIN_TOKEN: ADMIN, TESSERA_KEY_RELOAD_SECONDS: '1' });
  });
  after(async () => {
    await tessera?.stop();
  });

  it('is picked up: a token signed by a new, unpublished key verifies once the unknown-kid cooldown has passed', async () => {
    const rs = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE, jwksCooldown: 1 });
    const before = await token(tessera);
    await rs.authenticate(get(`Bearer ${before.access_token}`));
    const res = await fetch(`${tessera.issuer}/admin/api/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200, await res.clone().text());
    const rotated = (await res.json()) as { kid: string; prepublished: boolean };
    // Not prepublished: the JWKS the resource server fetched first did not have it.
    assert.equal(rotated.prepublished, false);
    let after = await token(tessera);
    // The server reloads its keys every second (TESSERA_KEY_RELOAD_SECONDS=1); a busy machine may take longer.
    for (let i = 0; i < 100 && decodeProtectedHeader(after.access_token).kid !== rotated.kid; i++) {
      await sleep(200);
      after = await token(tessera);
    }
    assert.equal(decodeProtectedHeader(after.access_token).kid, rotated.kid);
    assert.notEqual(decodeProtectedHeader(before.access_token).kid, rotated.kid);
    await sleep(1100);
    assert.equal((await rs.authenticate(get(`Bearer ${after.access_token}`))).clientId, 'svc');
    // The old key stays published for its grace period: tokens it signed still verify.
    assert.equal((await rs.authenticate(get(`Bearer ${before.access_token}`))).clientId, 'svc');
  });
});

describe('certificate-bound tokens behind a trusted proxy', { skip: hasOpenssl() ? false : 'no openssl' }, () => {
  let tessera: RunningServer;
  let pki: TestPki;
  const HEADER = 'x-ssl-client-cert';
  before(async () => {
    pki = makePki();
    tessera = await startTessera(
      { TESSERA_MTLS_CERT_HEADER: HEADER, TESSERA_TRUST_PROXY: '127.0.0.1', TESSERA_MTLS_CA_FILE: pki.caFile },
      [
        {
          client_id: 'bound',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'client.example',
          tls_client_certificate_bound_access_tokens: true,
          grant_types: ['client_credentials'],
          scope: 'api:read',
          redirect_uris: [],
        },
      ],
    );
  });
  after(async () => {
    await tessera?.stop();
    pki?.cleanup();
  });

  it('accepts the token with its certificate from a trusted proxy only', async () => {
    // A client registered for certificate-bound tokens, authenticating with its certificate (tls_client_auth).
    const admin = await fetch(`${tessera.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        [HEADER]: encodeURIComponent(pki.clientA.certPem),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'bound', resource: RESOURCE }),
    });
    const json = (await admin.json()) as { access_token: string };
    assert.equal(admin.status, 200, JSON.stringify(json));
    const rs = createResourceServer({
      issuer: tessera.issuer,
      resource: RESOURCE,
      certificateBound: { header: HEADER, trustedProxies: ['127.0.0.1', '10.0.0.0/8'] },
    });
    const bearer = `Bearer ${json.access_token}`;
    const a = { [HEADER]: encodeURIComponent(pki.clientA.certPem) };
    const b = { [HEADER]: encodeURIComponent(pki.clientB.certPem) };
    assert.equal((await rs.authenticate(get(bearer, a, '127.0.0.1'))).clientId, 'bound');
    assert.equal((await rs.authenticate(get(bearer, a, '10.1.2.3'))).clientId, 'bound');
    assert.equal((await rs.authenticate(get(bearer, a, '::ffff:127.0.0.1'))).clientId, 'bound');
    await assert.rejects(rs.authenticate(get(bearer, b, '127.0.0.1')), CertificateMismatchError);
    await assert.rejects(rs.authenticate(get(bearer, a, '192.0.2.1')), CertificateMismatchError);
    await assert.rejects(rs.authenticate(get(bearer, {}, '127.0.0.1')), CertificateMismatchError);
    const unconfigured = createResourceServer({ issuer: tessera.issuer, resource: RESOURCE });
    await assert.rejects(unconfigured.authenticate(get(bearer, a, '127.0.0.1')), CertificateMismatchError);
    await assert.rejects(unconfigured.verifyBearerToken(json.access_token), InvalidTokenError);
  });
});
