/**
 * private_key_jwt, client_secret_jwt and request objects (JAR) against the real server process, with
 * openid-client as the relying party, Chromium on the real pages, and the client's key set served
 * from a jwks_uri on 127.0.0.1 (development mode allows loopback http for it).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

const CSJ_SECRET = 'client-secret-jwt-0123456789-abcdefghijklmnop';
const PASSWORD = 'correct horse battery staple';

interface ClientKey {
  key: CryptoKey;
  kid: string;
  jwk: JWK;
}
async function clientKey(kid: string, alg: 'ES256' | 'PS256' | 'EdDSA' = 'ES256'): Promise<ClientKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  // openid-client signs with Ed25519 keys under RFC 9864's alg name Ed25519.
  return {
    key: privateKey,
    kid,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: alg === 'EdDSA' ? 'Ed25519' : alg, use: 'sig' },
  };
}

describe('JWT client authentication and request objects (black box)', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;
  let jwksServer: Server;
  let published: JWK[] = [];
  let jwksFetches = 0;
  let serviceKey: ClientKey;
  let webKey: ClientKey;

  before(async () => {
    serviceKey = await clientKey('svc-1');
    webKey = await clientKey('web-1', 'PS256');
    published = [serviceKey.jwk];
    jwksServer = createServer((_req, res) => {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: { TESSERA_CLIENT_JWKS_REFETCH_INTERVAL: '1' },
        bootstrap: {
          clients: [
            {
              client_id: 'svc-pkj',
              token_endpoint_auth_method: 'private_key_jwt',
              jwks_uri: jwksUri,
              grant_types: ['client_credentials'],
              scope: 'api.read',
              redirect_uris: [],
            },
            {
              client_id: 'svc-csj',
              token_endpoint_auth_method: 'client_secret_jwt',
              client_secret: CSJ_SECRET,
              token_endpoint_auth_signing_alg: 'HS256',
              grant_types: ['client_credentials'],
              scope: 'api.read',
              redirect_uris: [],
            },
            {
              client_id: 'web-jar',
              client_name: 'JAR app',
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [webKey.jwk] },
              token_endpoint_auth_signing_alg: 'PS256',
              request_object_signing_alg: 'PS256',
              require_signed_request_object: true,
              redirect_uris: [cb.url('/callback')],
              grant_types: ['authorization_code', 'refresh_token'],
              scope: 'openid profile email offline_access',
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
    await context?.close();
    await browser?.close();
    await server?.stop();
    await cb?.close();
    jwksServer?.closeAllConnections();
    await new Promise((r) => jwksServer?.close(r));
  });

  const pkj = (key: ClientKey) =>
    rpConfig(server.issuer, 'svc-pkj', client.PrivateKeyJwt({ key: key.key, kid: key.kid }));

  it('client_credentials with private_key_jwt (keys from the jwks_uri) and with client_secret_jwt; the tokens verify', async () => {
    const config = await pkj(serviceKey);
    const meta = config.serverMetadata();
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes('client_secret_jwt'));
    const jwks = createRemoteJWKSet(new URL(meta.jwks_uri!));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'api.read' });
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience: server.issuer,
      typ: 'at+jwt',
    });
    assert.equal(payload.client_id, 'svc-pkj');

    const csj = await rpConfig(server.issuer, 'svc-csj', client.ClientSecretJwt(CSJ_SECRET));
    const other = await client.clientCredentialsGrant(csj, { scope: 'api.read' });
    assert.equal(decodeJwt(other.access_token).client_id, 'svc-csj');
    // Introspection and revocation authenticate the same way.
    assert.equal((await client.tokenIntrospection(csj, tokens.access_token)).active, true);
    await client.tokenRevocation(config, tokens.access_token);
    assert.equal((await client.tokenIntrospection(csj, tokens.access_token)).active, false);

    // A wrong secret, and a key the client never published.
    await rejectsWith(
      client.clientCredentialsGrant(
        await rpConfig(server.issuer, 'svc-csj', client.ClientSecretJwt('wrong-secret-0123456789-abcdefghijklmno')),
      ),
      'invalid_client',
    );
    await rejectsWith(client.clientCredentialsGrant(await pkj({ ...(await clientKey('svc-1')) })), 'invalid_client');
  });

  it('picks up a client key rotation at its jwks_uri through the refetch on an unknown kid', async () => {
    const next = await clientKey('svc-2', 'EdDSA');
    published = [next.jwk];
    const fetchesBefore = jwksFetches;
    // The refetch interval (1 s here) has passed since the last fetch: the new kid triggers one fetch.
    await new Promise((r) => setTimeout(r, 1100));
    const tokens = await client.clientCredentialsGrant(await pkj(next), { scope: 'api.read' });
    assert.equal(decodeJwt(tokens.access_token).client_id, 'svc-pkj');
    assert.equal(jwksFetches, fetchesBefore + 1);
    // The retired key is gone from the set: refused.
    await rejectsWith(client.clientCredentialsGrant(await pkj(serviceKey)), 'invalid_client');
  });

  it('a full code flow: request object (buildAuthorizationUrlWithJAR) through Chromium, private_key_jwt at the token endpoint', async () => {
    const config = await rpConfig(
      server.issuer,
      'web-jar',
      client.PrivateKeyJwt({ key: webKey.key, kid: webKey.kid }),
      { token_endpoint_auth_signing_alg: 'PS256' } as never,
    );
    assert.equal(config.serverMetadata().request_parameter_supported, true);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithJAR(
      config,
      {
        redirect_uri: cb.url('/callback'),
        scope: 'openid profile email offline_access',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      { key: webKey.key, kid: webKey.kid },
    );
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request']);

    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    await page.goto(url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, 'alice', PASSWORD);
    assert.equal(await screen(page, cb.origin), 'consent');
    await decide(page, 'Allow');
    assert.equal(await screen(page, cb.origin), 'callback');

    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    assert.ok(tokens.access_token && tokens.refresh_token && tokens.id_token);
    assert.equal(tokens.claims()!.aud, 'web-jar');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);

    // The same request object a second time is refused (jti single use), to the registered redirect_uri.
    await page.goto(url.href);
    const errorShown = page.url().startsWith(cb.origin)
      ? new URL(page.url()).searchParams.get('error')
      : await page.locator('body').innerText();
    assert.match(errorShown ?? '', /invalid_request_object/);
    // A plain authorization request of this client is refused: it must use request objects.
    const plain = client.buildAuthorizationUrl(config, {
      redirect_uri: cb.url('/callback'),
      scope: 'openid',
      state: 'p',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    await page.goto(plain.href);
    assert.equal(new URL(page.url()).searchParams.get('error'), 'invalid_request');
  });
});
