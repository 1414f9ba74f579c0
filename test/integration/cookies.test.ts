// Cookie tossing (issue 13, point 14) and the session cookie's SameSite (point 24), through the
// HTTP layer of an app in production mode: every cookie is __Host- (Secure, Path=/, no Domain),
// and a cookie a sibling subdomain can set (unprefixed, or __Secure- with Domain=) never feeds a
// CSRF or interaction check.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { authorizeUrl, backends, csrfOf, form, Jar, pkce, testApp } from '../fixtures/app.ts';
import { PRODUCTION_ENV } from '../fixtures/config.ts';

const ISSUER = PRODUCTION_ENV.TESSERA_ISSUER;
const ALICE = { username: 'alice', password: 'correct horse battery' };

/** name=value of each Set-Cookie, with its attributes. */
const setCookies = (res: LightMyRequestResponse): string[] => {
  const set = res.headers['set-cookie'];
  return Array.isArray(set) ? set : set ? [set] : [];
};
const cookieValue = (res: LightMyRequestResponse, wire: string): string => {
  const c = setCookies(res).find((x) => x.startsWith(`${wire}=`));
  assert.ok(c, `no ${wire} cookie in ${setCookies(res).join(' | ')}`);
  return c.slice(wire.length + 1, c.indexOf(';'));
};
const start = (app: App, cookie = '') =>
  app.server.inject({
    url: authorizeUrl({
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }),
    headers: cookie ? { cookie } : {},
  });
const interactionPath = (res: LightMyRequestResponse): string => {
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(res.headers.location as string);
  assert.ok(location.href.startsWith(`${ISSUER}/interaction/`), location.href);
  return location.pathname;
};

