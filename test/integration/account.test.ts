import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { authorizeWithLogin, basic, csrfOf, form, Jar, pkce, testApp } from '../fixtures/app.ts';

describe('account page: users review and revoke what they granted', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:');
  });
  after(async () => {
    await app?.close();
  });

  it('signs in with CSRF protection, lists consents, and revoking one revokes the tokens too', async () => {
    const jar = new Jar();
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(app, jar, {
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = (
      await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      )
    ).json();

    // A separate browser signs in on the account page.
    const browser = new Jar();
    const loginPage = await app.server.inject({ url: '/account' });
    browser.take(loginPage);
    assert.match(loginPage.body, /name="password"/);
    const forged = await form(
      app,
      '/account/login',
      { username: 'alice', password: 'correct horse battery', csrf: 'forged' },
      { cookie: browser.header() },
    );
    assert.equal(forged.statusCode, 403);
    const wrong = await form(
      app,
      '/account/login',
      { username: 'alice', password: 'nope', csrf: csrfOf(loginPage.body) },
      { cookie: browser.header() },
    );
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /Invalid username or password/);
    const ok = await form(
      app,
      '/account/login',
      { username: 'alice', password: 'correct horse battery', csrf: csrfOf(loginPage.body) },
      { cookie: browser.header() },
    );
    assert.equal(ok.statusCode, 303);
    browser.take(ok);
    const account = await app.server.inject({ url: '/account', headers: { cookie: browser.header() } });
    assert.match(account.body, /Web App/);
    const csrf = csrfOf(account.body);
    assert.equal(
      (await form(app, '/account/revoke', { client_id: 'web', csrf: 'bad' }, { cookie: browser.header() })).statusCode,
      403,
    );
    const revoked = await form(app, '/account/revoke', { client_id: 'web', csrf }, { cookie: browser.header() });
    assert.equal(revoked.statusCode, 303);
    assert.equal(await app.stores.consents.get((await app.stores.users.findByUsername('alice'))!.id, 'web'), undefined);
    assert.equal(
      (await form(app, '/introspect', { token: tokens.access_token }, { authorization: basic('rs') })).json().active,
      false,
    );
    assert.equal(
      (
        await form(
          app,
          '/token',
          { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
          { authorization: basic('web') },
        )
      ).json().error,
      'invalid_grant',
    );
    const out = await form(app, '/account/logout', { csrf }, { cookie: browser.header() });
    browser.take(out);
    assert.match(
      (await app.server.inject({ url: '/account', headers: { cookie: browser.header() } })).body,
      /name="password"/,
    );
  });

  it('disabling a user ends sessions and refuses their tokens', async () => {
    const { setDisabled } = await import('../../src/admin/users.ts');
    const jar = new Jar();
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(app, jar, {
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const tokens = (
      await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      )
    ).json();
    await setDisabled(app.stores, 'alice', true, app.provider.now());
    assert.equal(
      (await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } }))
        .statusCode,
      401,
    );
    assert.equal(
      (await form(app, '/introspect', { token: tokens.access_token }, { authorization: basic('rs') })).json().active,
      false,
    );
    assert.equal(
      (
        await form(
          app,
          '/token',
          { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
          { authorization: basic('web') },
        )
      ).json().error,
      'invalid_grant',
    );
    const silent = await app.server.inject({
      url: `/authorize?${new URLSearchParams({ client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none' })}`,
      headers: { cookie: jar.header() },
    });
    assert.equal(new URL(silent.headers.location as string).searchParams.get('error'), 'login_required');
    await setDisabled(app.stores, 'alice', false, app.provider.now());
  });
});
