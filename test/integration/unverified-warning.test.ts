/**
 * RFC 9700 section 4.11.2, RFC 7591 section 5 and RFC 8628 section 5.4: a self-registered client's
 * name is its own claim, so every page that names it says so, in every flow. The device flow is
 * the most phishing-prone (a code relayed by an attacker), and its consent page used to carry no
 * warning. On SQLite and PostgreSQL, through /register and the real pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const WARNING =
  /<div class="alert unverified" role="note"><p>This application registered itself with Tessera: its name has not been checked by anyone\./;

for (const backend of await backends()) {
  describe(`unverified-application warning in every flow (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_GRANT_TYPES: `authorization_code refresh_token ${GRANT}`,
      });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const register = async (meta: Record<string, unknown>) => {
      const res = await app.server.inject({
        method: 'POST',
        url: '/register',
        payload: JSON.stringify(meta),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { client_id: string };
    };
    const get = (url: string, jar: Jar) => app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
    const post = async (url: string, body: Record<string, string>, jar: Jar): Promise<LightMyRequestResponse> => {
      const res = await form(app, url, body, { cookie: jar.header() });
      jar.take(res);
      return res;
    };

    it('device flow: the consent page warns, says access goes to the device, and shows the code', async () => {
      const reg = await register({
        client_name: 'Living Room TV (official)',
        token_endpoint_auth_method: 'none',
        grant_types: [GRANT],
        scope: 'openid',
      });
      const started = await form(app, '/device_authorization', { client_id: reg.client_id, scope: 'openid' });
      assert.equal(started.statusCode, 200, started.body);
      const userCode: string = started.json().user_code;
      const jar = new Jar();
      const entry = await get('/device', jar);
      jar.take(entry);
      const entered = await post('/device', { user_code: userCode, csrf: csrfOf(entry.body) }, jar);
      assert.equal(entered.statusCode, 303, entered.body);
      const path = new URL(entered.headers.location as string).pathname;
      const login = await get(path, jar);
      assert.match(login.body, /name="password"/);
      assert.match(login.body, WARNING, 'the login page names the client, so it warns');
      assert.match(login.body, /Access would go to the device that showed you the code/);
      await post(
        `${path}/login`,
        { username: 'alice', password: 'correct horse battery', csrf: csrfOf(login.body) },
        jar,
      );
      const consent = await get(path, jar);
      assert.match(consent.body, /Allow access\?/);
      assert.match(consent.body, WARNING);
      assert.match(consent.body, /Access would go to the device that showed you the code/);
      assert.ok(consent.body.includes(userCode));
    });

    it('code flow: the login page warns with the host the answer goes to, as the consent page does', async () => {
      const reg = await register({
        client_name: 'Totally Official Bank',
        redirect_uris: ['https://rp.example/cb'],
        grant_types: ['authorization_code'],
        scope: 'openid',
      });
      const jar = new Jar();
      const res = await get(
        authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
        jar,
      );
      jar.take(res);
      assert.ok((res.headers.location as string).startsWith(`${ISSUER}/interaction/`));
      const login = await get(new URL(res.headers.location as string).pathname, jar);
      assert.match(login.body, WARNING);
      assert.match(login.body, /you will be sent to <strong>rp\.example<\/strong>/);
    });

    it('an operator-made client gets no warning', async () => {
      const jar = new Jar();
      const res = await get(
        authorizeUrl({
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
        jar,
      );
      jar.take(res);
      const login = await get(new URL(res.headers.location as string).pathname, jar);
      assert.match(login.body, /name="password"/);
      assert.doesNotMatch(login.body, /registered itself/);
    });
  });
}
