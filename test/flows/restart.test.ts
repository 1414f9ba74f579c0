/**
 * A restart of the server process loses nothing: sessions, refresh tokens and signing keys live in
 * the database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { authRequest, browserSkip, browserSuite, decide, screen, signIn } from './support.ts';

const SECRET = 'restart-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';

describe('restart', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        {
          client_id: 'web',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          scope: 'openid profile offline_access',
        },
      ],
      users: [{ username: 'alice', password: PASSWORD, name: 'Alice' }],
    }),
    { secret: SECRET },
  );

  const kids = async () =>
    ((await (await fetch(`${env.server.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys
      .map((k) => k.kid)
      .sort();

  it('keeps the browser session, refresh tokens and signing keys across a restart', async () => {
    const context = await env.browser.newContext();
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const config = await env.webConfig('web');

    const req = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid profile offline_access',
    });
    await page.goto(req.url.href);
    assert.equal(await screen(page, env.cb.origin), 'login');
    await signIn(page, 'alice', PASSWORD);
    await decide(page, 'Allow');
    assert.equal(await screen(page, env.cb.origin), 'callback');
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    const kidsBefore = await kids();

    await env.server.restart();
    assert.ok(env.server.output().includes('tessera exited'), 'the process really was restarted');

    // Signing keys were persisted: same kid, and the old access token still verifies and is active.
    assert.deepEqual(await kids(), kidsBefore);
    const jwks = createRemoteJWKSet(new URL(`${env.server.issuer}/jwks`));
    await jwtVerify(tokens.access_token, jwks, { issuer: env.server.issuer, typ: 'at+jwt' });
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

    // The session cookie still signs the user in silently (prompt=none gives a code).
    const silent = await authRequest(config, {
      redirect_uri: env.cb.url('/callback'),
      scope: 'openid profile offline_access',
      prompt: 'none',
    });
    await page.goto(silent.url.href);
    assert.equal(await screen(page, env.cb.origin), 'callback');
    assert.ok(new URL(page.url()).searchParams.get('code'), `expected a code, got ${page.url()}`);
    const again = await client.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: silent.verifier,
      expectedState: silent.state,
      expectedNonce: silent.nonce,
    });
    assert.equal(again.claims()?.sub, tokens.claims()?.sub);
    assert.equal(again.claims()?.auth_time, tokens.claims()?.auth_time, 'the same login session');

    // The refresh token from before the restart still refreshes.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal(refreshed.claims()?.sub, tokens.claims()?.sub);
    await context.close();
  });
});
