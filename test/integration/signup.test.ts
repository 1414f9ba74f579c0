// Self-registration (TESSERA_SELF_REGISTRATION) and OpenID Connect Prompt Create 1.0: the sign-up
// page, prompt=create at /authorize, the form's checks, and what a refused form leaves behind
// (nothing).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';
import { authorizeUrl, backends, basic, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };
const PASSWORD = 'tessellated lanterns glow';

let counter = 0;
const uniqueName = (prefix = 'user') => `${prefix}${process.pid}x${++counter}`;

function params(extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  return {
    verifier,
    params: {
      ...WEB,
      scope: 'openid profile email',
      state: 'st',
      nonce: 'n',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    },
  };
}

for (const backend of await backends()) {
  describe(`self-registration (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let off: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_SELF_REGISTRATION: 'true' });
      // A second app on the same database, with sign-up off (the default).
      off = await testApp(backend.url!);
    });
    after(async () => {
      await app?.close();
      await off?.close();
      await backend.drop?.();
    });

    const get = (a: App, url: string, jar?: Jar) =>
      a.server.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
    const userCount = async () => (await app.stores.users.list()).length;

    /** Starts an authorization and returns the interaction path and the page it shows. */
    async function start(a: App, jar: Jar, extra: Record<string, string> = {}) {
      const p = params(extra);
      const res = await get(a, authorizeUrl(p.params), jar);
      jar.take(res);
      assert.equal(res.statusCode, 303, res.body);
      const location = new URL(res.headers.location as string);
      assert.ok(location.href.startsWith(`${ISSUER}/interaction/`), location.href);
      const page = await get(a, location.pathname, jar);
      return { ia: location.pathname, page, verifier: p.verifier };
    }

    /** The sign-up page of a fresh interaction started with prompt=create. */
    async function signupPage(jar = new Jar()) {
      const s = await start(app, jar, { prompt: 'create' });
      assert.equal(s.page.statusCode, 200);
      assert.match(s.page.body, /<h1>Create an account<\/h1>/);
      return { ...s, jar, csrf: csrfOf(s.page.body) };
    }

    const signup = (ia: string, jar: Jar, body: Record<string, string | string[]>) =>
      form(app, `${ia}/signup`, body, { cookie: jar.header() });

    async function redeem(code: string, verifier: string) {
      const res = await form(
        app,
        '/token',
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: WEB.redirect_uri },
        { authorization: basic('web') },
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { access_token: string; id_token: string };
    }

    describe('switched off (the default)', () => {
      it('prompt=create is refused with invalid_request and not advertised', async () => {
        const res = await get(off, authorizeUrl(params({ prompt: 'create' }).params));
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.searchParams.get('error'), 'invalid_request');
        assert.match(loc.searchParams.get('error_description')!, /prompt=create/);
        const doc = (await get(off, '/.well-known/openid-configuration')).json();
        assert.deepEqual(doc.prompt_values_supported, ['none', 'login', 'consent', 'select_account']);
      });

      it('the login page has no sign-up link and the sign-up step answers 404, creating nothing', async () => {
        const jar = new Jar();
        const s = await start(off, jar);
        assert.match(s.page.body, /name="password"/);
        assert.doesNotMatch(s.page.body, /Create an account|\/signup/);
        const before = await userCount();
        assert.equal((await get(off, `${s.ia}/signup`, jar)).statusCode, 404);
        const csrf = csrfOf(s.page.body);
        const res = await form(
          off,
          `${s.ia}/signup`,
          { username: uniqueName(), password: PASSWORD, confirm: PASSWORD, csrf },
          { cookie: jar.header() },
        );
        assert.equal(res.statusCode, 404);
        assert.match(res.body, /Sign-up not available/);
        assert.equal(await userCount(), before);
      });
    });

    describe('switched on', () => {
      it('advertises prompt=create', async () => {
        const doc = (await get(app, '/.well-known/openid-configuration')).json();
        assert.ok(doc.prompt_values_supported.includes('create'));
      });

      it('prompt=create: the sign-up page instead of the login page, then consent, a code, and tokens for the new user', async () => {
        const { ia, jar, csrf, page, verifier } = await signupPage();
        assert.doesNotMatch(page.body, /name="password" autocomplete="current-password"/);
        // Strict CSP with a nonce, as on every page; the form posts to the interaction only.
        const csp = page.headers['content-security-policy'] as string;
        const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
        assert.ok(nonce && page.body.includes(`<style nonce="${nonce}">`));
        assert.match(csp, /default-src 'none'/);
        assert.match(page.body, new RegExp(`action="${ISSUER}${ia}/signup"`));
        // With prompt=create no link back to the login page (the client asked for sign-up).
        assert.doesNotMatch(page.body, /Already have an account/);

        const username = uniqueName('new');
        const res = await signup(ia, jar, {
          username: username.toUpperCase(),
          email: 'new@example.com',
          name: 'New Person',
          password: PASSWORD,
          confirm: PASSWORD,
          csrf,
        });
        assert.equal(res.statusCode, 303, res.body);
        assert.equal(res.headers.location, `${ISSUER}${ia}`);
        jar.take(res);
        const user = await app.stores.users.findByUsername(username);
        assert.ok(user, 'stored under the lower-case username');
        assert.equal(user.email, 'new@example.com');
        assert.equal(user.emailVerified, false);
        assert.equal(user.name, 'New Person');
        assert.match(user.passwordHash!, /^\$argon2id\$/);
        assert.equal(await verifyPassword(PASSWORD, user.passwordHash), true);

        const consent = await get(app, ia, jar);
        assert.match(consent.body, /Allow access\?/);
        assert.match(consent.body, new RegExp(username));
        const done = await form(
          app,
          `${ia}/consent`,
          { decision: 'allow', csrf: csrfOf(consent.body) },
          { cookie: jar.header() },
        );
        const loc = new URL(done.headers.location as string);
        assert.equal(loc.origin + loc.pathname, WEB.redirect_uri);
        const tokens = await redeem(loc.searchParams.get('code')!, verifier);
        const idToken = decodeJwt(tokens.id_token);
        assert.equal(idToken.sub, user.id);
        assert.deepEqual(idToken.amr, ['pwd']);
        assert.equal(decodeJwt(tokens.access_token).sub, user.id);

        // The new user can sign in with the password later.
        const again = await start(app, new Jar());
        assert.match(again.page.body, /name="password"/);

        await app.audit.flush();
        const records = await app.stores.audit.query({ type: 'user_registered' });
        const rec = records.find((r) => r.actor === user.id);
        assert.ok(rec, 'a user_registered audit record');
        assert.equal(rec.clientId, 'web');
        assert.equal(rec.outcome, 'success');
        assert.doesNotMatch(JSON.stringify(records), new RegExp(PASSWORD));
        const metric = await app.metrics.registry.getSingleMetricAsString('tessera_signups_total');
        assert.match(metric, /tessera_signups_total\{outcome="registered"\} [1-9]/);
      });

      it('the login page links to the sign-up page, which links back; sign-up continues the same request', async () => {
        const jar = new Jar();
        const { ia, page, verifier } = await start(app, jar);
        assert.match(page.body, /name="password"/);
        const link = new RegExp(`<a href="${ISSUER}${ia}/signup">Create an account</a>`);
        assert.match(page.body, link);
        const su = await get(app, `${ia}/signup`, jar);
        assert.equal(su.statusCode, 200);
        assert.match(su.body, /<h1>Create an account<\/h1>/);
        assert.match(su.body, new RegExp(`<a href="${ISSUER}${ia}">Sign in</a>`));
        const username = uniqueName('linked');
        const res = await signup(ia, jar, { username, password: PASSWORD, confirm: PASSWORD, csrf: csrfOf(su.body) });
        assert.equal(res.statusCode, 303, res.body);
        jar.take(res);
        const consent = await get(app, ia, jar);
        const done = await form(
          app,
          `${ia}/consent`,
          { decision: 'allow', csrf: csrfOf(consent.body) },
          { cookie: jar.header() },
        );
        const tokens = await redeem(new URL(done.headers.location as string).searchParams.get('code')!, verifier);
        const user = await app.stores.users.findByUsername(username);
        assert.equal(decodeJwt(tokens.id_token).sub, user!.id);
        assert.equal(user!.email, null);
      });

      it('sign-up replaces an existing session with a new one (new session id, as at login)', async () => {
        const jar = new Jar();
        // Sign in as alice first.
        const first = await start(app, jar);
        const login = await form(
          app,
          `${first.ia}/login`,
          { username: 'alice', password: 'correct horse battery', csrf: csrfOf(first.page.body) },
          { cookie: jar.header() },
        );
        jar.take(login);
        const aliceSession = jar.cookies.get('tessera_session');
        assert.ok(aliceSession);
        // prompt=create with a session still shows the sign-up page.
        const { ia, csrf } = await signupPage(jar);
        const res = await signup(ia, jar, {
          username: uniqueName('fresh'),
          password: PASSWORD,
          confirm: PASSWORD,
          csrf,
        });
        assert.equal(res.statusCode, 303, res.body);
        jar.take(res);
        const fresh = jar.cookies.get('tessera_session');
        assert.ok(fresh && fresh !== aliceSession);
        // The old session is gone: with only its cookie, prompt=none needs a login.
        const old = new Jar();
        old.cookies.set('tessera_session', aliceSession);
        const none = await get(app, authorizeUrl(params({ prompt: 'none' }).params), old);
        assert.equal(new URL(none.headers.location as string).searchParams.get('error'), 'login_required');
      });

      it('a device approval (RFC 8628): "Create an account" from its login page, then its consent page, and the device gets tokens of the new user', async () => {
        const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
        await saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: 'tv',
            client_name: 'Living Room TV',
            token_endpoint_auth_method: 'none',
            grant_types: [GRANT],
            scope: 'openid profile',
            redirect_uris: [],
          },
          app.provider.now(),
        );
        const device = (
          await form(app, '/device_authorization', { client_id: 'tv', scope: 'openid profile' })
        ).json() as { device_code: string; user_code: string };
        const jar = new Jar();
        const entry = await get(app, '/device', jar);
        jar.take(entry);
        const entered = await form(
          app,
          '/device',
          { user_code: device.user_code, csrf: csrfOf(entry.body) },
          { cookie: jar.header() },
        );
        jar.take(entered);
        const ia = new URL(entered.headers.location as string).pathname;
        const login = await get(app, ia, jar);
        assert.match(login.body, /Create an account/);
        const su = await get(app, `${ia}/signup`, jar);
        const username = uniqueName('tv');
        const res = await signup(ia, jar, { username, password: PASSWORD, confirm: PASSWORD, csrf: csrfOf(su.body) });
        assert.equal(res.statusCode, 303, res.body);
        jar.take(res);
        const consent = await get(app, ia, jar);
        assert.ok(consent.body.includes(device.user_code), 'the consent page shows the code to compare');
        const done = await form(
          app,
          `${ia}/consent`,
          { decision: 'allow', csrf: csrfOf(consent.body) },
          { cookie: jar.header() },
        );
        assert.equal(done.statusCode, 200, done.body);
        const tokens = await form(app, '/token', {
          grant_type: GRANT,
          device_code: device.device_code,
          client_id: 'tv',
        });
        assert.equal(tokens.statusCode, 200, tokens.body);
        const user = await app.stores.users.findByUsername(username);
        assert.equal(decodeJwt(tokens.json().id_token).sub, user!.id);
      });

      it('prompt=create cannot be combined with prompt=none', async () => {
        const res = await get(app, authorizeUrl(params({ prompt: 'none create' }).params));
        assert.equal(new URL(res.headers.location as string).searchParams.get('error'), 'invalid_request');
      });

      describe('bad input: a 4xx page and no user created', () => {
        const cases: [string, (csrf: string, name: string) => Record<string, string | string[]>, number, RegExp][] = [
          [
            'missing CSRF token',
            (_c, u) => ({ username: u, password: PASSWORD, confirm: PASSWORD }),
            403,
            /Form expired/,
          ],
          [
            'wrong CSRF token',
            (_c, u) => ({ username: u, password: PASSWORD, confirm: PASSWORD, csrf: 'x'.repeat(43) }),
            403,
            /Form expired/,
          ],
          [
            'two CSRF tokens',
            (c, u) => ({ username: u, password: PASSWORD, confirm: PASSWORD, csrf: [c, c] }),
            403,
            /Form expired/,
          ],
          [
            'mismatched passwords',
            (c, u) => ({ username: u, password: PASSWORD, confirm: `${PASSWORD}!`, csrf: c }),
            400,
            /The two passwords do not match/,
          ],
          [
            'short password',
            (c, u) => ({ username: u, password: 'short12', confirm: 'short12', csrf: c }),
            400,
            /at least 8 characters/,
          ],
          [
            'common password',
            (c, u) => ({ username: u, password: 'Password123', confirm: 'Password123', csrf: c }),
            400,
            /too common/,
          ],
          [
            'password equal to the username',
            (c, u) => ({ username: u, password: u, confirm: u, csrf: c }),
            400,
            /must not be your username/,
          ],
          [
            'taken username',
            (c) => ({ username: 'alice', password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /This username is taken/,
          ],
          [
            'taken username in another case',
            (c) => ({ username: 'ALICE', password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /This username is taken/,
          ],
          [
            'bad username',
            (c) => ({ username: 'no spaces allowed', password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /3 to 32 characters/,
          ],
          ['missing username', (c) => ({ password: PASSWORD, confirm: PASSWORD, csrf: c }), 400, /Choose a username/],
          [
            'bad email',
            (c, u) => ({ username: u, email: 'not-an-email', password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /valid email address/,
          ],
          [
            'oversized username',
            (c) => ({ username: 'a'.repeat(300), password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /too long or was sent twice/,
          ],
          [
            'oversized password',
            (c, u) => ({ username: u, password: 'p'.repeat(1100), confirm: 'p'.repeat(1100), csrf: c }),
            400,
            /too long or was sent twice/,
          ],
          [
            'oversized name',
            (c, u) => ({ username: u, name: 'n'.repeat(600), password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /too long or was sent twice/,
          ],
          [
            'name too long for the rules',
            (c, u) => ({ username: u, name: 'n'.repeat(200), password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /at most 128 characters/,
          ],
          [
            'duplicated field',
            (c, u) => ({ username: [u, `${u}x`], password: PASSWORD, confirm: PASSWORD, csrf: c }),
            400,
            /too long or was sent twice/,
          ],
        ];
        for (const [name, body, status, message] of cases) {
          it(name, async () => {
            const { ia, jar, csrf } = await signupPage();
            const username = uniqueName('bad');
            const before = await userCount();
            const res = await signup(ia, jar, body(csrf, username));
            assert.equal(res.statusCode, status, res.body);
            assert.match(res.headers['content-type'] as string, /^text\/html/);
            assert.match(res.body, message);
            assert.doesNotMatch(res.body, new RegExp(PASSWORD), 'passwords are never echoed');
            assert.equal(res.headers['set-cookie'], undefined, 'no session');
            assert.equal(await userCount(), before);
            assert.equal(await app.stores.users.findByUsername(username), undefined);
            // The interaction is still usable: the same form, fixed, goes through.
            const ok = await signup(ia, jar, { username, password: PASSWORD, confirm: PASSWORD, csrf });
            assert.equal(ok.statusCode, 303, ok.body);
          });
        }

        it('a refused form is shown again with the fields kept (never the passwords) and the errors marked', async () => {
          const { ia, jar, csrf } = await signupPage();
          const res = await signup(ia, jar, {
            username: 'alice',
            email: 'x@example.com',
            name: 'A <b>name</b>',
            password: PASSWORD,
            confirm: PASSWORD,
            csrf,
          });
          assert.equal(res.statusCode, 400);
          assert.match(res.body, /id="username" name="username" value="alice"/);
          assert.match(res.body, /value="x@example.com"/);
          assert.match(res.body, /value="A &lt;b&gt;name&lt;\/b&gt;"/);
          assert.match(res.body, /aria-invalid="true" aria-describedby="username-error username-hint"/);
          assert.doesNotMatch(res.body, /name="password" value=/);
        });

        it('wrong content type (JSON) and another browser (no interaction cookie)', async () => {
          const { ia, jar, csrf } = await signupPage();
          const before = await userCount();
          const username = uniqueName('json');
          const json = await app.server.inject({
            method: 'POST',
            url: `${ia}/signup`,
            headers: { cookie: jar.header(), 'content-type': 'application/json' },
            payload: JSON.stringify({ username, password: PASSWORD, confirm: PASSWORD, csrf }),
          } as InjectOptions);
          assert.equal(json.statusCode, 400);
          assert.match(json.headers['content-type'] as string, /^text\/html/);
          const other = await form(app, `${ia}/signup`, { username, password: PASSWORD, confirm: PASSWORD, csrf });
          assert.equal(other.statusCode, 403);
          const unknown = await form(
            app,
            '/interaction/unknown-interaction/signup',
            { username, password: PASSWORD, confirm: PASSWORD, csrf },
            { cookie: jar.header() },
          );
          assert.equal(unknown.statusCode, 400);
          assert.match(unknown.body, /expired/);
          assert.equal(await userCount(), before);
        });

        it('refusals are audited (reason only) and counted', async () => {
          await app.audit.flush();
          const refused = await app.stores.audit.query({ type: 'signup_refused' });
          assert.ok(refused.some((r) => r.details.reason === 'username_taken' && r.outcome === 'failure'));
          assert.ok(refused.some((r) => r.details.reason === 'invalid'));
          assert.doesNotMatch(JSON.stringify(refused), new RegExp(PASSWORD));
          const metric = await app.metrics.registry.getSingleMetricAsString('tessera_signups_total');
          assert.match(metric, /outcome="username_taken"\} [1-9]/);
          assert.match(metric, /outcome="invalid"\} [1-9]/);
        });
      });

      it('10 parallel sign-ups of one username in one interaction: exactly one account, one success', async () => {
        const { ia, jar, csrf } = await signupPage();
        const username = uniqueName('race');
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            signup(ia, jar, { username, password: `${PASSWORD} ${i}`, confirm: `${PASSWORD} ${i}`, csrf }),
          ),
        );
        const created = results.filter((r) => r.statusCode === 303 && r.headers['set-cookie']);
        assert.equal(created.length, 1, results.map((r) => r.statusCode).join(','));
        const user = await app.stores.users.findByUsername(username);
        assert.ok(user);
        for (const r of results) assert.ok([303, 400].includes(r.statusCode), String(r.statusCode));
        assert.equal((await app.stores.users.list()).filter((u) => u.username === username).length, 1);
      });
    });
  });
}

describe('self-registration settings', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_SELF_REGISTRATION: 'true',
      TESSERA_SELF_REGISTRATION_EMAIL: 'required',
      TESSERA_RATE_LIMITS: 'login.ip=4/60s',
    });
  });
  after(async () => {
    await app?.close();
  });

  async function signupPage(jar: Jar): Promise<{ ia: string; csrf: string; res: LightMyRequestResponse }> {
    const res = await app.server.inject({ method: 'GET', url: authorizeUrl(params({ prompt: 'create' }).params) });
    jar.take(res);
    const ia = new URL(res.headers.location as string).pathname;
    const page = await app.server.inject({ method: 'GET', url: ia, headers: { cookie: jar.header() } });
    return { ia, csrf: csrfOf(page.body), res: page };
  }

  it('TESSERA_SELF_REGISTRATION_EMAIL=required: the email field is required', async () => {
    const jar = new Jar();
    const { ia, csrf, res } = await signupPage(jar);
    assert.match(res.body, /type="email" id="email" name="email" value="" autocomplete="email" required/);
    const before = (await app.stores.users.list()).length;
    const r = await form(
      app,
      `${ia}/signup`,
      { username: 'needsmail', password: PASSWORD, confirm: PASSWORD, csrf },
      { cookie: jar.header() },
    );
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /Enter your email address/);
    assert.equal((await app.stores.users.list()).length, before);
  });

  it('sign-up requests are counted by the login rate-limit policy (429 past the limit, nothing created)', async () => {
    const jar = new Jar();
    const { ia, csrf } = await signupPage(jar);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await form(
        app,
        `${ia}/signup`,
        { username: 'a', password: 'x', confirm: 'x', csrf },
        { cookie: jar.header() },
      );
      statuses.push(r.statusCode);
      if (r.statusCode === 429) assert.ok(Number(r.headers['retry-after']) > 0);
    }
    assert.ok(statuses.includes(429), statuses.join(','));
    const before = (await app.stores.users.list()).length;
    const limited = await form(
      app,
      `${ia}/signup`,
      { username: 'limited', email: 'l@example.com', password: PASSWORD, confirm: PASSWORD, csrf },
      { cookie: jar.header() },
    );
    assert.equal(limited.statusCode, 429);
    assert.equal((await app.stores.users.list()).length, before);
  });
});
