/**
 * FAPI 2.0 Security Profile mode over HTTP with inject(), on SQLite and PostgreSQL: globally
 * (TESSERA_FAPI_PROFILE=2.0) and for one client (fapi_profile "2.0"), with the refusals the profile
 * adds and its refresh tokens that are not rotated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { authorizeUrl, authorizeWithLogin, backends, basic, form, Jar, pkce, testApp } from '../fixtures/app.ts';
import {
  clientAssertion,
  dpopProof,
  newKey,
  requestObject,
  type Clock,
  type ClientKey,
} from '../fixtures/client-keys.ts';

const REDIRECT = 'https://fapi.example/cb';
const key = await newKey('fapi-1');
const rsaKey = await newKey('fapi-rs', 'RS256');

for (const backend of await backends()) {
  describe(`FAPI 2.0 profile (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let global: App;
    let perClient: App;
    let offset = 0;
    const clock: Clock = () => Math.floor(Date.now() / 1000) + offset;
    before(async () => {
      global = await testApp(backend.url!, { TESSERA_FAPI_PROFILE: '2.0' });
      // Codes of other clients live 300 s here; the FAPI client's at most 60 s.
      perClient = await testApp(backend.url!, { TESSERA_CODE_TTL: '300' }, { now: clock });
      for (const [app, fapi] of [
        [global, undefined],
        [perClient, '2.0'],
      ] as const) {
        await saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: 'fapi',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [key.jwk, rsaKey.jwk] },
            redirect_uris: [REDIRECT],
            grant_types: ['authorization_code', 'refresh_token'],
            scope: 'openid profile offline_access',
            ...(fapi ? { fapi_profile: fapi } : {}),
          },
          app.provider.now(),
        );
      }
      await saveClient(
        perClient.stores,
        perClient.provider.config,
        {
          client_id: 'fapi-ms',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key.jwk] },
          redirect_uris: [REDIRECT],
          grant_types: ['authorization_code'],
          scope: 'openid',
          fapi_profile: '2.0',
          fapi_message_signing: true,
        },
        perClient.provider.now(),
      );
    });
    after(async () => {
      await global?.close();
      await perClient?.close();
      await backend.drop?.();
    });

    const authParams = (challenge: string, extra: Record<string, string> = {}) => ({
      client_id: 'fapi',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid offline_access',
      state: 's',
      nonce: 'n',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    async function push(app: App, challenge: string, dpopKey?: ClientKey): Promise<LightMyRequestResponse> {
      return form(
        app,
        '/par',
        { ...authParams(challenge), ...(await clientAssertion('fapi', key, clock)) },
        dpopKey ? { dpop: await dpopProof(dpopKey, '/par', clock) } : {},
      );
    }
    async function code(app: App): Promise<{ code: string; verifier: string }> {
      const { verifier, challenge } = pkce();
      const res = await push(app, challenge);
      assert.equal(res.statusCode, 201, res.body);
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'fapi',
        request_uri: res.json().request_uri,
      });
      assert.ok(redirect.searchParams.get('code'), redirect.href);
      return { code: redirect.searchParams.get('code')!, verifier };
    }
    async function redeem(
      app: App,
      c: { code: string; verifier: string },
      dpopKey?: ClientKey,
    ): Promise<LightMyRequestResponse> {
      return form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: REDIRECT,
          ...(await clientAssertion('fapi', key, clock)),
        },
        dpopKey ? { dpop: await dpopProof(dpopKey, '/token', clock) } : {},
      );
    }
    async function refresh(app: App, token: string, dpopKey?: ClientKey): Promise<LightMyRequestResponse> {
      return form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: token, ...(await clientAssertion('fapi', key, clock)) },
        dpopKey ? { dpop: await dpopProof(dpopKey, '/token', clock) } : {},
      );
    }

    it('discovery requires PAR and lists only private_key_jwt when the profile is global', async () => {
      const d = (await global.server.inject('/.well-known/openid-configuration')).json();
      assert.equal(d.require_pushed_authorization_requests, true);
      assert.deepEqual(d.token_endpoint_auth_methods_supported, ['private_key_jwt']);
      assert.deepEqual(d.introspection_endpoint_auth_methods_supported, ['private_key_jwt']);
      for (const k of [
        'token_endpoint_auth_signing_alg_values_supported',
        'request_object_signing_alg_values_supported',
        'dpop_signing_alg_values_supported',
      ]) {
        assert.ok(
          d[k].length > 0 && d[k].every((a: string) => ['PS256', 'ES256', 'EdDSA', 'Ed25519'].includes(a)),
          `${k}: ${d[k]}`,
        );
      }
      const plain = (await perClient.server.inject('/.well-known/openid-configuration')).json();
      assert.equal(plain.require_pushed_authorization_requests, false);
      assert.ok(plain.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    });

    it('refuses a plain (not pushed) authorization request', async () => {
      for (const app of [global, perClient]) {
        const res = await app.server.inject({ method: 'GET', url: authorizeUrl(authParams(pkce().challenge)) });
        assert.equal(res.statusCode, 303);
        const to = new URL(res.headers.location as string);
        assert.equal(to.origin + to.pathname, REDIRECT);
        assert.equal(to.searchParams.get('error'), 'invalid_request');
        assert.match(to.searchParams.get('error_description')!, /pushed/);
      }
    });

    it('refuses client_secret_basic, client_secret_post and public clients (global mode)', async () => {
      const { challenge } = pkce();
      const web = await form(
        global,
        '/par',
        {
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        { authorization: basic('web') },
      );
      assert.equal(web.statusCode, 401, web.body);
      assert.equal(web.json().error, 'invalid_client');
      const post = await form(global, '/par', {
        client_id: 'web-post',
        client_secret: 'post-secret-0123456789-abcdefghijklmnop',
        redirect_uri: 'https://post.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      assert.equal(post.statusCode, 401);
      const spa = await form(global, '/par', {
        client_id: 'spa',
        redirect_uri: 'https://spa.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      assert.equal(spa.statusCode, 401);
      assert.equal(spa.json().error, 'invalid_client');
      const cc = await form(
        global,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic('svc') },
      );
      assert.equal(cc.statusCode, 401);
      const introspect = await form(global, '/introspect', { token: 'x' }, { authorization: basic('rs') });
      assert.equal(introspect.statusCode, 401);
      // Each refusal is in the audit trail as a failure, with its reason.
      await global.audit.flush();
      const records = (await global.stores.audit.query({ type: 'fapi_refused' })).filter(
        (r) => r.clientId === 'web' || r.clientId === 'spa',
      );
      assert.ok(records.length >= 2);
      for (const r of records) {
        assert.equal(r.outcome, 'failure');
        assert.deepEqual(r.details, { reason: 'auth_method' });
      }
    });

    it('refuses RS256 (outside PS256, ES256, EdDSA) for client assertions, DPoP proofs and request objects', async () => {
      const { challenge } = pkce();
      const assertion = await form(global, '/par', {
        ...authParams(challenge),
        ...(await clientAssertion('fapi', rsaKey, clock)),
      });
      assert.equal(assertion.statusCode, 401, assertion.body);
      assert.equal(assertion.json().error, 'invalid_client');
      const proof = await form(
        global,
        '/par',
        { ...authParams(challenge), ...(await clientAssertion('fapi', key, clock)) },
        { dpop: await dpopProof(await newKey(undefined, 'RS256'), '/par', clock) },
      );
      assert.equal(proof.statusCode, 400, proof.body);
      assert.equal(proof.json().error, 'invalid_dpop_proof');
      const ro = await form(global, '/par', {
        client_id: 'fapi',
        request: await requestObject('fapi', rsaKey, authParams(challenge), clock),
        ...(await clientAssertion('fapi', key, clock)),
      });
      assert.equal(ro.statusCode, 400, ro.body);
      assert.equal(ro.json().error, 'invalid_request_object');
      const c = await code(global);
      const token = await redeem(global, c, await newKey(undefined, 'RS256'));
      assert.equal(token.statusCode, 400, token.body);
      assert.equal(token.json().error, 'invalid_dpop_proof');
      // ES256 everywhere is fine, including a signed request object.
      const good = await form(global, '/par', {
        client_id: 'fapi',
        request: await requestObject('fapi', key, authParams(challenge), clock),
        ...(await clientAssertion('fapi', key, clock)),
      });
      assert.equal(good.statusCode, 201, good.body);
    });

    it('refuses a FAPI client registered with a shared secret', async () => {
      await assert.rejects(
        saveClient(
          perClient.stores,
          perClient.provider.config,
          { client_id: 'bad-fapi', client_secret: 'x'.repeat(40), redirect_uris: [REDIRECT], fapi_profile: '2.0' },
          perClient.provider.now(),
        ),
        /FAPI 2.0 client must authenticate with private_key_jwt/,
      );
    });

    it('requires redirect_uri in the pushed request', async () => {
      const { challenge } = pkce();
      const params: Record<string, string> = {
        ...authParams(challenge),
        ...(await clientAssertion('fapi', key, clock)),
      };
      delete params.redirect_uri;
      const res = await form(global, '/par', params);
      assert.equal(res.statusCode, 400);
      assert.match(res.json().error_description, /redirect_uri is required/);
    });

    it('refuses a bearer (unbound) token request and leaves the code usable with DPoP', async () => {
      for (const app of [global, perClient]) {
        const c = await code(app);
        const bearer = await redeem(app, c);
        assert.equal(bearer.statusCode, 400, bearer.body);
        assert.equal(bearer.json().error, 'invalid_request');
        assert.match(bearer.json().error_description, /sender-constrained/);
        const dpopKey = await newKey();
        const bound = await redeem(app, c, dpopKey);
        assert.equal(bound.statusCode, 200, bound.body);
        assert.equal(bound.json().token_type, 'DPoP');
        assert.deepEqual(decodeJwt(bound.json().access_token).cnf, { jkt: dpopKey.jkt });
      }
    });

    it('refuses a code older than 60 s for a FAPI client even though codes live 300 s here', async () => {
      const c = await code(perClient);
      offset = 61;
      try {
        const res = await redeem(perClient, c, await newKey());
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error, 'invalid_grant');
        assert.match(res.json().error_description, /expired/);
      } finally {
        offset = 0;
      }
      // A plain client's code of the same age is still good (TESSERA_CODE_TTL=300).
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(perClient, new Jar(), {
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      offset = 61;
      try {
        const res = await form(
          perClient,
          '/token',
          {
            grant_type: 'authorization_code',
            code: redirect.searchParams.get('code')!,
            code_verifier: verifier,
            redirect_uri: 'https://app.example/cb',
          },
          { authorization: basic('web') },
        );
        assert.equal(res.statusCode, 200, res.body);
      } finally {
        offset = 0;
      }
    });

    it('does not rotate refresh tokens; they stay bound to the client and its DPoP key', async () => {
      for (const app of [global, perClient]) {
        const dpopKey = await newKey();
        const tokens = (await redeem(app, await code(app), dpopKey)).json();
        assert.ok(tokens.refresh_token);
        const first = await refresh(app, tokens.refresh_token, dpopKey);
        assert.equal(first.statusCode, 200, first.body);
        assert.equal(first.json().refresh_token, undefined, 'no new refresh token: the old one stays');
        assert.deepEqual(decodeJwt(first.json().access_token).cnf, { jkt: dpopKey.jkt });
        // Used again (and in parallel): still good, every answer a fresh access token.
        const again = await Promise.all(Array.from({ length: 5 }, () => refresh(app, tokens.refresh_token, dpopKey)));
        assert.deepEqual(
          again.map((r) => r.statusCode),
          [200, 200, 200, 200, 200],
        );
        assert.equal(new Set(again.map((r) => r.json().access_token)).size, 5);
        // Another DPoP key, or none, is refused; the token is still good afterwards.
        const otherKey = await refresh(app, tokens.refresh_token, await newKey());
        assert.equal(otherKey.statusCode, 400);
        assert.equal(otherKey.json().error, 'invalid_grant');
        const noKey = await refresh(app, tokens.refresh_token);
        assert.equal(noKey.statusCode, 400);
        assert.equal(noKey.json().error, 'invalid_request');
        assert.equal((await refresh(app, tokens.refresh_token, dpopKey)).statusCode, 200);
        // Introspection still reports it active (it was never marked used).
        const active = await form(app, '/introspect', {
          token: tokens.refresh_token,
          ...(await clientAssertion('fapi', key, clock)),
        });
        assert.equal(active.json().active, true);
        // Revoking it ends the family: the next use and every access token from it are dead.
        const rev = await form(app, '/revoke', {
          token: tokens.refresh_token,
          ...(await clientAssertion('fapi', key, clock)),
        });
        assert.equal(rev.statusCode, 200);
        const after = await refresh(app, tokens.refresh_token, dpopKey);
        assert.equal(after.statusCode, 400);
        assert.equal(after.json().error, 'invalid_grant');
        const at = await form(app, '/introspect', {
          token: again[0]!.json().access_token,
          ...(await clientAssertion('fapi', key, clock)),
        });
        assert.equal(at.json().active, false);
      }
    });

    it('Message Signing: requires a signed request object and a JWT response mode at PAR', async () => {
      const { challenge } = pkce();
      const base = {
        client_id: 'fapi-ms',
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const plain = await form(perClient, '/par', { ...base, ...(await clientAssertion('fapi-ms', key, clock)) });
      assert.equal(plain.statusCode, 400);
      assert.match(plain.json().error_description, /signed request object/);
      const signed = await form(perClient, '/par', {
        client_id: 'fapi-ms',
        request: await requestObject('fapi-ms', key, { ...base, response_mode: 'query' }, clock),
        ...(await clientAssertion('fapi-ms', key, clock)),
      });
      assert.equal(signed.statusCode, 400);
      assert.match(signed.json().error_description, /response_mode ending in jwt/);
      const jarm = await form(perClient, '/par', {
        client_id: 'fapi-ms',
        request: await requestObject('fapi-ms', key, { ...base, response_mode: 'jwt' }, clock),
        ...(await clientAssertion('fapi-ms', key, clock)),
      });
      assert.equal(jarm.statusCode, 201, jarm.body);
    });
  });
}
