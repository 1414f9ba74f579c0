/**
 * FAPI 2.0 Security Profile end to end: the real server in FAPI mode, Chromium on the real pages and
 * openid-client as the relying party doing PAR + private_key_jwt + DPoP + PKCE, with a rich
 * authorization request (RFC 9396) shown on the consent page and carried into the access token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
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
const SECRET = 'plain-client-secret-0123456789-abcdefgh';
const PAYMENT = {
  type: 'payment_initiation',
  actions: ['initiate'],
  instructedAmount: { currency: 'EUR', amount: '42.00' },
  creditorName: 'Bäckerei <Müller> & Söhne',
};

describe('FAPI 2.0: PAR + private_key_jwt + DPoP + PKCE + RAR (openid-client, Chromium)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let key: CryptoKey;
  let jwk: JWK;

  before(async () => {
    cb = await startCallbackServer();
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bank-1', alg: 'ES256', use: 'sig' };
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: {
          TESSERA_FAPI_PROFILE: '2.0',
          TESSERA_DPOP_REQUIRE_NONCE: 'true',
          TESSERA_AUTHORIZATION_DETAILS_TYPES: 'payment_initiation=instructedAmount|creditorName',
        },
        bootstrap: {
          clients: [
            {
              client_id: 'bank',
              client_name: 'Bank app',
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [jwk] },
              redirect_uris: [cb.url('/bank')],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile offline_access',
            },
            {
              client_id: 'plain',
              client_name: 'Plain app',
              client_secret: SECRET,
              redirect_uris: [cb.url('/plain')],
              grant_types: ['authorization_code'],
              scope: 'openid',
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

  it('a full flow; the consent page shows the payment; the DPoP-bound token carries it; refresh is not rotated', async () => {
    const config = await rpConfig(server.issuer, 'bank', client.PrivateKeyJwt({ key, kid: 'bank-1' }));
    const meta = config.serverMetadata();
    assert.equal(meta.require_pushed_authorization_requests, true);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.deepEqual(meta.authorization_details_types_supported, ['payment_initiation']);
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256');
    const DPoP = client.getDPoPHandle(config, keyPair);

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(
      config,
      {
        redirect_uri: cb.url('/bank'),
        scope: 'openid profile offline_access',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        authorization_details: JSON.stringify([PAYMENT]),
      },
      { DPoP },
    );
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);

    const context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    let callback: URL;
    try {
      const page = await context.newPage();
      await page.goto(url.href);
      assert.equal(await screen(page, cb.origin), 'login');
      await signIn(page, 'alice', PASSWORD);
      assert.equal(await screen(page, cb.origin), 'consent');
      // The details are on the page as text (escaped markup shows as the characters themselves).
      const details = await page.locator('.authorization-details').innerText();
      assert.match(details, /payment_initiation/);
      assert.match(details, /creditorName\s+Bäckerei <Müller> & Söhne/);
      assert.match(details, /"amount":"42.00"/);
      const html = await page.content();
      assert.ok(
        html.includes('Bäckerei &lt;Müller&gt; &amp; Söhne') && !html.includes('<Müller>'),
        'the value is escaped in the markup',
      );
      await decide(page, 'Allow');
      assert.equal(await screen(page, cb.origin), 'callback');
      callback = new URL(page.url());
    } finally {
      await context.close();
    }
    assert.equal(callback.searchParams.get('iss'), server.issuer);

    // A bearer (unbound) token request is refused; the same code then works with DPoP.
    await rejectsWith(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      }),
      'invalid_request',
    );
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      undefined,
      { DPoP },
    );
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    const claims = decodeJwt(tokens.access_token);
    assert.deepEqual(claims.cnf, { jkt });
    assert.deepEqual(claims.authorization_details, [PAYMENT]);
    assert.deepEqual(tokens.authorization_details, [PAYMENT]);
    assert.ok(tokens.refresh_token);

    const sub = tokens.claims()!.sub;
    assert.equal((await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })).sub, sub);

    // No rotation: the same refresh token works again, and each access token is bound and carries the details.
    for (let i = 0; i < 2; i++) {
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
      assert.equal(refreshed.refresh_token, undefined);
      assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { jkt });
      assert.deepEqual(decodeJwt(refreshed.access_token).authorization_details, [PAYMENT]);
    }
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    await rejectsWith(
      client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: thief }),
      'invalid_grant',
    );
  });

  it('refuses a client_secret_basic client and a plain (not pushed) authorization request', async () => {
    const plain = await rpConfig(server.issuer, 'plain', client.ClientSecretBasic(SECRET));
    await rejectsWith(
      client.buildAuthorizationUrlWithPAR(plain, {
        redirect_uri: cb.url('/plain'),
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }),
      'invalid_client',
    );
    const bank = await rpConfig(server.issuer, 'bank', client.PrivateKeyJwt({ key, kid: 'bank-1' }));
    const direct = client.buildAuthorizationUrl(bank, {
      redirect_uri: cb.url('/bank'),
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const res = await fetch(direct, { redirect: 'manual' });
    const to = new URL(res.headers.get('location')!);
    assert.equal(to.searchParams.get('error'), 'invalid_request');
    assert.match(to.searchParams.get('error_description')!, /pushed/);
  });
});
