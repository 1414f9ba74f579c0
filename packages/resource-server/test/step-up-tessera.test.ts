/**
 * RFC 9470 step-up against Tessera's own user tokens: a password sign-in through /authorize (login
 * and consent forms, in process), its access token for a registered resource, and the resource
 * server demanding more than a password or a more recent sign-in. The resource server reaches
 * Tessera (metadata, JWKS) through its `fetch` option, routed to the app in process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveClient } from '../../../src/admin/clients.ts';
import { saveResourceServer } from '../../../src/admin/resources.ts';
import type { App } from '../../../src/app.ts';
import { authorizeWithLogin, basic, form, ISSUER, Jar, pkce, testApp } from '../../../test/fixtures/app.ts';
import { createResourceServer, InsufficientUserAuthenticationError, type FetchLike } from '../src/index.ts';

const API = 'http://localhost:4999/api';
const CB = 'https://rp.example/cb';
const SECRET = 'step-up-secret-0123456789-abcdefghijkl';

describe("step-up with Tessera's user tokens", () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_EXTRA_SCOPES: 'api:read' });
    const now = app.provider.now();
    await saveResourceServer(
      app.stores,
      app.provider.config,
      { identifier: API, display_name: 'API', scopes: { 'api:read': 'Read' } },
      now,
    );
    await saveClient(
      app.stores,
      app.provider.config,
      {
        client_id: 'rp',
        client_secret: SECRET,
        redirect_uris: [CB],
        grant_types: ['authorization_code'],
        scope: 'openid api:read',
        allowed_resources: [API],
      },
      now,
    );
  });
  after(async () => {
    await app?.close();
  });

  /** Tessera in process, as the resource server's fetch. */
  const inProcess: FetchLike = async (input) => {
    const url = new URL(String(input));
    const res = await app.server.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
  };

  it('a password sign-in satisfies urn:tessera:acr:password, not mfa nor phr; max_age is judged on auth_time', async () => {
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(app, new Jar(), {
      client_id: 'rp',
      redirect_uri: CB,
      response_type: 'code',
      scope: 'openid api:read',
      resource: API,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const code = redirect.searchParams.get('code');
    assert.ok(code, redirect.href);
    const res = await form(
      app,
      '/token',
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CB, resource: API },
      { authorization: basic('rp', SECRET) },
    );
    assert.equal(res.statusCode, 200, res.body);
    const token = res.json().access_token as string;

    const rs = createResourceServer({ issuer: ISSUER, resource: API, fetch: inProcess });
    const req = { method: 'GET', url: '/api/things', headers: { authorization: `Bearer ${token}` } };
    const info = await rs.authenticate(req, { acr: 'urn:tessera:acr:password', maxAge: 300 });
    assert.equal(info.acr, 'urn:tessera:acr:password');
    assert.ok(info.authTime && Math.abs(info.authTime - app.provider.now()) < 60);
    assert.deepEqual(info.claims.amr, ['pwd']);

    for (const acr of ['urn:tessera:acr:mfa', 'phr']) {
      const err = await rs.authenticate(req, { acr }).then(
        () => assert.fail(`accepted for ${acr}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InsufficientUserAuthenticationError);
      const r = rs.refusal(err, req);
      assert.equal(r.status, 401);
      assert.match(
        r.headers['www-authenticate']!,
        new RegExp(`^Bearer error="insufficient_user_authentication", error_description="[^"]+", acr_values="${acr}`),
      );
    }
    // Judged later: the sign-in is older than max_age (a resource server whose clock reads 200 seconds later).
    const later = createResourceServer({
      issuer: ISSUER,
      resource: API,
      fetch: inProcess,
      clockSkew: 0,
      now: () => app.provider.now() + 200,
    });
    await assert.rejects(later.authenticate(req, { maxAge: 100 }), InsufficientUserAuthenticationError);
  });
});
