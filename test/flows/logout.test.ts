/**
 * OpenID Connect RP-Initiated Logout through the browser.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../fixtures/server.ts';
import { authRequest, launchBrowser, rpConfig, screen, signIn, startCallbackServer, submit, type CallbackServer, decide } from './support.ts';
import { browserSkip } from './support.ts';

const SECRET = 'logout-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';

describe('logout', { skip: browserSkip }, () => {
  let server: RunningServer;
  let cb: CallbackServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let config: client.Configuration;

  before(async () => {
    cb = await startCallbackServer();
    [browser, server] = await Promise.all([
      launchBrowser(),
      startServer({
        bootstrap: {
          clients: [{
            client_id: 'web', client_name: 'Logout app', client_secret: SECRET, redirect_uris: [cb.url('/callback')],
            post_logout_redirect_uris: [cb.url('/bye')], scope: 'openid profile email offline_access',
          }],
          users: ['alice', 'bob', 'carol'].map((username) => ({ username, password: PASSWORD })),
        },
      }),
    ]);
    config = await rpConfig(server.issuer, 'web', client.ClientSecretBasic(SECRET));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await cb?.close();
  });

  const fresh = async () => {
    await context?.close();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
  };

  /** Signs in through the pages and redeems the code; returns the token response. */
  async function signInAndRedeem(username: string) {
    const req = await authRequest(config, { redirect_uri: cb.url('/callback') });
    await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
    await signIn(page, username, PASSWORD);
    if ((await screen(page, cb.origin)) === 'consent') await decide(page, 'Allow');
    assert.equal(await screen(page, cb.origin), 'callback');
    return client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  }

  /** Where a prompt=none request leads: a code while signed in, login_required once signed out. */
  async function silentResult(): Promise<string> {
    const req = await authRequest(config, { redirect_uri: cb.url('/callback'), prompt: 'none' });
    await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'callback');
    const u = new URL(page.url());
    return u.searchParams.get('code') ? 'code' : u.searchParams.get('error')!;
  }

  const sessionCookie = async () => (await context.cookies(server.issuer)).find((c) => c.name === 'tessera_session');

  it('with id_token_hint: signs out at once and returns to the post_logout_redirect_uri with state', async () => {
    await fresh();
    const tokens = await signInAndRedeem('alice');
    assert.ok(await sessionCookie());
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: cb.url('/bye'), state });
    assert.equal(url.origin + url.pathname, `${server.issuer}/logout`);
    await page.goto(url.href);

    const landed = new URL(page.url());
    assert.equal(landed.origin + landed.pathname, cb.url('/bye'));
    assert.equal(landed.searchParams.get('state'), state);
    assert.equal(await sessionCookie(), undefined, 'session cookie cleared');

    // Signed out: silent authentication fails, an interactive one shows the login page.
    assert.equal(await silentResult(), 'login_required');
    const req = await authRequest(config, { redirect_uri: cb.url('/callback') });
    await page.goto(req.url.href);
    assert.equal(await screen(page, cb.origin), 'login');
  });

  it('without id_token_hint: shows a confirmation page first and signs out only when confirmed', async () => {
    await fresh();
    await signInAndRedeem('bob');
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { client_id: 'web', post_logout_redirect_uri: cb.url('/bye'), state });
    await page.goto(url.href);
    assert.equal(await screen(page, cb.origin), 'logout-confirm');
    assert.ok((await page.locator('body').innerText()).includes('Logout app'), 'names the application');

    // Merely loading the page (as a forged link would) did not end the session.
    assert.equal(await silentResult(), 'code');

    await page.goto(url.href);
    assert.equal(await screen(page, cb.origin), 'logout-confirm');
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    const landed = new URL(page.url());
    assert.equal(landed.origin + landed.pathname, cb.url('/bye'));
    assert.equal(landed.searchParams.get('state'), state);
    assert.equal(await silentResult(), 'login_required');
  });

  it('a bare /logout asks for confirmation, then shows the signed-out page', async () => {
    await fresh();
    await signInAndRedeem('carol');
    await page.goto(`${server.issuer}/logout`);
    assert.equal(await screen(page, cb.origin), 'logout-confirm');
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    assert.equal(await screen(page, cb.origin), 'logged-out');
    assert.equal(await sessionCookie(), undefined);
    assert.equal(await silentResult(), 'login_required');
  });
});
