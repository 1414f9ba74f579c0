import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { authorizeUrl, backends, basic, csrfOf, form, ISSUER, Jar, pkce, SECRETS, testApp } from '../fixtures/app.ts';

const { challenge } = pkce();
const GOOD = {
  client_id: 'web',
  redirect_uri: 'https://app.example/cb',
  response_type: 'code',
  scope: 'openid',
  state: 'xyz',
  code_challenge: challenge,
  code_challenge_method: 'S256',
};

function assertOAuthError(
  res: { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  error: string,
) {
  assert.equal(res.statusCode, status);
  assert.equal(res.json().error, error);
  assert.equal(typeof res.json().error_description, 'string');
  assert.equal(res.headers['cache-control'], 'no-store');
}

for (const backend of await backends()) {
  describe(`bad input gets RFC-shaped 4xx answers (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    describe('authorization endpoint', () => {
      const get = (params: Record<string, string>) => app.server.inject({ url: authorizeUrl(params) });
      const redirectError = async (params: Record<string, string>, error: string) => {
        const res = await get(params);
        assert.equal(res.statusCode, 303, res.body);
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.origin + loc.pathname, 'https://app.example/cb');
        assert.equal(loc.searchParams.get('error'), error);
        assert.equal(loc.searchParams.get('state'), 'xyz');
        assert.equal(loc.searchParams.get('iss'), ISSUER);
      };
      it('never redirects for an unknown client or an unregistered redirect_uri', async () => {
        for (const params of [
          { ...GOOD, client_id: 'nobody' },
          { ...GOOD, client_id: '' },
          { ...GOOD, redirect_uri: 'https://evil.example/cb' },
          { ...GOOD, redirect_uri: 'https://app.example/cb/' },
          { ...GOOD, redirect_uri: 'https://APP.example/cb' },
          { ...GOOD, redirect_uri: 'https://app.example/cb?x=1' },
          { ...GOOD, client_id: 'native', redirect_uri: 'http://localhost.evil.example:8000/cb' },
        ]) {
          const res = await get(params);
          assert.equal(res.statusCode, 400, JSON.stringify(params));
          assert.equal(res.headers.location, undefined);
          assert.match(res.headers['content-type'] as string, /text\/html/);
          assert.match(res.headers['content-security-policy'] as string, /frame-ancestors 'none'/);
        }
      });
      it('refuses duplicate parameters without redirecting', async () => {
        const res = await app.server.inject({ url: `${authorizeUrl(GOOD)}&redirect_uri=https://evil.example/cb` });
        assert.equal(res.statusCode, 400);
        assert.equal(res.headers.location, undefined);
      });
      it('sends protocol errors to the registered redirect_uri with state and iss', async () => {
        await redirectError({ ...GOOD, response_type: 'token' }, 'unsupported_response_type');
        await redirectError({ ...GOOD, response_type: 'code id_token' }, 'unsupported_response_type');
        const { code_challenge: _c, ...noPkce } = GOOD;
        await redirectError(noPkce, 'invalid_request');
        await redirectError({ ...GOOD, code_challenge_method: 'plain' }, 'invalid_request');
        await redirectError({ ...GOOD, code_challenge: 'short' }, 'invalid_request');
        await redirectError({ ...GOOD, scope: 'openid admin' }, 'invalid_scope');
        // An empty scope is a scope left out (RFC 6749 section 3.3): the default applies, here none for web-post.
        const empty = await get({ ...GOOD, client_id: 'web-post', redirect_uri: 'https://post.example/cb', scope: '' });
        assert.equal(new URL(empty.headers.location as string).searchParams.get('error'), 'invalid_scope');
        await redirectError({ ...GOOD, prompt: 'none login' }, 'invalid_request');
        await redirectError({ ...GOOD, max_age: '-1' }, 'invalid_request');
        await redirectError({ ...GOOD, resource: 'not a uri' }, 'invalid_target');
        await redirectError({ ...GOOD, resource: 'https://api.example/#frag' }, 'invalid_target');
        await redirectError({ ...GOOD, request: 'eyJhbGciOiJub25lIn0.e30.' }, 'invalid_request_object');
        // A request_uri this server did not issue (RFC 9126) gets a page: there is no pushed request to redirect for.
        const foreignUri = await get({ ...GOOD, request_uri: 'urn:x' });
        assert.equal(foreignUri.statusCode, 400);
        assert.equal(foreignUri.headers.location, undefined);
        await redirectError({ ...GOOD, response_mode: 'fragment' }, 'invalid_request');
        // A client without the authorization_code grant (and so without redirect URIs) gets a page.
        const svc = await get({ ...GOOD, client_id: 'svc' });
        assert.equal(svc.statusCode, 400);
        assert.equal(svc.headers.location, undefined);
      });
      it('refuses over-long and non-UTF-8 values, and NUL characters (PostgreSQL cannot store them)', async () => {
        const long = await get({ ...GOOD, state: 'x'.repeat(5000) });
        assert.equal(long.statusCode, 400);
        const bad = await app.server.inject({ url: `${authorizeUrl(GOOD)}&nonce=%C3%28` });
        assert.equal(bad.statusCode, 400);
        const nul = await get({ ...GOOD, nonce: 'n\u0000once' });
        assert.equal(nul.statusCode, 400);
        assert.match(nul.body, /NUL/);
      });
      it('answers form_post errors with an auto-submitting form and a nonce-bound script', async () => {
        const res = await get({ ...GOOD, response_mode: 'form_post', scope: 'bogus' });
        assert.equal(res.statusCode, 200);
        assert.match(res.body, /action="https:\/\/app\.example\/cb"/);
        assert.match(res.body, /name="error" value="invalid_scope"/);
        const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers['content-security-policy'] as string)![1];
        assert.ok(res.body.includes(`nonce="${nonce}"`));
      });
    });

    describe('token endpoint', () => {
      it('wants a form body', async () => {
        const json = await app.server.inject({
          method: 'POST',
          url: '/token',
          payload: '{"grant_type":"client_credentials"}',
          headers: { 'content-type': 'application/json', authorization: basic('svc') },
        });
        assertOAuthError(json, 400, 'invalid_request');
        const broken = await app.server.inject({
          method: 'POST',
          url: '/token',
          payload: '{not json',
          headers: { 'content-type': 'application/json' },
        });
        assertOAuthError(broken, 400, 'invalid_request');
        const none = await app.server.inject({
          method: 'POST',
          url: '/token',
          headers: { authorization: basic('svc') },
        });
        assertOAuthError(none, 400, 'invalid_request');
      });
      it('refuses oversized bodies with 413', async () => {
        const res = await app.server.inject({
          method: 'POST',
          url: '/token',
          payload: `grant_type=client_credentials&x=${'a'.repeat(70_000)}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assertOAuthError(res, 413, 'invalid_request');
      });
      it('fails a sign-in whose username holds a NUL character as an unknown account would (400), asking no storage', async () => {
        const jar = new Jar();
        const home = await app.server.inject({ method: 'GET', url: '/account' });
        jar.take(home);
        for (const username of ['a\u0000b', 'a\u0000@example.net']) {
          const res = await form(
            app,
            '/account/login',
            { csrf: csrfOf(home.body), username, password: 'x' },
            { cookie: jar.header() },
          );
          assert.equal(res.statusCode, 400, JSON.stringify(username));
        }
      });
      it('answers a client id or secret with a NUL character as an unknown client (401), in Basic and in the form', async () => {
        const nul = `Basic ${Buffer.from('s%00vc:x').toString('base64')}`;
        assertOAuthError(
          await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: nul }),
          401,
          'invalid_client',
        );
        const raw = `Basic ${Buffer.from('s\u0000vc:x').toString('base64')}`;
        assertOAuthError(
          await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: raw }),
          401,
          'invalid_client',
        );
      });
      it('refuses duplicate, missing and unknown grant types', async () => {
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: ['client_credentials', 'client_credentials'] },
            { authorization: basic('svc') },
          ),
          400,
          'invalid_request',
        );
        assertOAuthError(await form(app, '/token', {}, { authorization: basic('svc') }), 400, 'invalid_request');
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'password', username: 'alice', password: 'x' },
            { authorization: basic('svc') },
          ),
          400,
          'unsupported_grant_type',
        );
        assertOAuthError(
          await form(app, '/token', { grant_type: 'implicit' }, { authorization: basic('svc') }),
          400,
          'unsupported_grant_type',
        );
      });
      it('answers failed client authentication with 401 and WWW-Authenticate', async () => {
        for (const auth of [
          basic('svc', 'wrong-secret'),
          basic('nobody', 'x'),
          'Basic !!!',
          'Basic ' + Buffer.from('svc').toString('base64'),
        ]) {
          const res = await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: auth });
          assertOAuthError(res, 401, 'invalid_client');
          assert.match(res.headers['www-authenticate'] as string, /^Basic realm=/);
        }
        // RFC 6749 2.3.1: the id and secret are form-urlencoded before base64. A percent-encoded
        // id is decoded; a malformed encoding is a failed authentication, not an error.
        const raw = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
        const encodedId = await form(
          app,
          '/token',
          { grant_type: 'client_credentials' },
          { authorization: raw(`sv%63:${SECRETS.svc}`) },
        );
        assert.equal(encodedId.statusCode, 200, encodedId.body);
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials' },
            { authorization: raw(`svc:%E0%A4%A${SECRETS.svc}`) },
          ),
          401,
          'invalid_client',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials' },
            { authorization: raw(`svc:+${SECRETS.svc}`) },
          ),
          401,
          'invalid_client',
        );
        // Registered for client_secret_basic, so client_secret_post is refused.
        assertOAuthError(
          await form(app, '/token', {
            grant_type: 'client_credentials',
            client_id: 'svc',
            client_secret: 'svc-secret-0123456789-abcdefghijklmnopq',
          }),
          401,
          'invalid_client',
        );
        // Two methods at once.
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials', client_secret: 'x' },
            { authorization: basic('svc') },
          ),
          400,
          'invalid_request',
        );
        // A confidential client cannot skip authentication.
        assertOAuthError(
          await form(app, '/token', { grant_type: 'client_credentials', client_id: 'svc' }),
          401,
          'invalid_client',
        );
      });
      it('refuses grants a client is not registered for', async () => {
        assertOAuthError(
          await form(app, '/token', { grant_type: 'client_credentials', client_id: 'spa' }),
          400,
          'unauthorized_client',
        );
        assertOAuthError(
          await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('web') }),
          400,
          'unauthorized_client',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials', scope: 'openid' },
            { authorization: basic('svc') },
          ),
          400,
          'invalid_scope',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'client_credentials', scope: 'api:admin' },
            { authorization: basic('svc') },
          ),
          400,
          'invalid_scope',
        );
      });
      it('refuses bad codes, verifiers and refresh tokens with invalid_grant or invalid_request', async () => {
        assertOAuthError(
          await form(
            app,
            '/token',
            {
              grant_type: 'authorization_code',
              code: 'nope',
              code_verifier: pkce().verifier,
              redirect_uri: 'https://app.example/cb',
            },
            { authorization: basic('web') },
          ),
          400,
          'invalid_grant',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'authorization_code', code: 'nope', redirect_uri: 'https://app.example/cb' },
            { authorization: basic('web') },
          ),
          400,
          'invalid_request',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'authorization_code', code: 'nope', code_verifier: 'short' },
            { authorization: basic('web') },
          ),
          400,
          'invalid_request',
        );
        assertOAuthError(
          await form(
            app,
            '/token',
            { grant_type: 'refresh_token', refresh_token: 'nope' },
            { authorization: basic('web') },
          ),
          400,
          'invalid_grant',
        );
        assertOAuthError(
          await form(app, '/token', { grant_type: 'refresh_token' }, { authorization: basic('web') }),
          400,
          'invalid_request',
        );
      });
      it('keeps credentials out of the query string', async () => {
        const res = await app.server.inject({
          method: 'POST',
          url: '/token?client_secret=x',
          payload: 'grant_type=client_credentials',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc') },
        });
        assertOAuthError(res, 400, 'invalid_request');
      });
      it('answers 405 for other methods', async () => {
        const res = await app.server.inject({ method: 'GET', url: '/token' });
        assert.equal(res.statusCode, 405);
        assert.equal(res.json().error, 'invalid_request');
      });
    });

    describe('userinfo, introspection, revocation', () => {
      it('challenges requests without a valid bearer token', async () => {
        const none = await app.server.inject({ url: '/userinfo' });
        assert.equal(none.statusCode, 401);
        assert.equal(none.headers['www-authenticate'], 'Bearer realm="tessera"');
        const bad = await app.server.inject({ url: '/userinfo', headers: { authorization: 'Bearer not.a.jwt' } });
        assert.equal(bad.statusCode, 401);
        assert.match(bad.headers['www-authenticate'] as string, /error="invalid_token"/);
        const cc = (
          await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })
        ).json().access_token;
        const noOpenid = await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${cc}` } });
        assert.equal(noOpenid.statusCode, 403);
        assert.match(noOpenid.headers['www-authenticate'] as string, /insufficient_scope/);
        const twice = await app.server.inject({
          method: 'POST',
          url: '/userinfo',
          payload: `access_token=${cc}`,
          headers: { authorization: `Bearer ${cc}`, 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(twice.statusCode, 400);
        assert.match(twice.headers['www-authenticate'] as string, /invalid_request/);
      });
      it('refuses tokens signed by someone else, alg none and tampered payloads', async () => {
        const cc = (
          await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })
        ).json().access_token as string;
        const [h, p, s] = cc.split('.');
        const tampered = [
          h,
          Buffer.from(
            JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), scope: 'openid' }),
          ).toString('base64url'),
          s,
        ].join('.');
        const none = [Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url'), p, ''].join(
          '.',
        );
        for (const t of [tampered, none]) {
          assert.equal(
            (await form(app, '/introspect', { token: t }, { authorization: basic('rs') })).json().active,
            false,
          );
          assert.equal(
            (await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${t}` } })).statusCode,
            401,
          );
        }
      });
      it('introspection needs an authenticated confidential client', async () => {
        assertOAuthError(await form(app, '/introspect', { token: 'x' }), 401, 'invalid_client');
        assertOAuthError(await form(app, '/introspect', { token: 'x', client_id: 'spa' }), 401, 'invalid_client');
        assertOAuthError(await form(app, '/introspect', {}, { authorization: basic('rs') }), 400, 'invalid_request');
        const garbage = await form(
          app,
          '/introspect',
          { token: 'garbage', token_type_hint: 'whatever' },
          { authorization: basic('rs') },
        );
        assert.deepEqual(garbage.json(), { active: false });
      });
      it('revocation answers 200 for unknown tokens and needs client authentication', async () => {
        assert.equal(
          (await form(app, '/revoke', { token: 'unknown' }, { authorization: basic('web') })).statusCode,
          200,
        );
        assertOAuthError(
          await form(app, '/revoke', { token: 'unknown' }, { authorization: basic('web', 'bad') }),
          401,
          'invalid_client',
        );
        assertOAuthError(
          await form(app, '/revoke', { token: ['a', 'b'] }, { authorization: basic('web') }),
          400,
          'invalid_request',
        );
      });
    });

    it('unknown paths and discovery', async () => {
      const nf = await app.server.inject({ url: '/nope' });
      assert.equal(nf.statusCode, 404);
      assert.equal(nf.json().error, 'invalid_request');
      const d = (await app.server.inject({ url: '/.well-known/openid-configuration' })).json();
      const m = (await app.server.inject({ url: '/.well-known/oauth-authorization-server' })).json();
      assert.deepEqual(d, m);
      assert.equal(d.issuer, ISSUER);
      assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(d.response_types_supported, ['code']);
      assert.equal(d.authorization_response_iss_parameter_supported, true);
      assert.ok(!d.grant_types_supported.includes('password') && !d.grant_types_supported.includes('implicit'));
    });

    it('changes nothing in storage on bad input', async () => {
      const before = JSON.stringify(await app.stores.clients.list());
      const sessions = await app.stores.grants.listActiveByUser(
        (await app.stores.users.findByUsername('alice'))!.id,
        app.provider.now(),
      );
      await form(
        app,
        '/token',
        { grant_type: 'authorization_code', code: 'x', code_verifier: pkce().verifier },
        { authorization: basic('web') },
      );
      await form(app, '/revoke', { token: 'x' }, { authorization: basic('web', 'bad') });
      await app.server.inject({ url: authorizeUrl({ ...GOOD, client_id: 'nobody' }) });
      assert.equal(JSON.stringify(await app.stores.clients.list()), before);
      assert.equal(
        (
          await app.stores.grants.listActiveByUser(
            (await app.stores.users.findByUsername('alice'))!.id,
            app.provider.now(),
          )
        ).length,
        sessions.length,
      );
    });
  });
}

describe('revocation during a storage failure', () => {
  it('answers 503 temporarily_unavailable (RFC 7009), other endpoints a generic server_error', async () => {
    const app = await testApp('sqlite::memory:');
    const cc = (await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })).json()
      .access_token;
    const original = app.stores.revocations.revokeAccessToken;
    app.stores.revocations.revokeAccessToken = async () => {
      throw new Error('disk full');
    };
    const res = await form(app, '/revoke', { token: cc }, { authorization: basic('svc') });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error, 'temporarily_unavailable');
    app.stores.revocations.revokeAccessToken = original;
    app.stores.revocations.isTokenRevoked = async () => {
      throw new Error('disk full');
    };
    const intro = await form(app, '/introspect', { token: cc }, { authorization: basic('rs') });
    assert.equal(intro.statusCode, 500);
    assert.deepEqual(intro.json(), {
      error: 'server_error',
      error_description: 'The server could not complete the request.',
    });
    await app.close();
  });
});
