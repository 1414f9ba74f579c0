/**
 * RFC 8707 resource indicators with openid-client v6 as the relying party, through Chromium:
 * several resources pushed with PAR, one resource per token at the token endpoint (its own
 * audience and scopes), downscoping at refresh, and invalid_target for what was not authorized.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { browserSkip, browserSuite, decide, rejectsWith, screen, signIn } from './support.ts';

const SECRET = 'resources-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const [ORDERS, BILLING, OTHER] = [
  'https://orders.api.example/',
  'https://billing.api.example/',
  'https://other.api.example/',
];

describe('resource indicators (openid-client)', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        {
          client_id: 'apis',
          client_name: 'APIs app',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid orders:read billing:read',
          allowed_resources: [ORDERS, BILLING, OTHER],
          resource_scopes: { [ORDERS]: ['orders:read'], [BILLING]: ['billing:read'] },
        },
      ],
      users: [{ username: 'alice', password: PASSWORD }],
    }),
    { secret: SECRET, env: { TESSERA_EXTRA_SCOPES: 'orders:read billing:read' } },
  );
  let config: client.Configuration;
  before(async () => {
    config = await env.webConfig('apis');
  });

  it('pushes two resources, gets a token for each, downscopes at refresh, and is refused anything else', async () => {
    await env.fresh();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const params = new URLSearchParams({
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid orders:read billing:read',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    params.append('resource', ORDERS);
    params.append('resource', BILLING);
    const url = await client.buildAuthorizationUrlWithPAR(config, params);
    await env.page.goto(url.href);
    await signIn(env.page, 'alice', PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent') await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');

    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(env.page.url()),
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: ORDERS },
    );
    const jwks = createRemoteJWKSet(new URL(`${env.server.issuer}/jwks`));
    const at = (await jwtVerify(tokens.access_token, jwks, { issuer: env.server.issuer, typ: 'at+jwt' })).payload;
    assert.equal(at.aud, ORDERS);
    assert.equal(at.scope, 'openid orders:read');

    const billing = await client.refreshTokenGrant(config, tokens.refresh_token!, { resource: BILLING });
    const bt = (await jwtVerify(billing.access_token, jwks, { issuer: env.server.issuer, typ: 'at+jwt' })).payload;
    assert.equal(bt.aud, BILLING);
    assert.equal(bt.scope, 'openid billing:read');

    const narrow = await client.refreshTokenGrant(config, billing.refresh_token!, {
      resource: BILLING,
      scope: 'billing:read',
    });
    assert.equal(
      (await jwtVerify(narrow.access_token, jwks, { issuer: env.server.issuer, typ: 'at+jwt' })).payload.scope,
      'billing:read',
    );

    await rejectsWith(client.refreshTokenGrant(config, narrow.refresh_token!, { resource: OTHER }), 'invalid_target');
    await rejectsWith(client.refreshTokenGrant(config, narrow.refresh_token!), 'invalid_target');
    await rejectsWith(
      client.refreshTokenGrant(config, narrow.refresh_token!, { resource: ORDERS, scope: 'orders:read orders:write' }),
      'invalid_scope',
    );
  });

  it('a pushed request naming a resource the client may not use is refused with invalid_target', async () => {
    const params = new URLSearchParams({
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    params.append('resource', 'https://unknown.api.example/');
    await rejectsWith(client.buildAuthorizationUrlWithPAR(config, params), 'invalid_target');
  });
});
