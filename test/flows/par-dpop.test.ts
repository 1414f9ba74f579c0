/**
 * Pushed authorization requests (RFC 9126) and DPoP (RFC 9449) end to end: the real server, the
 * real login and consent pages in Chromium, and openid-client as the relying party, which pushes
 * the request, signs the DPoP proofs and follows the server's DPoP nonces by itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import {
  browserSkip,
  decide,
  launchBrowser,
  rejectsWith,
  rpConfig,
  screen,
  signIn,
  startCallbackServer,
  type CallbackServer,
} from './support.ts';

const PASSWORD = 'correct horse battery staple';
const SECRET = 'fapi-client-secret-0123456789-abcdefgh';

describe('PAR + PKCE + DPoP flows (openid-client, Chromium)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        // Every authorization request must be pushed, and every DPoP proof must carry a server nonce.
        env: { TESSERA_REQUIRE_PAR: 'true', TESSERA_DPOP_REQUIRE_NONCE: 'true' },
        bootstrap: {
          clients: [
            {
              client_id: 'spa',
              client_name: 'Single-page app',
              token_endpoint_auth_method: 'none',
              redirect_uris: [cb.url('/spa')],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile email',
            },
            {
              client_id: 'fapi',
              client_name: 'Bank app',
              client_secret: SECRET,
              redirect_uris: [cb.url('/fapi')],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile offline_access',
              dpop_bound_access_tokens: true,
            },
          ],
          users: [
            {
              username: 'alice',
              password: PASSWORD,
              email: 'alice@example.com',
              email_verified: true,
              name: 'Alice Example',
            },
          ],
        },
      }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  /** The browser part: open the authorization URL, sign in, allow; returns the callback URL. */
  async function signInAndAllow(url: URL): Promise<URL> {
    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    try {
      const page: Page = await context.newPage();
      await page.goto(url.href);
      let s = await screen(page, cb.origin);
      if (s === 'login') {
        await signIn(page, 'alice', PASSWORD);
        s = await screen(page, cb.origin);
      }
      if (s === 'consent') {
        await decide(page, 'Allow');
        s = await screen(page, cb.origin);
      }
      assert.equal(s, 'callback', `expected the callback, the browser shows ${page.url()}`);
      return new URL(page.url());
    } finally {
      await context.close();
    }
  }

  async function pushedRequest(
    config: client.Configuration,
    redirectUri: string,
    scope: string,
    DPoP: client.DPoPHandle,
  ) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(
      config,
      {
        redirect_uri: redirectUri,
        scope,
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      { DPoP },
    );
    return { url, verifier, state, nonce };
  }

  it('public client: PAR + PKCE + DPoP, a DPoP-bound userinfo call and a DPoP-bound refresh', async () => {
    const config = await rpConfig(server.issuer, 'spa', client.None());
    assert.equal(config.serverMetadata().pushed_authorization_request_endpoint, `${server.issuer}/par`);
    assert.equal(config.serverMetadata().require_pushed_authorization_requests, true);
    assert.ok(config.serverMetadata().dpop_signing_alg_values_supported?.includes('ES256'));
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256');
    const DPoP = client.getDPoPHandle(config, keyPair);

    const req = await pushedRequest(config, cb.url('/spa'), 'openid profile email', DPoP);
    // What the browser is sent to carries only client_id and the request_uri.
    assert.deepEqual([...req.url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.match(req.url.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
    const callback = await signInAndAllow(req.url);
    assert.equal(callback.searchParams.get('iss'), server.issuer);

    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce },
      undefined,
      { DPoP },
    );
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt });
    assert.ok(tokens.refresh_token);
    const sub = tokens.claims()!.sub;

    // UserInfo with the DPoP scheme and a proof bound to the token (ath).
    const info = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP });
    assert.equal(info.email, 'alice@example.com');
    // The same token as a bearer token is refused with a DPoP challenge.
    const bearer = await fetch(`${server.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(bearer.status, 401);
    assert.match(bearer.headers.get('www-authenticate')!, /^DPoP .*error="invalid_token"/);
    // Without the key, the token is useless: another key's proofs are refused.
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, sub, { DPoP: thief }));

    // The refresh token of a public client is bound to the key: another key cannot use it.
    await rejectsWith(
      client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: thief }),
      'invalid_grant',
    );
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
    assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { jkt });
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal((await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP })).sub, sub);
  });

  it('confidential client registered for DPoP: refused without a proof, served with one; a plain authorization request is refused', async () => {
    const config = await rpConfig(server.issuer, 'fapi', client.ClientSecretBasic(SECRET));
    // A plain (not pushed) request gets an error at the redirect URI instead of a sign-in page.
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const plain = client.buildAuthorizationUrl(config, {
        redirect_uri: cb.url('/fapi'),
        scope: 'openid',
        state: 'plain-state',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      await page.goto(plain.href);
      const refused = new URL(page.url());
      assert.equal(refused.origin + refused.pathname, cb.url('/fapi'));
      assert.equal(refused.searchParams.get('error'), 'invalid_request');
      assert.equal(refused.searchParams.get('state'), 'plain-state');
    } finally {
      await context.close();
    }

    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const req = await pushedRequest(config, cb.url('/fapi'), 'openid profile offline_access', DPoP);
    const callback = await signInAndAllow(req.url);
    const checks = { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce };
    // The code is bound to the key of the proof sent at /par, and the client must use DPoP.
    await rejectsWith(client.authorizationCodeGrant(config, callback, checks), 'invalid_dpop_proof');
    const tokens = await client.authorizationCodeGrant(config, callback, checks, undefined, { DPoP });
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    const intro = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.token_type, 'DPoP');
    assert.ok((intro.cnf as { jkt?: string } | undefined)?.jkt);
  });
});