for (const backend of await backends()) {
  describe(`cookies in production: __Host- only, no cookie tossing (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        ...PRODUCTION_ENV,
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_FEATURES_DISABLED: '',
      });
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    it('sets every interaction and CSRF cookie as __Host- with Path=/, Secure, HttpOnly, SameSite=Lax', async () => {
      const res = await start(app);
      interactionPath(res);
      const device = await app.server.inject({ url: '/device' });
      const account = await app.server.inject({ url: '/account' });
      const cookies = [...setCookies(res), ...setCookies(device), ...setCookies(account)];
      assert.deepEqual(cookies.map((c) => c.slice(0, c.indexOf('='))).sort(), [
        '__Host-tessera_account_login',
        '__Host-tessera_device',
        '__Host-tessera_interaction',
      ]);
      for (const c of cookies)
        assert.match(c, /^__Host-[a-z_]+=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/, c);
    });

    it('a device-form secret planted for the parent domain (unprefixed or __Secure-) does not satisfy the CSRF check', async () => {
      // The attacker loads the form in their own browser: a secret and its CSRF token.
      const theirs = await app.server.inject({ url: '/device' });
      const secret = cookieValue(theirs, '__Host-tessera_device');
      const csrf = csrfOf(theirs.body);
      for (const planted of [`tessera_device=${secret}`, `__Secure-tessera_device=${secret}`]) {
        const res = await form(app, '/device', { user_code: 'BCDF-GHJK', csrf }, { cookie: planted });
        assert.equal(res.statusCode, 403, `${planted}: ${res.body.slice(0, 200)}`);
        assert.match(res.body, /could not be verified/);
      }
      // The same secret as the server set it (__Host-) passes the check: the code is merely wrong.
      const own = await form(
        app,
        '/device',
        { user_code: 'BCDF-GHJK', csrf },
        { cookie: `__Host-tessera_device=${secret}` },
      );
      assert.equal(own.statusCode, 400, own.body.slice(0, 200));
      assert.match(own.body, /not valid or has expired/);
    });

    it("an account-login secret planted for the parent domain cannot log the victim into the attacker's account", async () => {
      const theirs = await app.server.inject({ url: '/account' });
      const secret = cookieValue(theirs, '__Host-tessera_account_login');
      const csrf = csrfOf(theirs.body);
      for (const planted of [`tessera_account_login=${secret}`, `__Secure-tessera_account_login=${secret}`]) {
        const res = await form(app, '/account/login', { ...ALICE, csrf }, { cookie: planted });
        assert.equal(res.statusCode, 403, planted);
        assert.equal(
          setCookies(res).some((c) => c.startsWith('__Host-tessera_session=')),
          false,
          'no session set',
        );
      }
      const own = await form(
        app,
        '/account/login',
        { ...ALICE, csrf },
        { cookie: `__Host-tessera_account_login=${secret}` },
      );
      assert.equal(own.statusCode, 303);
    });

    it("an interaction secret planted for the parent domain does not bind the victim's browser to the attacker's sign-in", async () => {
      const theirs = await start(app);
      const path = interactionPath(theirs);
      const secret = cookieValue(theirs, '__Host-tessera_interaction');
      for (const planted of [`tessera_interaction=${secret}`, `__Secure-tessera_interaction=${secret}`]) {
        const page = await app.server.inject({ url: path, headers: { cookie: planted } });
        assert.equal(page.statusCode, 403, planted);
        assert.match(page.body, /started in another browser/);
      }
      assert.equal(
        (await app.server.inject({ url: path, headers: { cookie: `__Host-tessera_interaction=${secret}` } }))
          .statusCode,
        200,
      );
    });

    it('an interaction secret planted under a look-alike name (U+00A0 before __Host-) or as a second __Host- cookie is never used', async () => {
      const theirs = await start(app);
      const path = interactionPath(theirs);
      const secret = cookieValue(theirs, '__Host-tessera_interaction');
      const own = await start(app, '');
      const mine = cookieValue(own, '__Host-tessera_interaction');
      assert.notEqual(mine, secret);
      // Sent first, the planted cookie used to win (JS trim() strips U+00A0, a raw 0xA0 byte read as latin1).
      const lookalike = await app.server.inject({
        url: path,
        headers: { cookie: `\xa0__Host-tessera_interaction=${secret}; __Host-tessera_interaction=${mine}` },
      });
      assert.equal(lookalike.statusCode, 403);
      assert.match(lookalike.body, /started in another browser/);
      // The look-alike is ignored and the browser's own cookie still works on its own sign-in.
      assert.equal(
        (
          await app.server.inject({
            url: interactionPath(own),
            headers: { cookie: `\xa0__Host-tessera_interaction=${secret}; __Host-tessera_interaction=${mine}` },
          })
        ).statusCode,
        200,
      );
      // Two __Host- cookies of one name: neither is believed, in either order.
      for (const cookie of [
        `__Host-tessera_interaction=${secret}; __Host-tessera_interaction=${mine}`,
        `__Host-tessera_interaction=${mine}; __Host-tessera_interaction=${secret}`,
      ]) {
        const page = await app.server.inject({ url: path, headers: { cookie } });
        assert.equal(page.statusCode, 403, cookie);
      }
    });

    it("sign-ins started in two tabs share the browser's one interaction cookie: finishing one leaves the other working", async () => {
      const jar = new Jar();
      const first = await start(app);
      jar.take(first);
      const second = await start(app, jar.header());
      jar.take(second);
      assert.equal(
        cookieValue(second, '__Host-tessera_interaction'),
        cookieValue(first, '__Host-tessera_interaction'),
        'the browser keeps its secret',
      );
      const [a, b] = [interactionPath(first), interactionPath(second)];
      assert.notEqual(a, b);
      for (const path of [a, b]) {
        const page = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
        assert.equal(page.statusCode, 200);
        const res = await form(app, `${path}/login`, { ...ALICE, csrf: csrfOf(page.body) }, { cookie: jar.header() });
        jar.take(res);
        let location = new URL(res.headers.location as string);
        if (location.pathname === path) {
          const consent = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
          const allowed = await form(
            app,
            `${path}/consent`,
            { decision: 'allow', csrf: csrfOf(consent.body) },
            { cookie: jar.header() },
          );
          jar.take(allowed);
          location = new URL(allowed.headers.location as string);
        }
        assert.equal(location.origin + location.pathname, 'https://app.example/cb', location.href);
        assert.ok(location.searchParams.get('code'), location.href);
      }
    });
  });
}

describe('session cookie SameSite (TESSERA_COOKIE_SAMESITE)', () => {
  const signIn = async (app: App): Promise<string[]> => {
    const jar = new Jar();
    const res = await start(app);
    jar.take(res);
    const path = interactionPath(res);
    const page = await app.server.inject({ url: path, headers: { cookie: jar.header() } });
    return setCookies(
      await form(app, `${path}/login`, { ...ALICE, csrf: csrfOf(page.body) }, { cookie: jar.header() }),
    );
  };

  it('none: SameSite=None; Secure on the session cookie only, Lax on the interaction cookie', async () => {
    const app = await testApp('sqlite::memory:', { ...PRODUCTION_ENV, TESSERA_COOKIE_SAMESITE: 'none' });
    try {
      const cookies = await signIn(app);
      const session = cookies.find((c) => c.startsWith('__Host-tessera_session='));
      assert.ok(session, cookies.join(' | '));
      assert.match(session, /; SameSite=None; Secure$/);
      const interaction = setCookies(await start(app)).find((c) => c.startsWith('__Host-tessera_interaction='));
      assert.match(interaction!, /; SameSite=Lax; Secure$/);
    } finally {
      await app.close();
    }
  });

  it('lax by default', async () => {
    const app = await testApp('sqlite::memory:', { ...PRODUCTION_ENV });
    try {
      assert.match(
        (await signIn(app)).find((c) => c.startsWith('__Host-tessera_session='))!,
        /; SameSite=Lax; Secure$/,
      );
    } finally {
      await app.close();
    }
  });
});
