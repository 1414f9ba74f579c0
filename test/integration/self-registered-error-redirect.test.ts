// Authorization errors of self-registered clients (issue 15): RFC 6749 section 4.1.2.1 sends them
// to the redirect URI, but an https redirect URI of a self-registered client is whatever its
// registrant chose (an open redirector: docs/security.md), so those get a page with a link. A
// loopback or private-use redirect URI reaches only an application on the user's own machine: the
// error goes there, so an MCP client waiting on its loopback callback hears of it. Through the real
// endpoints on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const ALICE = { username: 'alice', password: 'correct horse battery' };

async function register(app: App, body: Record<string, unknown>): Promise<string> {
  const res = await app.server.inject({
    method: 'POST',
    url: '/register',
    payload: JSON.stringify({ token_endpoint_auth_method: 'none', scope: 'openid', ...body }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { client_id: string }).client_id;
}

/** Signs alice in up to the consent page and answers it with `decision`. */
async function consent(app: App, params: Record<string, string>, decision: string): Promise<LightMyRequestResponse> {
  const jar = new Jar();
  let res = await app.server.inject({ method: 'GET', url: authorizeUrl(params), headers: { cookie: jar.header() } });
  jar.take(res);
  for (let i = 0; i < 4; i++) {
    assert.equal(res.statusCode, 303, res.body.slice(0, 300));
    const location = new URL(res.headers.location as string);
    assert.ok(location.href.startsWith(`${ISSUER}/interaction/`), `left early: ${location}`);
    const page = await app.server.inject({ method: 'GET', url: location.pathname, headers: { cookie: jar.header() } });
    const csrf = csrfOf(page.body);
    if (!page.body.includes('name="password"'))
      return form(app, `${location.pathname}/consent`, { decision, csrf }, { cookie: jar.header() });
    res = await form(app, `${location.pathname}/login`, { ...ALICE, csrf }, { cookie: jar.header() });
    jar.take(res);
  }
  throw new Error('too many interaction steps');
}

const params = (clientId: string, redirectUri: string, extra: Record<string, string> = {}) => ({
  client_id: clientId,
  redirect_uri: redirectUri,
  response_type: 'code',
  scope: 'openid',
  state: 'st-1',
  code_challenge: pkce().challenge,
  code_challenge_method: 'S256',
  ...extra,
});

function assertRedirectedError(res: LightMyRequestResponse, callback: string, error: string): void {
  assert.equal(res.statusCode, 303, res.body.slice(0, 300));
  const location = new URL(res.headers.location as string);
  assert.equal(location.href.split('?')[0], callback);
  assert.equal(location.searchParams.get('error'), error);
  assert.equal(location.searchParams.get('state'), 'st-1');
  assert.equal(location.searchParams.get('iss'), ISSUER);
}

for (const backend of await backends()) {
  describe(`authorization errors of self-registered clients (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
      });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    it('a native client with a loopback redirect: access_denied at consent reaches the callback (any port)', async () => {
      const id = await register(app, { client_name: 'Desktop', redirect_uris: ['http://127.0.0.1:33418/callback'] });
      const callback = 'http://127.0.0.1:50123/callback';
      assertRedirectedError(await consent(app, params(id, callback), 'deny'), callback, 'access_denied');
      // An error found before any user step goes there too (no page the client never sees).
      const bad = await app.server.inject({
        method: 'GET',
        url: authorizeUrl(params(id, callback, { scope: 'nope' })),
      });
      assertRedirectedError(bad, callback, 'invalid_scope');
      const silent = await app.server.inject({
        method: 'GET',
        url: authorizeUrl(params(id, callback, { prompt: 'none' })),
      });
      assertRedirectedError(silent, callback, 'login_required');
    });

    it('localhost and [::1] loopback redirects, and a private-use scheme of a native client, get the error', async () => {
      for (const callback of ['http://localhost:4711/cb', 'http://[::1]:4711/cb', 'com.example.desktop:/cb']) {
        const id = await register(app, { application_type: 'native', redirect_uris: [callback] });
        assertRedirectedError(await consent(app, params(id, callback), 'deny'), callback, 'access_denied');
      }
    });

    it('an https redirect URI of a self-registered client still gets the page with a link', async () => {
      const callback = 'https://rp.example/cb';
      const id = await register(app, { client_name: 'Web', redirect_uris: [callback] });
      const denied = await consent(app, params(id, callback), 'deny');
      assert.equal(denied.statusCode, 200);
      assert.equal(denied.headers.location, undefined);
      assert.match(denied.body, /href="https:\/\/rp\.example\/cb\?error=access_denied[^"]*state=st-1/);
      const bad = await app.server.inject({
        method: 'GET',
        url: authorizeUrl(params(id, callback, { scope: 'nope' })),
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.headers.location, undefined);
      // A web client's loopback URI is http on loopback all the same: it cannot leave the machine.
      const local = 'http://127.0.0.1:8080/cb';
      const webLocal = await register(app, { application_type: 'web', redirect_uris: [local] });
      assertRedirectedError(await consent(app, params(webLocal, local), 'deny'), local, 'access_denied');
    });
  });
}
