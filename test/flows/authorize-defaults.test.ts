/**
 * Issue 13 with openid-client v6 as the relying party, through Chromium and the real server:
 * an authorization request without scope (as MCP clients send when the resource declares none)
 * gets the client's registered scope, named in the token response (RFC 6749 section 3.3); a
 * client with the operator's PKCE opt-out signs in without PKCE (OpenID Connect with a nonce),
 * and a code_verifier for such a code is refused (RFC 9700 section 4.8.2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as client from 'openid-client';
import { browserSkip, browserSuite, decide, rejectsWith, screen, signIn } from './support.ts';

const SECRET = 'defaults-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const MCP = 'https://mcp.example/';

describe('scope left out and the PKCE opt-out (openid-client)', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        {
          client_id: 'mcp',
          client_name: 'MCP client',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'mcp:tools',
          allowed_resources: [MCP],
        },
        {
          client_id: 'legacy',
          client_name: 'Legacy app',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          grant_types: ['authorization_code'],
          scope: 'openid profile',
          pkce_required: false,
        },
      ],
      users: [{ username: 'alice', password: PASSWORD }],
    }),
    { secret: SECRET, env: { TESSERA_EXTRA_SCOPES: 'mcp:tools' } },
  );

  /** Signs in through the pages and returns the callback URL. */
  const through = async (url: URL): Promise<URL> => {
    await env.page.goto(url.href);
    if ((await screen(env.page, env.cb.origin)) === 'login') await signIn(env.page, 'alice', PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent') await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback', env.page.url());
    return new URL(env.page.url());
  };

  it('no scope in the request: the registered scope applies and the token response says so', async () => {
    await env.fresh();
    const config = await env.webConfig('mcp');
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: env.cb.url('/callback'),
      state,
      resource: MCP,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    assert.equal(url.searchParams.get('scope'), null, 'openid-client sends no scope unless given one');
    const tokens = await client.authorizationCodeGrant(
      config,
      await through(url),
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: MCP },
    );
    assert.equal(tokens.scope, 'mcp:tools');
    assert.equal(tokens.id_token, undefined);
    assert.ok(tokens.refresh_token);
  });

  it('a client with the PKCE opt-out signs in without PKCE, with a nonce; a verifier for that code is refused', async () => {
    await env.fresh();
    const config = await env.webConfig('legacy');
    const request = () => {
      const state = client.randomState();
      const nonce = client.randomNonce();
      return {
        state,
        nonce,
        url: client.buildAuthorizationUrl(config, {
          redirect_uri: env.cb.url('/callback'),
          scope: 'openid profile',
          state,
          nonce,
        }),
      };
    };
    const first = request();
    const tokens = await client.authorizationCodeGrant(config, await through(first.url), {
      expectedState: first.state,
      expectedNonce: first.nonce,
    });
    assert.equal(tokens.claims()?.nonce, first.nonce);
    // RFC 9700 section 4.8.2: the same kind of code with a code_verifier is a downgrade.
    const second = request();
    await rejectsWith(
      client.authorizationCodeGrant(config, await through(second.url), {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: second.state,
        expectedNonce: second.nonce,
      }),
      'invalid_grant',
    );
    // Without a nonce the request is refused at the redirect URI.
    const state = client.randomState();
    await env.page.goto(
      client.buildAuthorizationUrl(config, { redirect_uri: env.cb.url('/callback'), scope: 'openid', state }).href,
    );
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    assert.equal(new URL(env.page.url()).searchParams.get('error'), 'invalid_request');
  });
});
