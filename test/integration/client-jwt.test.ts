/**
 * private_key_jwt and client_secret_jwt at the token, introspection and revocation endpoints, and
 * request objects (JAR) at /authorize, over HTTP with inject(), on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { authorizeUrl, authorizeWithLogin, backends, ISSUER, Jar, pkce, form, testApp } from '../fixtures/app.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CSJ_SECRET = 'csj-secret-0123456789-abcdefghijklmnopqrstuv';
const REDIRECT = 'https://jar.example/cb';

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const PUB = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };

const now = () => Math.floor(Date.now() / 1000);
function assertion(clientId: string, over: JWTPayload = {}, key: CryptoKey | Uint8Array = privateKey): Promise<string> {
  const alg = key instanceof Uint8Array ? 'HS256' : 'ES256';
  return new SignJWT({
    iss: clientId,
    sub: clientId,
    aud: ISSUER,
    iat: now(),
    exp: now() + 60,
    jti: randomUUID(),
    ...over,
  })
    .setProtectedHeader({ alg, ...(alg === 'ES256' ? { kid: 'k1' } : {}) })
    .sign(key);
}
function requestObject(clientId: string, params: Record<string, string>, over: JWTPayload = {}): Promise<string> {
  return new SignJWT({
    iss: clientId,
    aud: ISSUER,
    iat: now(),
    exp: now() + 60,
    jti: randomUUID(),
    client_id: clientId,
    ...params,
    ...over,
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt' })
    .sign(privateKey);
}
const secretKey = new TextEncoder().encode(CSJ_SECRET);

for (const backend of await backends()) {
  describe(`private_key_jwt, client_secret_jwt and request objects (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
      const n = app.provider.now();
      const cfg = app.provider.config;
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'pkj',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [PUB] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'csj',
          token_endpoint_auth_method: 'client_secret_jwt',
          client_secret: CSJ_SECRET,
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'jar',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [PUB] },
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile offline_access',
          request_object_signing_alg: 'ES256',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'jar-only',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [PUB] },
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code'],
          scope: 'openid',
          require_signed_request_object: true,
        },
        n,
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const cc = async (params: Record<string, string>) =>
      form(app, '/token', { grant_type: 'client_credentials', ...params });
    const withAssertion = (jwt: string) => ({ client_assertion_type: JWT_BEARER, client_assertion: jwt });

    it('discovery lists the methods, algorithms and request object support', async () => {
      const d = (await app.server.inject('/.well-known/openid-configuration')).json();
      for (const key of [
        'token_endpoint_auth_methods_supported',
        'introspection_endpoint_auth_methods_supported',
        'revocation_endpoint_auth_methods_supported',
      ]) {
        assert.ok(d[key].includes('private_key_jwt') && d[key].includes('client_secret_jwt'), key);
      }
      for (const key of [
        'token_endpoint_auth_signing_alg_values_supported',
        'introspection_endpoint_auth_signing_alg_values_supported',
        'revocation_endpoint_auth_signing_alg_values_supported',
      ]) {
        assert.ok(d[key].includes('ES256') && d[key].includes('HS256') && !d[key].includes('none'), key);
      }
      assert.equal(d.request_parameter_supported, true);
      assert.deepEqual(d.request_object_signing_alg_values_supported, ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519']);
      assert.equal(d.request_uri_parameter_supported, false);
    });

    it('client_credentials with private_key_jwt and client_secret_jwt; introspection and revocation with assertions', async () => {
      const res = await cc(withAssertion(await assertion('pkj')));
      assert.equal(res.statusCode, 200, res.body);
      const token = res.json().access_token;
      assert.equal(decodeJwt(token).client_id, 'pkj');
      const res2 = await cc(withAssertion(await assertion('csj', {}, secretKey)));
      assert.equal(res2.statusCode, 200, res2.body);
      assert.equal(decodeJwt(res2.json().access_token).client_id, 'csj');
      // The client_id parameter may accompany the assertion.
      assert.equal((await cc({ client_id: 'pkj', ...withAssertion(await assertion('pkj')) })).statusCode, 200);

      const intro = await form(app, '/introspect', { token, ...withAssertion(await assertion('csj', {}, secretKey)) });
      assert.equal(intro.statusCode, 200, intro.body);
      assert.equal(intro.json().active, true);
      const rev = await form(app, '/revoke', { token, ...withAssertion(await assertion('pkj')) });
      assert.equal(rev.statusCode, 200, rev.body);
      const after = await form(app, '/introspect', { token, ...withAssertion(await assertion('csj', {}, secretKey)) });
      assert.equal(after.json().active, false);
    });

    it('refuses bad assertions with 401 invalid_client and issues nothing', async () => {
      const started = Date.now();
      const issuedBefore = (await app.stores.audit.query({ from: 0 })).length;
      const replayed = await assertion('pkj');
      assert.equal((await cc(withAssertion(replayed))).statusCode, 200);
      const bad = [
        replayed,
        new UnsecuredJWT({ iss: 'pkj', sub: 'pkj', aud: ISSUER, exp: now() + 60, jti: randomUUID() }).encode(),
        await assertion('pkj', { aud: `${ISSUER}/token` }),
        await assertion('pkj', { exp: now() + 3600 }),
        await assertion('pkj', { iat: now() - 600, exp: now() - 300 }),
        await assertion('pkj', { jti: undefined }),
        await assertion('pkj', { iss: 'csj' }),
        await assertion('csj'),
        await assertion('pkj', {}, new TextEncoder().encode(JSON.stringify(PUB))),
        'not.a.jwt',
      ];
      for (const jwt of bad) {
        const res = await cc(withAssertion(jwt));
        assert.equal(res.statusCode, 401, jwt);
        assert.equal(res.json().error, 'invalid_client');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
      assert.equal(
        (await cc({ client_assertion_type: 'urn:x', client_assertion: await assertion('pkj') })).statusCode,
        401,
      );
      const oversized = await cc(withAssertion(await assertion('pkj', { pad: 'x'.repeat(5000) })));
      assert.equal(oversized.statusCode, 400);
      assert.equal(oversized.json().error, 'invalid_request');
      const json = await app.server.inject({
        method: 'POST',
        url: '/token',
        payload: JSON.stringify({ grant_type: 'client_credentials', ...withAssertion(await assertion('pkj')) }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(json.statusCode, 400);
      assert.equal((await cc({ client_assertion: await assertion('pkj') })).json().error, 'invalid_request');
      assert.equal(
        (await cc({ ...withAssertion(await assertion('pkj')), client_secret: 'x' })).json().error,
        'invalid_request',
      );
      assert.equal((await cc({ client_id: 'csj', ...withAssertion(await assertion('pkj')) })).statusCode, 401);
      await app.audit.flush();
      const records = await app.stores.audit.query({ from: started });
      const issued = records.filter((r) => r.type === 'token_issued');
      assert.equal(issued.length, 1, 'only the first use issued a token');
      const replay = records.find((r) => r.type === 'client_auth_failed' && r.details.reason === 'assertion_replayed');
      assert.ok(replay, 'the replay is in the audit trail');
      assert.equal(replay.clientId, 'pkj');
      assert.equal(replay.details.method, 'private_key_jwt');
      assert.ok(!JSON.stringify(records).includes(replayed.split('.')[2]!), 'no assertion in the audit trail');
      assert.ok(records.length > 0 && issuedBefore >= 0);
    });

    it("a JWT without kid that more than 3 of the client's keys match is refused unverified: invalid_client / invalid_request_object asking for a kid", async () => {
      const n = app.provider.now();
      const cfg = app.provider.config;
      const noKid = ({ kid: _kid, ...jwk }: Record<string, unknown>) => jwk;
      const others = await Promise.all(
        [1, 2, 3].map(async () => await exportJWK((await generateKeyPair('ES256')).publicKey)),
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'many-keys',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [...others, noKid(PUB)] },
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code', 'client_credentials'],
          scope: 'openid api:read',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'two-keys',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [others[0]!, noKid(PUB)] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
        },
        n,
      );
      const kidless = (clientId: string, claims: JWTPayload, typ?: string) =>
        new SignJWT({ iss: clientId, aud: ISSUER, iat: now(), exp: now() + 60, jti: randomUUID(), ...claims })
          .setProtectedHeader({ alg: 'ES256', ...(typ ? { typ } : {}) })
          .sign(privateKey);
      // Two matching keys: both are tried, the right one verifies.
      const two = await cc(withAssertion(await kidless('two-keys', { sub: 'two-keys' })));
      assert.equal(two.statusCode, 200, two.body);
      // Four: refused although the signature is good, with a description naming the fix.
      const many = await cc(withAssertion(await kidless('many-keys', { sub: 'many-keys' })));
      assert.equal(many.statusCode, 401, many.body);
      assert.equal(many.json().error, 'invalid_client');
      assert.match(many.json().error_description, /kid/);
      const { challenge } = pkce();
      const inner = {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        client_id: 'many-keys',
      };
      const ro = await app.server.inject({
        url: authorizeUrl({
          client_id: 'many-keys',
          request: await kidless('many-keys', inner, 'oauth-authz-req+jwt'),
          redirect_uri: REDIRECT,
        }),
      });
      assert.equal(ro.statusCode, 303, ro.body.slice(0, 200));
      const loc = new URL(ro.headers.location as string);
      assert.equal(loc.searchParams.get('error'), 'invalid_request_object');
      assert.match(loc.searchParams.get('error_description') ?? '', /kid/);
    });

    it('50 parallel uses of one assertion: exactly one token', async () => {
      const jwt = await assertion('pkj');
      const results = await Promise.all(Array.from({ length: 50 }, () => cc(withAssertion(jwt))));
      assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
      assert.equal(results.filter((r) => r.statusCode === 401).length, 49);
    });

    it('a code flow with a request object and private_key_jwt at the token endpoint; only the parameters inside count', async () => {
      const { verifier, challenge } = pkce();
      const inner = {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid profile',
        state: 'inner-state',
        nonce: 'n1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const request = await requestObject('jar', inner);
      // The outer scope and state are ignored (RFC 9101 section 5).
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'jar',
        request,
        scope: 'openid offline_access',
        state: 'outer',
      });
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT);
      assert.equal(redirect.searchParams.get('state'), 'inner-state');
      const code = redirect.searchParams.get('code')!;
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        ...withAssertion(await assertion('jar')),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().scope, 'openid profile');
      assert.equal(decodeJwt(res.json().id_token).nonce, 'n1');
      // The same request object again: refused as a replay (to the registered outer redirect_uri when there is one).
      const again = await app.server.inject({
        url: authorizeUrl({ client_id: 'jar', request, redirect_uri: REDIRECT, state: 'o' }),
      });
      assert.equal(again.statusCode, 303);
      const loc = new URL(again.headers.location as string);
      assert.equal(loc.searchParams.get('error'), 'invalid_request_object');
      assert.equal(loc.searchParams.get('state'), 'o');
    });

    it('a request object pushed to /par (RFC 9126 section 3): only its parameters are stored; a bad one is refused as JSON', async () => {
      const { verifier, challenge } = pkce();
      const inner = {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid profile',
        state: 'pushed-state',
        nonce: 'n2',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const pushed = await form(app, '/par', {
        request: await requestObject('jar', inner),
        scope: 'openid offline_access',
        state: 'outer',
        ...withAssertion(await assertion('jar')),
      });
      assert.equal(pushed.statusCode, 201, pushed.body);
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'jar',
        request_uri: pushed.json().request_uri,
      });
      assert.equal(redirect.searchParams.get('state'), 'pushed-state');
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        ...withAssertion(await assertion('jar')),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().scope, 'openid profile');
      const unsigned = new UnsecuredJWT({
        iss: 'jar',
        aud: ISSUER,
        exp: now() + 60,
        jti: randomUUID(),
        ...inner,
      }).encode();
      const refused = await form(app, '/par', { request: unsigned, ...withAssertion(await assertion('jar')) });
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error, 'invalid_request_object');
    });

    it('refused request objects: an error page unless the outer request names a registered redirect_uri', async () => {
      const { challenge } = pkce();
      const inner = {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const unsigned = new UnsecuredJWT({
        iss: 'jar',
        aud: ISSUER,
        exp: now() + 60,
        jti: randomUUID(),
        ...inner,
      }).encode();
      // (An OpenID request must name its redirect_uri; without one nothing is redirected.)
      const page = await app.server.inject({
        url: authorizeUrl({ client_id: 'jar', request: unsigned, scope: 'openid' }),
      });
      assert.equal(page.statusCode, 400);
      assert.equal(page.headers.location, undefined);
      assert.match(page.body, /invalid_request_object/);
      const evil = await app.server.inject({
        url: authorizeUrl({ client_id: 'jar', request: unsigned, redirect_uri: 'https://evil.example/cb' }),
      });
      assert.equal(evil.statusCode, 400);
      assert.equal(evil.headers.location, undefined);
      for (const request of [
        unsigned,
        await requestObject('jar', inner, { aud: 'https://other.example' }),
        await requestObject('jar', inner, { client_id: 'jar-only' }),
        await requestObject('jar', inner, { exp: now() + 7200 }),
        'garbage',
      ]) {
        const res = await app.server.inject({
          url: authorizeUrl({ client_id: 'jar', request, redirect_uri: REDIRECT }),
        });
        assert.equal(res.statusCode, 303, res.body.slice(0, 200));
        assert.equal(new URL(res.headers.location as string).searchParams.get('error'), 'invalid_request_object');
      }
      const huge = await form(app, '/authorize', {
        client_id: 'jar',
        redirect_uri: REDIRECT,
        request: await requestObject('jar', inner, { pad: 'x'.repeat(20000) }),
      });
      assert.equal(huge.statusCode, 400, 'an over-long parameter is refused before anything is trusted');
      assert.equal(huge.headers.location, undefined);
      // A request object signed for another client is refused for the outer client.
      const other = await app.server.inject({
        url: authorizeUrl({
          client_id: 'web',
          request: await requestObject('jar', inner),
          redirect_uri: 'https://app.example/cb',
        }),
      });
      assert.equal(new URL(other.headers.location as string).searchParams.get('error'), 'invalid_request_object');
      // Unknown client: a page.
      const unknown = await app.server.inject({
        url: authorizeUrl({ client_id: 'nobody', request: await requestObject('jar', inner) }),
      });
      assert.equal(unknown.statusCode, 400);
      // request and request_uri together, and a request_uri this server did not issue at /par (request
      // objects by reference are not fetched): an error page, since no redirect URI can be trusted.
      const both = await app.server.inject({
        url: authorizeUrl({
          client_id: 'jar',
          request: await requestObject('jar', inner),
          request_uri: 'urn:x',
          redirect_uri: REDIRECT,
        }),
      });
      assert.equal(both.statusCode, 400);
      assert.equal(both.headers.location, undefined);
      const byRef = await app.server.inject({
        url: authorizeUrl({ client_id: 'jar', request_uri: 'https://jar.example/ro', ...inner }),
      });
      assert.equal(byRef.statusCode, 400);
      assert.equal(byRef.headers.location, undefined);
    });

    it('require_signed_request_object: plain requests are refused, signed ones accepted', async () => {
      const { challenge } = pkce();
      const inner = {
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'st',
      };
      const plain = await app.server.inject({ url: authorizeUrl({ client_id: 'jar-only', ...inner }) });
      assert.equal(plain.statusCode, 303);
      const loc = new URL(plain.headers.location as string);
      assert.equal(loc.searchParams.get('error'), 'invalid_request');
      assert.equal(loc.searchParams.get('state'), 'st');
      const signed = await app.server.inject({
        url: authorizeUrl({ client_id: 'jar-only', request: await requestObject('jar-only', inner) }),
      });
      assert.equal(signed.statusCode, 303);
      assert.match(signed.headers.location as string, /\/interaction\//);
      // POST with a form body works too.
      const post = await form(app, '/authorize', {
        client_id: 'jar-only',
        request: await requestObject('jar-only', inner),
      });
      assert.equal(post.statusCode, 303);
      assert.match(post.headers.location as string, /\/interaction\//);
    });
  });
}
