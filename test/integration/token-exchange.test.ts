import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const ORDERS = 'https://orders.example/';
const GW_SECRET = 'gateway-secret-0123456789-abcdefghijklmnop';

function assertOAuthError(res: LightMyRequestResponse, status: number, error: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error, error);
  assert.equal(res.headers['cache-control'], 'no-store');
}

for (const backend of await backends()) {
  describe(`token exchange, RFC 8693 (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
      const now = app.provider.now();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'gateway',
          client_secret: GW_SECRET,
          grant_types: [GRANT],
          scope: 'openid profile api:read',
          redirect_uris: [],
          token_exchange: { audiences: [ORDERS, 'billing'], subject_clients: ['web', 'svc'] },
        },
        now,
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const exchange = (subject: string, extra: Record<string, string> = {}, auth = basic('gateway', GW_SECRET)) =>
      form(
        app,
        '/token',
        { grant_type: GRANT, subject_token: subject, subject_token_type: AT, audience: ORDERS, ...extra },
        { authorization: auth },
      );
    const introspect = async (token: string) =>
      (await form(app, '/introspect', { token }, { authorization: basic('rs') })).json();

    async function userTokens() {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid profile offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      );
      return res.json() as { access_token: string; refresh_token: string };
    }

    it("exchanges a user's access token for one with the allowed audience; revoking the user's grant revokes it", async () => {
      const user = await userTokens();
      const res = await exchange(user.access_token);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.equal(body.issued_token_type, AT);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'openid profile');
      assert.equal(body.refresh_token, undefined);
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const { payload } = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, audience: ORDERS, typ: 'at+jwt' });
      const subject = decodeJwt(user.access_token);
      assert.equal(payload.sub, subject.sub);
      assert.equal(payload.client_id, 'gateway');
      assert.equal(payload.auth_time, subject.auth_time);
      assert.ok(payload.exp! <= subject.exp!);
      assert.equal((await introspect(body.access_token)).active, true);
      // Revoking the refresh token revokes the family: the exchanged token goes with it.
      assert.equal(
        (await form(app, '/revoke', { token: user.refresh_token }, { authorization: basic('web') })).statusCode,
        200,
      );
      assert.equal((await introspect(body.access_token)).active, false);
      assertOAuthError(await exchange(user.access_token), 400, 'invalid_request');
    });

    it('exchanges a service token, narrowing the scope when asked', async () => {
      const svc = (
        await form(
          app,
          '/token',
          { grant_type: 'client_credentials', scope: 'api:read api:write' },
          { authorization: basic('svc') },
        )
      ).json();
      const res = await exchange(svc.access_token, { audience: 'billing', scope: 'api:read' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().scope, 'api:read');
      const claims = decodeJwt(res.json().access_token);
      assert.equal(claims.sub, 'svc');
      assert.equal(claims.aud, 'billing');
      assertOAuthError(await exchange(svc.access_token, { scope: 'api:write' }), 400, 'invalid_scope');
    });

    it('refuses what the policy or RFC 8693 do not allow', async () => {
      const user = await userTokens();
      assertOAuthError(await exchange(user.access_token, { audience: 'https://evil.example/' }), 400, 'invalid_target');
      assertOAuthError(
        await exchange(user.access_token, { audience: '', resource: 'https://evil.example/' }),
        400,
        'invalid_target',
      );
      assertOAuthError(await exchange(user.access_token, { audience: '' }), 400, 'invalid_request');
      assertOAuthError(await exchange(user.access_token, { resource: ORDERS }), 400, 'invalid_request');
      assertOAuthError(
        await exchange(user.access_token, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }),
        400,
        'invalid_request',
      );
      assertOAuthError(
        await exchange(user.access_token, { actor_token: user.access_token, actor_token_type: AT }),
        400,
        'invalid_request',
      );
      assertOAuthError(
        await exchange(user.access_token, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
        400,
        'invalid_request',
      );
      assertOAuthError(await exchange('not-a-token'), 400, 'invalid_request');
      assertOAuthError(await exchange(user.refresh_token), 400, 'invalid_request');
      assertOAuthError(await exchange(`${user.access_token.slice(0, -4)}AAAA`), 400, 'invalid_request');
      assertOAuthError(await exchange(user.access_token, { subject_token: '' }), 400, 'invalid_request');
      // A token of a client the policy does not name (the exchanged token itself is one: client_id gateway).
      const exchanged = (await exchange(user.access_token)).json().access_token;
      assertOAuthError(await exchange(exchanged), 400, 'invalid_request');
      // Only confidential clients registered for the grant.
      assertOAuthError(await exchange(user.access_token, {}, basic('web')), 400, 'unauthorized_client');
      assertOAuthError(
        await form(app, '/token', {
          grant_type: GRANT,
          client_id: 'spa',
          subject_token: user.access_token,
          subject_token_type: AT,
          audience: ORDERS,
        }),
        400,
        'unauthorized_client',
      );
      assertOAuthError(await exchange(user.access_token, {}, basic('gateway', 'wrong')), 401, 'invalid_client');
      const json = await app.server.inject({
        method: 'POST',
        url: '/token',
        payload: JSON.stringify({ grant_type: GRANT }),
        headers: { 'content-type': 'application/json', authorization: basic('gateway', GW_SECRET) },
      });
      assertOAuthError(json, 400, 'invalid_request');
      assertOAuthError(await exchange('x'.repeat(9000)), 400, 'invalid_request');
    });

    it('registration: the grant needs a confidential client and a valid policy, and the policy needs the grant', async () => {
      const now = app.provider.now();
      const config = app.provider.config;
      const bad = [
        { client_id: 'te1', client_secret: GW_SECRET, grant_types: [GRANT], redirect_uris: [] },
        {
          client_id: 'te2',
          token_endpoint_auth_method: 'none',
          grant_types: [GRANT],
          redirect_uris: [],
          token_exchange: { audiences: [ORDERS], subject_clients: ['*'] },
        },
        {
          client_id: 'te3',
          client_secret: GW_SECRET,
          grant_types: [GRANT],
          redirect_uris: [],
          token_exchange: { audiences: [], subject_clients: ['*'] },
        },
        {
          client_id: 'te4',
          client_secret: GW_SECRET,
          grant_types: [GRANT],
          redirect_uris: [],
          token_exchange: { audiences: ['a b'], subject_clients: ['*'] },
        },
        {
          client_id: 'te5',
          client_secret: GW_SECRET,
          grant_types: [GRANT],
          redirect_uris: [],
          token_exchange: { audiences: [ORDERS], subject_clients: ['*'], extra: 1 },
        },
        {
          client_id: 'te6',
          client_secret: GW_SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          token_exchange: { audiences: [ORDERS], subject_clients: ['*'] },
        },
      ] as Parameters<typeof saveClient>[2][];
      for (const input of bad)
        await assert.rejects(saveClient(app.stores, config, input, now), AdminError, input.client_id);
      const ok = await saveClient(
        app.stores,
        config,
        {
          client_id: 'te7',
          client_secret: GW_SECRET,
          grant_types: [GRANT],
          redirect_uris: [],
          token_exchange: { audiences: [ORDERS], subject_clients: ['*'] },
        },
        now,
      );
      assert.deepEqual(ok.client.metadata.token_exchange, { audiences: [ORDERS], subject_clients: ['*'] });
      // Dropping the grant drops the policy.
      const dropped = await saveClient(
        app.stores,
        config,
        { client_id: 'te7', grant_types: ['client_credentials'] },
        now,
      );
      assert.equal(dropped.client.metadata.token_exchange, undefined);
    });

    it('advertises the grant in discovery', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.ok(doc.grant_types_supported.includes(GRANT));
    });
  });
}
