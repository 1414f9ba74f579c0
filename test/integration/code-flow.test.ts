import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };

for (const backend of await backends()) {
  describe(`authorization code flow (${backend.name})`, {
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

    async function codeFor(extra: Record<string, string> = {}, jar = new Jar()) {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, jar, {
        ...WEB,
        scope: 'openid profile email',
        state: 'st-1',
        nonce: 'n-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      });
      return { redirect, verifier, jar, code: redirect.searchParams.get('code')! };
    }
    const redeem = (code: string, verifier: string, client = 'web') =>
      form(
        app,
        '/token',
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: WEB.redirect_uri },
        { authorization: basic(client) },
      );

    it('issues a code with state and iss, then tokens a client library can verify', async () => {
      const { redirect, verifier, code } = await codeFor();
      assert.equal(redirect.origin + redirect.pathname, WEB.redirect_uri);
      assert.equal(redirect.searchParams.get('state'), 'st-1');
      assert.equal(redirect.searchParams.get('iss'), ISSUER);
      const res = await redeem(code, verifier);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.equal(body.token_type, 'Bearer');
      assert.ok(body.refresh_token);
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const at = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt' });
      assert.equal(at.payload.client_id, 'web');
      assert.equal(at.payload.scope, 'openid profile email');
      assert.ok(at.payload.jti && at.payload.sub && at.payload.auth_time);
      const id = await jwtVerify(body.id_token, jwks, { issuer: ISSUER, audience: 'web' });
      assert.equal(id.payload.nonce, 'n-1');
      assert.equal(id.payload.sub, at.payload.sub);
      for (const claim of ['auth_time', 'at_hash', 'sid', 'amr', 'exp', 'iat'])
        assert.ok(id.payload[claim] !== undefined, claim);
      const ui = await app.server.inject({
        url: '/userinfo',
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      assert.equal(ui.statusCode, 200);
      assert.deepEqual(ui.json(), {
        sub: at.payload.sub,
        name: 'Alice Example',
        preferred_username: 'alice',
        updated_at: ui.json().updated_at,
        email: 'alice@example.com',
        email_verified: true,
      });
    });

    it('redeems a code once: 50 parallel redemptions give exactly one success', async () => {
      const { verifier, code } = await codeFor();
      const results = await Promise.all(Array.from({ length: 50 }, () => redeem(code, verifier)));
      const ok = results.filter((r) => r.statusCode === 200);
      assert.equal(ok.length, 1);
      for (const r of results.filter((x) => x.statusCode !== 200)) assert.equal(r.json().error, 'invalid_grant');
      // The replays revoked what the winner got.
      const { access_token: at, refresh_token: rt } = ok[0]!.json();
      const intro = await form(app, '/introspect', { token: at }, { authorization: basic('rs') });
      assert.equal(intro.json().active, false);
      const refresh = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: rt },
        { authorization: basic('web') },
      );
      assert.equal(refresh.json().error, 'invalid_grant');
    });

    it('refuses a wrong PKCE verifier, another client, and a different redirect_uri', async () => {
      const a = await codeFor();
      assert.equal((await redeem(a.code, pkce().verifier)).json().error, 'invalid_grant');
      const b = await codeFor();
      const other = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: b.code,
        code_verifier: b.verifier,
        redirect_uri: 'https://post.example/cb',
        client_id: 'web-post',
        client_secret: 'post-secret-0123456789-abcdefghijklmnop',
      });
      assert.equal(other.json().error, 'invalid_grant');
      const c = await codeFor();
      const wrongRedirect = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: 'https://app.example/other',
        },
        { authorization: basic('web') },
      );
      assert.equal(wrongRedirect.json().error, 'invalid_grant');
    });

    it('rotates refresh tokens, and reuse of a rotated token revokes the family', async () => {
      const { verifier, code } = await codeFor();
      const first = (await redeem(code, verifier)).json();
      const r1 = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: first.refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(r1.statusCode, 200, r1.body);
      const second = r1.json();
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.ok(second.id_token);
      const reuse = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: first.refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(reuse.json().error, 'invalid_grant');
      const after = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: second.refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(after.json().error, 'invalid_grant');
      const intro = await form(app, '/introspect', { token: second.access_token }, { authorization: basic('rs') });
      assert.equal(intro.json().active, false);
    });

    it('50 parallel refreshes of one token give exactly one success', async () => {
      const { verifier, code } = await codeFor();
      const { refresh_token } = (await redeem(code, verifier)).json();
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          form(app, '/token', { grant_type: 'refresh_token', refresh_token }, { authorization: basic('web') }),
        ),
      );
      // Exactly one: none at all would mean the token was lost, not that it was used once.
      assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
      for (const r of results.filter((x) => x.statusCode !== 200)) assert.equal(r.json().error, 'invalid_grant');
    });

    it('binds refresh tokens to their client and allows only downscoping', async () => {
      const { verifier, code } = await codeFor();
      const { refresh_token } = (await redeem(code, verifier)).json();
      // web-post has no refresh_token grant: refused before its token is looked at.
      const stolen = await form(app, '/token', {
        grant_type: 'refresh_token',
        refresh_token,
        client_id: 'web-post',
        client_secret: 'post-secret-0123456789-abcdefghijklmnop',
      });
      assert.equal(stolen.json().error, 'unauthorized_client');
      // spa holds the grant, so only the token's binding to web refuses it (and leaves it unused: web refreshes below).
      assert.ok((await app.stores.clients.get('spa'))!.grantTypes.includes('refresh_token'));
      const otherClient = await form(app, '/token', { grant_type: 'refresh_token', refresh_token, client_id: 'spa' });
      assert.equal(otherClient.statusCode, 400, otherClient.body);
      assert.equal(otherClient.json().error, 'invalid_grant');
      const wider = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token, scope: 'openid offline_access' },
        { authorization: basic('web') },
      );
      assert.equal(wider.json().error, 'invalid_scope');
      const narrower = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token, scope: 'openid' },
        { authorization: basic('web') },
      );
      assert.equal(narrower.statusCode, 200, narrower.body);
      assert.equal(narrower.json().scope, 'openid');
    });

    it('remembers consent, honours prompt=none, login and consent', async () => {
      const jar = new Jar();
      await codeFor({}, jar);
      const { challenge } = pkce();
      const base = {
        ...WEB,
        scope: 'openid profile email',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const silent = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...base, prompt: 'none' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(silent.statusCode, 303);
      assert.ok(new URL(silent.headers.location as string).searchParams.get('code'));
      const fresh = await app.server.inject({ url: `/authorize?${new URLSearchParams({ ...base, prompt: 'none' })}` });
      const err = new URL(fresh.headers.location as string);
      assert.equal(err.searchParams.get('error'), 'login_required');
      assert.equal(err.searchParams.get('state'), 's');
      assert.equal(err.searchParams.get('iss'), ISSUER);
      const login = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...base, prompt: 'login' })}`,
        headers: { cookie: jar.header() },
      });
      assert.match(login.headers.location as string, /\/interaction\//);
      const more = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...base, scope: 'openid offline_access', prompt: 'none' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(new URL(more.headers.location as string).searchParams.get('error'), 'consent_required');
    });

    it('requires redirect_uri for OpenID requests, and repeats it at the token endpoint when it was sent', async () => {
      const { challenge, verifier } = pkce();
      const noRedirect = {
        client_id: 'web',
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const oidc = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...noRedirect, scope: 'openid' })}`,
      });
      assert.equal(oidc.statusCode, 400);
      assert.equal(oidc.headers.location, undefined);
      // A plain OAuth request may rely on the single registered URI; then the token request may omit it.
      const jar = new Jar();
      const redirect = await authorizeWithLogin(app, jar, { ...noRedirect, scope: 'profile' });
      assert.equal(redirect.origin + redirect.pathname, WEB.redirect_uri);
      const res = await form(
        app,
        '/token',
        { grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, code_verifier: verifier },
        { authorization: basic('web') },
      );
      assert.equal(res.statusCode, 200, res.body);
      // Sent at authorize, so it must be repeated.
      const sent = await codeFor();
      const omitted = await form(
        app,
        '/token',
        { grant_type: 'authorization_code', code: sent.code, code_verifier: sent.verifier },
        { authorization: basic('web') },
      );
      assert.equal(omitted.json().error, 'invalid_grant');
    });

    it('max_age=0 forces a new login', async () => {
      const { jar } = await codeFor();
      const { challenge } = pkce();
      const res = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...WEB, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', max_age: '0' })}`,
        headers: { cookie: jar.header() },
      });
      assert.match(res.headers.location as string, /\/interaction\//);
      const silent = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...WEB, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', max_age: '0', prompt: 'none' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(new URL(silent.headers.location as string).searchParams.get('error'), 'login_required');
    });

    it('renews the session id at login (no session fixation)', async () => {
      const jar = new Jar();
      jar.cookies.set('tessera_session', 'attacker-chosen-value');
      await codeFor({}, jar);
      const value = jar.cookies.get('tessera_session');
      assert.ok(value && value !== 'attacker-chosen-value');
      const again = new Jar();
      again.cookies.set('tessera_session', value!);
      await codeFor({ prompt: 'login' }, again);
      assert.notEqual(again.cookies.get('tessera_session'), value);
      // The old session is gone.
      const { challenge } = pkce();
      const old = await app.server.inject({
        url: `/authorize?${new URLSearchParams({ ...WEB, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none' })}`,
        headers: { cookie: `tessera_session=${value}` },
      });
      assert.equal(new URL(old.headers.location as string).searchParams.get('error'), 'login_required');
    });

    it('public clients redeem with PKCE and client_id only; native loopback may use any port', async () => {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'native',
        redirect_uri: 'http://127.0.0.1:53121/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      assert.equal(redirect.host, '127.0.0.1:53121');
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'http://127.0.0.1:53121/cb',
        client_id: 'native',
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().refresh_token, undefined);
    });

    it('client credentials, introspection and revocation', async () => {
      const res = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read', resource: 'https://api.example/' },
        { authorization: basic('svc') },
      );
      assert.equal(res.statusCode, 200, res.body);
      const claims = decodeJwt(res.json().access_token);
      assert.equal(claims.sub, 'svc');
      assert.equal(claims.aud, 'https://api.example/');
      const intro = await form(app, '/introspect', { token: res.json().access_token }, { authorization: basic('rs') });
      assert.equal(intro.json().active, true);
      assert.equal(intro.json().client_id, 'svc');
      assert.equal(intro.json().scope, 'api:read');
      const rev = await form(app, '/revoke', { token: res.json().access_token }, { authorization: basic('rs') });
      assert.equal(rev.json().error, 'unauthorized_client');
      assert.equal(
        (await form(app, '/revoke', { token: res.json().access_token }, { authorization: basic('svc') })).statusCode,
        200,
      );
      assert.equal(
        (await form(app, '/introspect', { token: res.json().access_token }, { authorization: basic('rs') })).json()
          .active,
        false,
      );
    });

    it('revoking a refresh token revokes its family; logout ends the session', async () => {
      const { verifier, code, jar } = await codeFor();
      const t = (await redeem(code, verifier)).json();
      assert.equal(
        (
          await form(
            app,
            '/revoke',
            { token: t.refresh_token, token_type_hint: 'refresh_token' },
            { authorization: basic('web') },
          )
        ).statusCode,
        200,
      );
      assert.equal(
        (await form(app, '/introspect', { token: t.access_token }, { authorization: basic('rs') })).json().active,
        false,
      );
      assert.equal(
        (
          await form(
            app,
            '/token',
            { grant_type: 'refresh_token', refresh_token: t.refresh_token },
            { authorization: basic('web') },
          )
        ).json().error,
        'invalid_grant',
      );
      const out = await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: t.id_token, post_logout_redirect_uri: 'https://app.example/bye', state: 'x' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(out.statusCode, 303);
      assert.equal(out.headers.location, 'https://app.example/bye?state=x');
      jar.take(out);
      assert.equal(jar.cookies.has('tessera_session'), false);
      const bad = await app.server.inject({
        url: `/logout?${new URLSearchParams({ id_token_hint: t.id_token, post_logout_redirect_uri: 'https://evil.example/' })}`,
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.headers.location, undefined);
    });

    it('a logout without id_token_hint asks the user to confirm', async () => {
      const { jar } = await codeFor();
      const ask = await app.server.inject({ url: '/logout', headers: { cookie: jar.header() } });
      assert.equal(ask.statusCode, 200);
      assert.match(ask.body, /name="confirm"/);
      const forged = await form(app, '/logout', { confirm: 'yes', csrf: 'nope' }, { cookie: jar.header() });
      assert.match(forged.body, /name="confirm"/);
    });
  });
}
