/**
 * OpenID Connect RP-Initiated Logout through the browser.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { authRequest, browserSkip, browserSuite, decide, screen, signIn, submit } from './support.ts';

const SECRET = 'logout-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';

describe('logout', { skip: browserSkip }, () => {
  const env = browserSuite((cb) => ({
    clients: [{
      client_id: 'web', client_name: 'Logout app', client_secret: SECRET, redirect_uris: [cb.url('/callback')],
      post_logout_redirect_uris: [cb.url('/bye')], scope: 'openid profile email offline_access',
    }],
    users: ['alice', 'bob', 'carol'].map((username) => ({ username, password: PASSWORD })),
  }), { secret: SECRET });
  let config: client.Configuration;
  before(async () => { config = await env.webConfig('web'); });

  /** Signs in through the pages and redeems the code; returns the token response. */
  async function signInAndRedeem(username: string) {
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    await signIn(env.page, username, PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent') await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    return client.authorizationCodeGrant(config, new URL(env.page.url()), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  }

  /** Where a prompt=none request leads: a code while signed in, login_required once signed out. */
  async function silentResult(): Promise<string> {
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'none' });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const u = new URL(env.page.url());
    return u.searchParams.get('code') ? 'code' : u.searchParams.get('error')!;
  }

  const sessionCookie = async () => (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_session');

  it('with id_token_hint: signs out at once and returns to the post_logout_redirect_uri with state', async () => {
    await env.fresh();
    const tokens = await signInAndRedeem('alice');
    assert.ok(await sessionCookie());
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: env.cb.url('/bye'), state });
    assert.equal(url.origin + url.pathname, `${env.server.issuer}/logout`);
    await env.page.goto(url.href);

    const landed = new URL(env.page.url());
    assert.equal(landed.origin + landed.pathname, env.cb.url('/bye'));
    assert.equal(landed.searchParams.get('state'), state);
    assert.equal(await sessionCookie(), undefined, 'session cookie cleared');

    // Signed out: silent authentication fails, an interactive one shows the login page.
    assert.equal(await silentResult(), 'login_required');
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
  });

  it('without id_token_hint: shows a confirmation page first and signs out only when confirmed', async () => {
    await env.fresh();
    await signInAndRedeem('bob');
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { client_id: 'web', post_logout_redirect_uri: env.cb.url('/bye'), state });
    await env.page.goto(url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'logout-confirm');
    assert.ok((await env.page.locator('body').innerText()).includes('Logout app'), 'names the application');

    // Merely loading the page (as a forged link would) did not end the session.
    assert.equal(await silentResult(), 'code');

    await env.page.goto(url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'logout-confirm');
    await submit(env.page, () => env.page.getByRole('button', { name: 'Sign out' }).click());
    const landed = new URL(env.page.url());
    assert.equal(landed.origin + landed.pathname, env.cb.url('/bye'));
    assert.equal(landed.searchParams.get('state'), state);
    assert.equal(await silentResult(), 'login_required');
  });

  it('a bare /logout asks for confirmation, then shows the signed-out page', async () => {
    await env.fresh();
    await signInAndRedeem('carol');
    await env.page.goto(`${env.server.issuer}/logout`);
    assert.equal(await screen(env.page, env.cb.origin), 'logout-confirm');
    await submit(env.page, () => env.page.getByRole('button', { name: 'Sign out' }).click());
    assert.equal(await screen(env.page, env.cb.origin), 'logged-out');
    assert.equal(await sessionCookie(), undefined);
    assert.equal(await silentResult(), 'login_required');
  });
});
