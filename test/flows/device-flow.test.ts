/**
 * The device authorization grant (RFC 8628) black box: openid-client starts the flow and polls the
 * real server process as a device would, while Chromium enters the user code, signs in and
 * approves (or denies) on the real pages, as the user would on their phone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { browserSkip, decide, launchBrowser, rejectsWith, rpConfig, signIn, submit } from './support.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PASSWORD = 'correct horse battery staple';
const RS_SECRET = 'resource-server-secret-0123456789-abcdef';

describe('device authorization grant', { skip: browserSkip }, () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;

  before(async () => {
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        env: { TESSERA_DEVICE_POLL_INTERVAL: '1' },
        bootstrap: {
          clients: [
            {
              client_id: 'tv',
              client_name: 'Living Room TV',
              token_endpoint_auth_method: 'none',
              grant_types: [GRANT, 'refresh_token'],
              scope: 'openid profile offline_access',
              redirect_uris: [],
            },
            {
              client_id: 'api',
              client_secret: RS_SECRET,
              grant_types: ['client_credentials'],
              scope: '',
              redirect_uris: [],
            },
          ],
          users: ['alice', 'bob'].map((username) => ({
            username,
            password: PASSWORD,
            email: `${username}@example.com`,
            email_verified: true,
            name: username,
          })),
        },
      }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function fresh() {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  }
  const heading = async () => (await page.locator('h1').first().textContent())?.trim();

  it('the device polls while the user enters the code, signs in and approves; tokens once, then refresh', async () => {
    await fresh();
    const config = await rpConfig(server.issuer, 'tv', client.None());
    assert.equal(config.serverMetadata().device_authorization_endpoint, `${server.issuer}/device_authorization`);
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
    assert.equal(device.interval, 1);
    assert.match(device.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    const polling = client.pollDeviceAuthorizationGrant(config, device);

    // The user types the code shown on the device, in lower case and without the dash.
    await page.goto(device.verification_uri);
    assert.equal(await heading(), 'Connect a device');
    await page.getByLabel('Code').fill(device.user_code.replace('-', '').toLowerCase());
    await submit(page, () => page.getByRole('button', { name: 'Continue' }).click());
    assert.equal(await heading(), 'Sign in');
    await signIn(page, 'alice', PASSWORD);
    assert.equal(await heading(), 'Allow access?');
    const text = await page.locator('body').innerText();
    assert.ok(text.includes('Living Room TV'), 'the consent page names the client');
    assert.ok(text.includes(device.user_code), 'the consent page shows the code to compare with the device');
    for (const s of ['openid', 'profile', 'offline_access']) assert.ok(text.includes(s), `the consent page lists ${s}`);
    await decide(page, 'Allow');
    assert.equal(await heading(), 'You may return to your device');

    const tokens = await polling;
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'openid profile offline_access');
    assert.equal(tokens.claims()?.aud, 'tv');
    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const at = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, typ: 'at+jwt' });
    assert.equal(at.payload.client_id, 'tv');
    assert.equal(at.payload.sub, tokens.claims()?.sub);
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.preferred_username, 'alice');

    // A resource server introspects the device's token and asks for a signed answer (RFC 9701).
    const introspection = await fetch(`${server.issuer}/introspect`, {
      method: 'POST',
      body: new URLSearchParams({ token: tokens.access_token }),
      headers: {
        authorization: `Basic ${Buffer.from(`api:${RS_SECRET}`).toString('base64')}`,
        accept: 'application/token-introspection+jwt',
      },
    });
    assert.equal(introspection.headers.get('content-type'), 'application/token-introspection+jwt');
    const signed = await jwtVerify(await introspection.text(), jwks, {
      issuer: server.issuer,
      audience: 'api',
      typ: 'token-introspection+jwt',
    });
    const described = signed.payload.token_introspection as Record<string, unknown>;
    assert.equal(described.active, true);
    assert.equal(described.client_id, 'tv');
    assert.equal(described.sub, at.payload.sub);

    // The device code is spent; the refresh token rotates.
    await rejectsWith(client.pollDeviceAuthorizationGrant(config, device), 'invalid_grant');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token && refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
  });

  it('verification_uri_complete fills the code in; a signed-in user only confirms; deny gives the device access_denied', async () => {
    await fresh();
    const config = await rpConfig(server.issuer, 'tv', client.None());
    // Sign in first through an approved flow, so the second one finds a session.
    const first = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const firstPoll = client.pollDeviceAuthorizationGrant(config, first);
    await page.goto(first.verification_uri_complete!);
    assert.equal(await page.getByLabel('Code').inputValue(), first.user_code);
    await submit(page, () => page.getByRole('button', { name: 'Continue' }).click());
    await signIn(page, 'bob', PASSWORD);
    await decide(page, 'Allow');
    assert.ok((await firstPoll).access_token);

    const second = await client.initiateDeviceAuthorization(config, { scope: 'openid profile' });
    // The expected rejection is awaited from the start, so it is handled whenever it comes.
    const secondPoll = rejectsWith(client.pollDeviceAuthorizationGrant(config, second), 'access_denied');
    await page.goto(second.verification_uri_complete!);
    await submit(page, () => page.getByRole('button', { name: 'Continue' }).click());
    assert.equal(await heading(), 'Allow access?', 'no second sign-in');
    assert.ok((await page.locator('body').innerText()).includes(second.user_code));
    await decide(page, 'Deny');
    assert.equal(await heading(), 'Access denied');
    await secondPoll;
  });

  it('a wrong code is refused on the page and the device keeps waiting', async () => {
    await fresh();
    const config = await rpConfig(server.issuer, 'tv', client.None());
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const controller = new AbortController();
    const polling = assert.rejects(
      client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: controller.signal }),
    );
    await page.goto(device.verification_uri);
    const wrong = device.user_code === 'BCDF-GHJK' ? 'BCDF-GHJL' : 'BCDF-GHJK';
    await page.getByLabel('Code').fill(wrong);
    await submit(page, () => page.getByRole('button', { name: 'Continue' }).click());
    assert.equal(await heading(), 'Connect a device');
    assert.ok((await page.getByRole('alert').innerText()).includes('not valid'));
    controller.abort();
    await polling;
  });
});
