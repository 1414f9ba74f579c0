/**
 * Authorization code + PKCE through the real login and consent pages in Chromium, with tokens
 * redeemed and checked by openid-client and jose as a relying party would.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import {
  authRequest,
  browserSkip,
  browserSuite,
  decide,
  rejectsWith,
  rpConfig,
  screen,
  signIn,
  type AuthRequest,
} from './support.ts';

const SECRET = 'flow-test-client-secret-0123456789';
const PASSWORD = 'correct horse battery staple';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

describe('authorization code flow', { skip: browserSkip }, () => {
  // One browser for the file; a fresh context (cookie jar) per test (env.fresh()).
  const env = browserSuite(
    (cb) => ({
      clients: [
        ...['web', 'web-session', 'web-login', 'web-none', 'web-consent', 'web-deny'].map((id) => env.webClient(id)),
        env.webClient('web-formpost', { redirect_uris: [cb.url('/form-post')] }),
        env.webClient('web-replay', { skip_consent: true }),
        env.webClient('web-revoke', { skip_consent: true }),
        {
          client_id: 'spa',
          client_name: 'Single-page app',
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.url('/spa')],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile email',
        },
        {
          client_id: 'native',
          client_name: 'Native app',
          token_endpoint_auth_method: 'none',
          application_type: 'native',
          redirect_uris: ['http://127.0.0.1/cb'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile offline_access',
        },
      ],
      users: USERS.map((u) => ({
        username: u,
        password: PASSWORD,
        email: `${u}@example.com`,
        email_verified: true,
        name: `${u[0]!.toUpperCase()}${u.slice(1)} Example`,
      })),
    }),
    { secret: SECRET },
  );

  /**
   * A fresh browser context, and an authorization request of the web client `clientId` (to cb /callback unless `params`
   * say otherwise).
   */
  async function begin(clientId: string, params: Record<string, string> = {}) {
    await env.fresh();
    const config = await env.webConfig(clientId);
    return { config, req: await authRequest(config, { redirect_uri: env.cb.url('/callback'), ...params }) };
  }

  /** Sends the browser to the authorization URL; returns the screen it lands on. */
  const visit = async (url: URL) => {
    await env.page.goto(url.href);
    return screen(env.page, env.cb.origin);
  };

  /** Runs the whole browser part: sign in and allow when asked; returns the callback URL. */
  async function obtainCode(config: client.Configuration, username: string, params: Record<string, string> = {}) {
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), ...params });
    let s = await visit(req.url);
    if (s === 'login') {
      await signIn(env.page, username, PASSWORD);
      s = await screen(env.page, env.cb.origin);
    }
    if (s === 'consent') {
      await decide(env.page, 'Allow');
      s = await screen(env.page, env.cb.origin);
    }
    assert.equal(s, 'callback', `expected the callback, the browser shows ${env.page.url()}`);
    return { req, callback: new URL(env.page.url()) };
  }

  const redeem = (config: client.Configuration, callback: URL | Request, req: AuthRequest) =>
    client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: req.verifier,
      expectedState: req.state,
      expectedNonce: req.nonce,
    });

  const inactive = async (config: client.Configuration, token: string) => {
    assert.deepEqual(await client.tokenIntrospection(config, token), { active: false });
  };

  it('confidential client: login + consent pages, code exchange, JWT access token, userinfo, refresh rotation and reuse detection', async () => {
    const { config, req } = await begin('web');

    // The real pages: login, then consent listing the requested scopes.
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'alice', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'consent');
    const consentText = await env.page.locator('main, body').first().innerText();
    for (const s of ['openid', 'profile', 'email', 'offline_access'])
      assert.ok(consentText.includes(s), `consent page lists ${s}`);
    await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');

    // The redirect reached the RP's server with code, state and iss (RFC 9207).
    const hit = await env.cb.next('/callback');
    assert.equal(hit.method, 'GET');
    const callback = new URL(hit.url);
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), env.server.issuer);
    assert.ok(callback.searchParams.get('code'));

    // openid-client checks state, iss, the ID token (signature, iss, aud, nonce, exp) and PKCE.
    const tokens = await redeem(config, callback, req);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.refresh_token);
    const id = tokens.claims()!;
    assert.equal(id.iss, env.server.issuer);
    assert.equal(id.aud, 'web');
    assert.equal(id.nonce, req.nonce);
    assert.equal(typeof id.sub, 'string');
    assert.equal(typeof id.auth_time, 'number');
    assert.equal(typeof id.sid, 'string');
    // The profile and email of the granted scopes are in the ID token (relying parties such as
    // Auth.js's generic provider and express-openid-connect read the profile from it).
    assert.equal(id.name, 'Alice Example');
    assert.equal(id.preferred_username, 'alice');
    assert.equal(id.email, 'alice@example.com');
    const digest = createHash('sha256').update(tokens.access_token).digest();
    assert.equal(
      id.at_hash,
      digest.subarray(0, 16).toString('base64url'),
      'at_hash binds the ID token to the access token',
    );

    // The access token is an RFC 9068 JWT verifiable with the published JWKS.
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload: at, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: env.server.issuer,
      audience: env.server.issuer,
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(at.client_id, 'web');
    assert.equal(at.sub, id.sub);
    assert.equal(at.scope, 'openid profile email offline_access');
    assert.equal(typeof at.jti, 'string');
    assert.ok(at.exp! > at.iat!);

    // UserInfo returns the claims of the granted scopes.
    const info = await client.fetchUserInfo(config, tokens.access_token, id.sub);
    assert.equal(info.sub, id.sub);
    assert.equal(info.preferred_username, 'alice');
    assert.equal(info.name, 'Alice Example');
    assert.equal(info.email, 'alice@example.com');
    assert.equal(info.email_verified, true);

    // Refresh (narrowed to openid): a new refresh token, an access token with fewer claims behind it.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, { scope: 'openid' });
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(refreshed.scope, 'openid');
    assert.equal(refreshed.claims()?.sub, id.sub);
    const narrow = await client.fetchUserInfo(config, refreshed.access_token, id.sub);
    assert.deepEqual(narrow, { sub: id.sub });
    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);

    // Replaying the rotated-out refresh token is refused and revokes the whole family.
    await rejectsWith(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
    await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token!), 'invalid_grant');
    await inactive(config, refreshed.access_token);
    await inactive(config, tokens.access_token);
    await inactive(config, refreshed.refresh_token!);
  });

  it('a second authorization request in the same browser returns a code at once (session and consent remembered)', async () => {
    await env.fresh();
    const config = await env.webConfig('web-session');
    const first = await obtainCode(config, 'bob');
    await redeem(config, first.callback, first.req);

    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    assert.equal(await visit(req.url), 'callback', 'no login page and no consent page the second time');
    const tokens = await redeem(config, new URL(env.page.url()), req);
    assert.equal(
      tokens.claims()?.sub,
      (await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck)).sub,
    );
  });

  it('prompt=login shows the login page although the browser has a session', async () => {
    await env.fresh();
    const config = await env.webConfig('web-login');
    const first = await obtainCode(config, 'carol');
    const firstTokens = await redeem(config, first.callback, first.req);

    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'login' });
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'carol', PASSWORD);
    assert.equal(
      await screen(env.page, env.cb.origin),
      'callback',
      'consent is remembered, so login leads straight back',
    );
    const tokens = await redeem(config, new URL(env.page.url()), req);
    assert.equal(tokens.claims()?.sub, firstTokens.claims()?.sub);
    assert.ok(tokens.claims()!.auth_time! >= firstTokens.claims()!.auth_time!);
  });

  it('prompt=none without a session returns login_required (with state and iss) to the redirect_uri', async () => {
    const { config, req } = await begin('web-none', { prompt: 'none' });
    assert.equal(await visit(req.url), 'callback');
    const callback = new URL(env.page.url());
    assert.equal(callback.searchParams.get('error'), 'login_required');
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), env.server.issuer);
    assert.equal(callback.searchParams.get('code'), null);
    await rejectsWith(redeem(config, callback, req), 'login_required');

    // With a session but no consent for this client, prompt=none gives consent_required.
    const other = await env.webConfig('web-consent');
    await obtainCode(other, 'dave');
    const again = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'none' });
    assert.equal(await visit(again.url), 'callback');
    assert.equal(new URL(env.page.url()).searchParams.get('error'), 'consent_required');
  });

  it('prompt=consent shows the consent page again', async () => {
    await env.fresh();
    const config = await env.webConfig('web-consent');
    await obtainCode(config, 'erin');
    const req = await authRequest(config, { redirect_uri: env.cb.url('/callback'), prompt: 'consent' });
    assert.equal(await visit(req.url), 'consent', 'no login page (session), but the consent page');
    await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const tokens = await redeem(config, new URL(env.page.url()), req);
    assert.ok(tokens.access_token);
  });

  it('Deny on the consent page returns access_denied (with state and iss) and no code', async () => {
    const { config, req } = await begin('web-deny');
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'frank', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'consent');
    await decide(env.page, 'Deny');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const callback = new URL(env.page.url());
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), env.server.issuer);
    assert.equal(callback.searchParams.get('code'), null);

    // Nothing was remembered: the next request asks for consent again.
    const next = await authRequest(config, { redirect_uri: env.cb.url('/callback') });
    assert.equal(await visit(next.url), 'consent');
  });

  it('a wrong password keeps the user on the login page with an error and sends nothing to the client', async () => {
    const { req } = await begin('web-none');
    assert.equal(await visit(req.url), 'login');
    const hitsBefore = env.cb.hits.length;
    await signIn(env.page, 'judy', 'not the password');
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    assert.equal((await env.page.getByRole('alert').innerText()).trim(), 'Invalid username or password.');
    assert.equal(await env.page.getByLabel('Username').inputValue(), 'judy', 'the username is kept');
    await signIn(env.page, 'nobody-by-this-name', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'login');
    assert.equal(env.cb.hits.length, hitsBefore, 'the client received nothing');
    await signIn(env.page, 'judy', PASSWORD);
    assert.equal(
      await screen(env.page, env.cb.origin),
      'consent',
      'the same interaction continues after a failed attempt',
    );
  });

  it('public SPA client: the page itself redeems the code and calls userinfo cross-origin (CORS)', async () => {
    await env.fresh();
    const config = await rpConfig(env.server.issuer, 'spa', client.None());
    const req = await authRequest(config, { redirect_uri: env.cb.url('/spa'), scope: 'openid profile email' });
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'judy', PASSWORD);
    await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const callback = new URL(env.page.url());
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), env.server.issuer);

    // Running in the SPA's origin (the callback page): fetch the token endpoint, then userinfo
    // with an Authorization header (a CORS preflight).
    const meta = config.serverMetadata();
    const result = await env.page.evaluate(
      async ({ tokenEndpoint, userinfoEndpoint, code, verifier, redirectUri }) => {
        const tokenRes = await fetch(tokenEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            client_id: 'spa',
            code,
            code_verifier: verifier,
            redirect_uri: redirectUri,
          }),
        });
        const tokens = await tokenRes.json();
        const infoRes = await fetch(userinfoEndpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
        return { status: tokenRes.status, tokens, info: await infoRes.json(), infoStatus: infoRes.status };
      },
      {
        tokenEndpoint: meta.token_endpoint!,
        userinfoEndpoint: meta.userinfo_endpoint!,
        code: callback.searchParams.get('code')!,
        verifier: req.verifier,
        redirectUri: env.cb.url('/spa'),
      },
    );
    assert.equal(result.status, 200);
    assert.equal(typeof result.tokens.access_token, 'string');
    assert.equal(typeof result.tokens.id_token, 'string');
    assert.equal(result.infoStatus, 200);
    assert.equal(result.info.preferred_username, 'judy');
    assert.equal(result.info.email, 'judy@example.com');

    // A page of an unregistered origin cannot read the token endpoint's answers.
    const elsewhere = await env.page.goto(`http://localhost:${env.cb.port}/elsewhere`);
    assert.equal(elsewhere?.status(), 200, 'the page of the other origin loaded');
    const blocked = await env.page.evaluate(async (tokenEndpoint) => {
      try {
        await fetch(tokenEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=refresh_token&client_id=spa&refresh_token=x',
        });
        return 'readable';
      } catch {
        return 'blocked';
      }
    }, meta.token_endpoint!);
    assert.equal(blocked, 'blocked');
  });

  it('public native client: loopback redirect on another port (RFC 8252), PKCE, no client secret', async () => {
    await env.fresh();
    const config = await rpConfig(env.server.issuer, 'native', client.None());
    const redirectUri = `http://127.0.0.1:${env.cb.port}/cb`; // registered as http://127.0.0.1/cb
    const req = await authRequest(config, { redirect_uri: redirectUri, scope: 'openid profile offline_access' });
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'grace', PASSWORD);
    assert.equal(await screen(env.page, env.cb.origin), 'consent');
    await decide(env.page, 'Allow');
    assert.equal(await screen(env.page, env.cb.origin), 'callback');
    const callback = new URL(env.page.url());
    assert.equal(callback.origin + callback.pathname, redirectUri);

    const tokens = await redeem(config, callback, req);
    assert.equal(tokens.claims()?.aud, 'native');
    assert.ok(tokens.refresh_token);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

    // The code is bound to the exact redirect_uri used, port included.
    const other = await authRequest(config, { redirect_uri: redirectUri, scope: 'openid' });
    assert.equal(await visit(other.url), 'callback');
    const wrongPort = new URL(env.page.url());
    wrongPort.port = String(env.cb.port === 65535 ? 65534 : env.cb.port + 1);
    await rejectsWith(redeem(config, wrongPort, other), 'invalid_grant');
  });

  it('response_mode=form_post: the browser posts code, state and iss to the redirect_uri', async () => {
    const { config, req } = await begin('web-formpost', {
      redirect_uri: env.cb.url('/form-post'),
      response_mode: 'form_post',
    });
    assert.equal(await visit(req.url), 'login');
    await signIn(env.page, 'heidi', PASSWORD);
    await decide(env.page, 'Allow');
    const hit = await env.cb.next('/form-post');
    assert.equal(hit.method, 'POST');
    assert.equal(new URL(hit.url).search, '', 'nothing in the query string');
    assert.match(String(hit.headers['content-type']), /^application\/x-www-form-urlencoded/);
    const body = new URLSearchParams(hit.body);
    assert.ok(body.get('code'));
    assert.equal(body.get('state'), req.state);
    assert.equal(body.get('iss'), env.server.issuer);

    const request = new Request(hit.url, {
      method: 'POST',
      body: hit.body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const tokens = await redeem(config, request, req);
    assert.equal(tokens.claims()?.nonce, req.nonce);
  });

  it('a replayed authorization code is refused and revokes the tokens of the first redemption', async () => {
    await env.fresh();
    const config = await env.webConfig('web-replay');
    const { req, callback } = await obtainCode(config, 'ivan');
    const tokens = await redeem(config, callback, req);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

    await rejectsWith(redeem(config, callback, req), 'invalid_grant');
    await inactive(config, tokens.access_token);
    await rejectsWith(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
  });

  it('revoking a refresh token revokes its family: access token inactive, refresh refused', async () => {
    await env.fresh();
    const config = await env.webConfig('web-revoke');
    const { req, callback } = await obtainCode(config, 'alice');
    const tokens = await redeem(config, callback, req);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);

    await client.tokenRevocation(config, refreshed.refresh_token!, { token_type_hint: 'refresh_token' });
    await inactive(config, refreshed.access_token);
    await inactive(config, tokens.access_token);
    await inactive(config, refreshed.refresh_token!);
    await rejectsWith(client.refreshTokenGrant(config, refreshed.refresh_token!), 'invalid_grant');
    await rejectsWith(client.fetchUserInfo(config, refreshed.access_token, client.skipSubjectCheck), 'invalid_token');
  });
});
