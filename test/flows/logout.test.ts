/**
 * OpenID Connect RP-Initiated Logout through the browser.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { authRequest, browserSkip, browserSuite, decide, screen, signIn, submit } from './support.ts';

const SECRET = 'logout-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';

describe('logout', { skip: browserSkip }, () => {
  const env = browserSuite(
    (cb) => ({
      clients: [
        {
          client_id: 'web',
          client_name: 'Logout app',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          post_logout_redirect_uris: [cb.url('/bye')],
          scope: 'openid profile email offline_access',
        },
        {
          // OpenID Connect Back- and Front-Channel Logout: the relying party is the callback server.
          client_id: 'channels',
          client_name: 'Channels app',
          client_secret: SECRET,
          redirect_uris: [cb.url('/callback')],
          post_logout_redirect_uris: [cb.url('/bye')],
          scope: 'openid profile',
          backchannel_logout_uri: cb.url('/backchannel'),
          backchannel_logout_session_required: true,
          frontchannel_logout_uri: cb.url('/frontchannel'),
          frontchannel_logout_session_required: true,
        },
      ],
      users: ['alice', 'bob', 'carol'].map((username) => ({ username, password: PASSWORD })),
    }),
    { secret: SECRET },
  );
  let config: client.Configuration;
  before(async () => {
    config = await env.webConfig('web');
  });

  /** Signs in through the pages and redeems the code; returns the token response. */
  async function signInAndRedeem(username: string) {
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    await signIn(env.page, username, PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent') await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    return client.authorizationCodeGrant(config, new URL(env.page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
  }

  /** Where a prompt=none request leads: a code while signed in, login_required once signed out. */
  async function silentResult(): Promise<string> {
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'none' });
    await env.page.goto(req.url.href);
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const u = new URL(env.page.url());
    return u.searchParams.get('code') ? 'code' : u.searchParams.get('error')!;
  }

  const sessionCookie = async () =>
    (await env.context.cookies(env.server.issuer)).find((c) => c.name === 'tessera_session');

  it('with id_token_hint: signs out at once and returns to the post_logout_redirect_uri with state', async () => {
    await env.fresh();
    const tokens = await signInAndRedeem('alice');
    assert.ok(await sessionCookie());
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: env.cb.url('/bye'),
      state,
    });
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
    const url = client.buildEndSessionUrl(config, {
      client_id: 'web',
      post_logout_redirect_uri: env.cb.url('/bye'),
      state,
    });
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

  it('back- and front-channel logout: the relying party gets a logout token that verifies against the JWKS, and its frame is loaded', async () => {
    await env.fresh();
    const channels = await env.webConfig('channels');
    const req = await authRequest(channels, { redirect_uri: env.cb.url('/callback'), scope: 'openid profile' });
    await env.page.goto(req.url.href);
    await signIn(env.page, 'alice', PASSWORD);
    if ((await screen(env.page, env.cb.origin)) === 'consent') await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const tokens = await client.authorizationCodeGrant(channels, new URL(env.page.url()), {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });
    const sid = tokens.claims()!.sid as string;
    assert.ok(sid);

    const state = client.randomState();
    await env.page.goto(
      client.buildEndSessionUrl(channels, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: env.cb.url('/bye'),
        state,
      }).href,
    );
    // The back channel: a POST from the server itself, not the browser.
    const hit = await env.cb.next('/backchannel');
    assert.equal(hit.method, 'POST');
    assert.match(String(hit.headers['content-type']), /^application\/x-www-form-urlencoded/);
    const logoutToken = new URLSearchParams(hit.body).get('logout_token')!;
    const jwks = createRemoteJWKSet(new URL(`${env.server.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, {
      issuer: env.server.issuer,
      audience: 'channels',
      typ: 'logout+jwt',
      maxTokenAge: 120,
    });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sid, sid);
    assert.equal(payload.sub, tokens.claims()!.sub);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.nonce, undefined);
    // The front channel: the browser loaded the client's frame (so the page's CSP allowed it) with iss and sid.
    const frame = new URL((await env.cb.next('/frontchannel')).url);
    assert.equal(frame.searchParams.get('iss'), env.server.issuer);
    assert.equal(frame.searchParams.get('sid'), sid);
    // Then on to the post_logout_redirect_uri.
    await env.page.waitForURL((u) => u.pathname === '/bye', { timeout: 10_000 });
    assert.equal(new URL(env.page.url()).searchParams.get('state'), state);
    assert.equal(await sessionCookie(), undefined);
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
