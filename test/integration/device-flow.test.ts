import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { backends, basic, csrfOf, form, ISSUER, Jar, testApp } from '../fixtures/app.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TV_SECRET = 'tv-conf-secret-0123456789-abcdefghijklmn';
const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';
const ALICE = { username: 'alice', password: 'correct horse battery' };

function assertOAuthError(res: LightMyRequestResponse, status: number, error: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error, error);
  assert.equal(typeof res.json().error_description, 'string');
  assert.equal(res.headers['cache-control'], 'no-store');
}

for (const backend of await backends()) {
  describe(`device authorization grant (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let ip = 0;
    /** A fresh source address per test, so the per-address failure counter of one test does not reach another. */
    const nextIp = () => `198.51.100.${++ip}`;

    before(async () => {
      app = await testApp(backend.url!, { TESSERA_DEVICE_MAX_FAILURES: '3', TESSERA_METRICS_TOKEN: METRICS_TOKEN });
      const now = app.provider.now();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'tv',
          client_name: 'Living Room TV',
          token_endpoint_auth_method: 'none',
          grant_types: [GRANT, 'refresh_token'],
          scope: 'openid profile offline_access',
          redirect_uris: [],
        },
        now,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'tv-conf',
          client_name: 'Console',
          client_secret: TV_SECRET,
          grant_types: [GRANT],
          scope: 'openid api:read',
          redirect_uris: [],
        },
        now,
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const start = (
      body: Record<string, string> = { client_id: 'tv', scope: 'openid profile offline_access' },
      headers: Record<string, string> = {},
    ) => form(app, '/device_authorization', body, headers);
    const poll = (
      deviceCode: string,
      client: Record<string, string> = { client_id: 'tv' },
      headers: Record<string, string> = {},
    ) => form(app, '/token', { grant_type: GRANT, device_code: deviceCode, ...client }, headers);
    const get = (url: string, jar: Jar, remoteAddress: string) =>
      app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() }, remoteAddress } as InjectOptions);
    const post = (url: string, body: Record<string, string>, jar: Jar, remoteAddress: string) =>
      app.server.inject({
        method: 'POST',
        url,
        payload: new URLSearchParams(body).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
        remoteAddress,
      } as InjectOptions);

    /** Enters a user code at /device as a browser would; returns the answer to the POST. */
    async function enter(userCode: string, jar = new Jar(), remoteAddress = nextIp()) {
      const page = await get('/device', jar, remoteAddress);
      assert.equal(page.statusCode, 200);
      jar.take(page);
      const res = await post('/device', { user_code: userCode, csrf: csrfOf(page.body) }, jar, remoteAddress);
      jar.take(res);
      return res;
    }

    /**
     * Enters the code, signs in if asked, and answers the consent page; returns the consent page and the final page.
     */
    async function approve(userCode: string, decision: 'allow' | 'deny' = 'allow', jar = new Jar()) {
      const remoteAddress = nextIp();
      const entered = await enter(userCode, jar, remoteAddress);
      assert.equal(entered.statusCode, 303, entered.body);
      const location = new URL(entered.headers.location as string);
      assert.ok(location.href.startsWith(`${ISSUER}/interaction/`));
      let page = await get(location.pathname, jar, remoteAddress);
      if (page.body.includes('name="password"')) {
        const login = await post(
          `${location.pathname}/login`,
          { ...ALICE, csrf: csrfOf(page.body) },
          jar,
          remoteAddress,
        );
        jar.take(login);
        assert.equal(login.statusCode, 303, login.body);
        page = await get(location.pathname, jar, remoteAddress);
      }
      assert.equal(page.statusCode, 200, page.body);
      const done = await post(
        `${location.pathname}/consent`,
        { decision, csrf: csrfOf(page.body) },
        jar,
        remoteAddress,
      );
      jar.take(done);
      return { consent: page, done };
    }

    it('answers a device authorization request as RFC 8628 section 3.2 describes', async () => {
      const res = await start();
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), [
        'device_code',
        'expires_in',
        'interval',
        'user_code',
        'verification_uri',
        'verification_uri_complete',
      ]);
      assert.match(body.device_code, /^[A-Za-z0-9_-]{43}$/); // 256 bits
      assert.match(body.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      assert.equal(body.verification_uri, `${ISSUER}/device`);
      assert.equal(body.verification_uri_complete, `${ISSUER}/device?user_code=${body.user_code}`);
      assert.equal(body.expires_in, 600);
      assert.equal(body.interval, 5);
      // Stored by hash only.
      const stored = await app.stores.deviceCodes.get(tokenHash(body.device_code));
      assert.ok(stored);
      assert.equal(stored.status, 'pending');
      assert.ok(!JSON.stringify(stored).includes(body.device_code));
      assert.ok(!JSON.stringify(stored).includes(body.user_code.replace('-', '')));
    });

    it('pending, then slow_down (raising the interval by 5 s), then tokens once after approval; refresh works', async () => {
      const { device_code: dc, user_code: uc } = (await start()).json();
      assertOAuthError(await poll(dc), 400, 'authorization_pending');
      assertOAuthError(await poll(dc), 400, 'slow_down');
      assert.equal((await app.stores.deviceCodes.get(tokenHash(dc)))!.interval, 10);

      // verification_uri_complete fills the code in.
      const prefilled = await app.server.inject({ url: `/device?user_code=${uc}` });
      assert.equal(prefilled.statusCode, 200);
      assert.match(prefilled.body, new RegExp(`name="user_code" value="${uc}"`));
      assert.match(prefilled.headers['content-security-policy'] as string, /style-src 'nonce-[^']+'/);

      // Typed in lower case without the dash.
      const { consent, done } = await approve(uc.replace('-', '').toLowerCase());
      assert.match(consent.body, /Living Room TV/);
      assert.match(consent.body, new RegExp(uc));
      assert.match(consent.body, /offline_access/);
      assert.match(consent.headers['content-security-policy'] as string, /form-action 'self';/);
      assert.equal(done.statusCode, 200, done.body);
      assert.match(done.body, /You may return to your device/);

      const res = await poll(dc);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const tokens = res.json();
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.scope, 'openid profile offline_access');
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const at = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt' });
      assert.equal(at.payload.client_id, 'tv');
      const id = await jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: 'tv' });
      assert.equal(id.payload.sub, at.payload.sub);
      assert.ok(id.payload.auth_time && id.payload.sid);
      assert.ok(tokens.refresh_token);

      // Once only.
      assertOAuthError(await poll(dc), 400, 'invalid_grant');
      const refreshed = await form(app, '/token', {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: 'tv',
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.ok(refreshed.json().refresh_token && refreshed.json().refresh_token !== tokens.refresh_token);
      // The consent is remembered, and shows on the account page.
      const consentRecord = await app.stores.consents.get(String(at.payload.sub), 'tv');
      assert.deepEqual(consentRecord?.scopes, ['openid', 'profile', 'offline_access']);
    });

    it('50 parallel polls of an approved code give tokens exactly once', async () => {
      const { device_code: dc, user_code: uc } = (
        await start({ scope: 'api:read' }, { authorization: basic('tv-conf', TV_SECRET) })
      ).json();
      assert.equal((await approve(uc)).done.statusCode, 200);
      const results = await Promise.all(
        Array.from({ length: 50 }, () => poll(dc, {}, { authorization: basic('tv-conf', TV_SECRET) })),
      );
      const ok = results.filter((r) => r.statusCode === 200);
      assert.equal(ok.length, 1);
      for (const r of results.filter((x) => x.statusCode !== 200)) assertOAuthError(r, 400, 'invalid_grant');
      const tokens = ok[0]!.json();
      assert.equal(tokens.scope, 'api:read');
      assert.equal(tokens.refresh_token, undefined); // tv-conf is not registered for refresh_token
      assert.equal(tokens.id_token, undefined); // no openid
    });

    it('a signed-in user skips the login but still confirms the code on the consent page', async () => {
      const jar = new Jar();
      const first = (await start()).json();
      assert.equal((await approve(first.user_code, 'allow', jar)).done.statusCode, 200);
      const second = (await start()).json();
      const { consent, done } = await approve(second.user_code, 'allow', jar);
      assert.doesNotMatch(consent.body, /name="password"/);
      assert.match(consent.body, new RegExp(second.user_code));
      assert.equal(done.statusCode, 200);
      assert.equal((await poll(second.device_code)).statusCode, 200);
    });

    it('deny: the device gets access_denied, and the code cannot be approved afterwards', async () => {
      const { device_code: dc, user_code: uc } = (await start()).json();
      const { done } = await approve(uc, 'deny');
      assert.equal(done.statusCode, 200);
      assert.match(done.body, /Access denied/);
      assertOAuthError(await poll(dc), 400, 'access_denied');
      const again = await enter(uc);
      assert.equal(again.statusCode, 400);
      assert.match(again.body, /not valid or has expired/);
    });

    it('expired_token for an expired code; a live code again after the interval has passed', async () => {
      const now = app.provider.now();
      const expired = 'expired-device-code-0123456789-abcdefghijklmno';
      const base = {
        userCodeHash: `x-${Math.random()}`,
        clientId: 'tv',
        scope: 'openid',
        resource: null,
        status: 'pending' as const,
        interval: 5,
        approval: null,
      };
      await app.stores.deviceCodes.create(
        { ...base, deviceCodeHash: tokenHash(expired), lastPolledAt: null, createdAt: now - 700, expiresAt: now - 100 },
        now,
      );
      assertOAuthError(await poll(expired), 400, 'expired_token');
      const rested = 'rested-device-code-0123456789-abcdefghijklmnopq';
      await app.stores.deviceCodes.create(
        {
          ...base,
          userCodeHash: `y-${Math.random()}`,
          deviceCodeHash: tokenHash(rested),
          interval: 10,
          lastPolledAt: now - 10,
          createdAt: now - 20,
          expiresAt: now + 600,
        },
        now,
      );
      assertOAuthError(await poll(rested), 400, 'authorization_pending');
      assert.equal((await app.stores.deviceCodes.get(tokenHash(rested)))!.interval, 10);
    });

    it("refuses unknown, malformed, oversized and other clients' device codes without changing them", async () => {
      const { device_code: dc } = (await start()).json();
      const before = await app.stores.deviceCodes.get(tokenHash(dc));
      assertOAuthError(await poll('no-such-device-code'), 400, 'invalid_grant');
      assertOAuthError(await poll(dc, {}, { authorization: basic('tv-conf', TV_SECRET) }), 400, 'invalid_grant');
      assertOAuthError(await poll('x'.repeat(257)), 400, 'invalid_request');
      assertOAuthError(await form(app, '/token', { grant_type: GRANT, client_id: 'tv' }), 400, 'invalid_request');
      assertOAuthError(
        await form(app, '/token', { grant_type: GRANT, client_id: 'tv', device_code: [dc, dc] }),
        400,
        'invalid_request',
      );
      assertOAuthError(await poll(dc, { client_id: 'tv-conf', client_secret: 'wrong-secret' }), 401, 'invalid_client');
      // A client not registered for the grant.
      assertOAuthError(await poll(dc, { client_id: 'spa' }), 400, 'unauthorized_client');
      const json = await app.server.inject({
        method: 'POST',
        url: '/token',
        payload: JSON.stringify({ grant_type: GRANT, device_code: dc, client_id: 'tv' }),
        headers: { 'content-type': 'application/json' },
      });
      assertOAuthError(json, 400, 'invalid_request');
      assert.deepEqual(await app.stores.deviceCodes.get(tokenHash(dc)), before);
    });

    it('refuses bad device authorization requests with RFC-shaped errors', async () => {
      assertOAuthError(await start({ client_id: 'spa', scope: 'openid' }), 400, 'unauthorized_client');
      assertOAuthError(await start({ scope: 'openid' }, { authorization: basic('web') }), 400, 'unauthorized_client');
      assertOAuthError(await start({ client_id: 'tv' }), 400, 'invalid_scope');
      assertOAuthError(await start({ client_id: 'tv', scope: 'openid email' }), 400, 'invalid_scope');
      assertOAuthError(await start({ client_id: 'tv', scope: 'openid', resource: 'not a uri' }), 400, 'invalid_target');
      assertOAuthError(await start({ scope: 'openid' }), 401, 'invalid_client');
      assertOAuthError(await start({ client_id: 'nobody', scope: 'openid' }), 401, 'invalid_client');
      assertOAuthError(
        await start({ scope: 'openid' }, { authorization: basic('tv-conf', 'wrong') }),
        401,
        'invalid_client',
      );
      assertOAuthError(await start({ client_id: 'tv', scope: 'x'.repeat(1025) }), 400, 'invalid_request');
      assertOAuthError(
        await form(app, '/device_authorization', { client_id: ['tv', 'tv'], scope: 'openid' }),
        400,
        'invalid_request',
      );
      const json = await app.server.inject({
        method: 'POST',
        url: '/device_authorization',
        payload: '{"client_id":"tv","scope":"openid"}',
        headers: { 'content-type': 'application/json' },
      });
      assertOAuthError(json, 400, 'invalid_request');
      const big = await app.server.inject({
        method: 'POST',
        url: '/device_authorization',
        payload: `client_id=tv&scope=openid&pad=${'x'.repeat(70_000)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(big.statusCode, 413);
      assert.equal(big.json().error, 'invalid_request');
      const getRes = await app.server.inject({ method: 'GET', url: '/device_authorization' });
      assert.equal(getRes.statusCode, 405);
    });

    it('the entry page refuses a missing or wrong CSRF token, and counts wrong codes per address up to a 429', async () => {
      const remoteAddress = nextIp();
      const jar = new Jar();
      const page = await get('/device', jar, remoteAddress);
      jar.take(page);
      const noCsrf = await post('/device', { user_code: 'BCDF-GHJK' }, jar, remoteAddress);
      assert.equal(noCsrf.statusCode, 403);
      const noCookie = await post(
        '/device',
        { user_code: 'BCDF-GHJK', csrf: csrfOf(page.body) },
        new Jar(),
        remoteAddress,
      );
      assert.equal(noCookie.statusCode, 403);

      const { device_code: dc, user_code: uc } = (await start()).json();
      // Three wrong entries (malformed ones count too), then even the right code is refused.
      for (const wrong of ['BCDF-GHJK', 'not a code', 'x'.repeat(64)]) {
        const res = await enter(wrong === 'BCDF-GHJK' && uc === 'BCDF-GHJK' ? 'BCDF-GHJL' : wrong, jar, remoteAddress);
        assert.equal(res.statusCode, 400);
        assert.match(res.body, /not valid or has expired/);
        assert.match(res.body, /aria-invalid="true"/);
      }
      const throttled = await enter(uc, jar, remoteAddress);
      assert.equal(throttled.statusCode, 429);
      assert.ok(Number(throttled.headers['retry-after']) > 0);
      assert.match(throttled.body, /Too many wrong codes/);
      // Another address is not affected, and the device code was left untouched.
      assertOAuthError(await poll(dc), 400, 'authorization_pending');
      assert.equal((await enter(uc)).statusCode, 303);
      // An over-long entry is a form error, not a crash.
      const huge = await post('/device', { user_code: 'B'.repeat(65), csrf: csrfOf(page.body) }, jar, remoteAddress);
      assert.equal(huge.statusCode, 403);
    });

    it('counts wrong user codes from the addresses of one IPv6 /64 together', async () => {
      const { user_code: uc } = (await start()).json();
      const wrong = uc === 'BCDF-GHJK' ? 'BCDF-GHJL' : 'BCDF-GHJK';
      for (let i = 1; i <= 3; i++) assert.equal((await enter(wrong, new Jar(), `2001:db8:5:5::${i}`)).statusCode, 400);
      const throttled = await enter(uc, new Jar(), '2001:db8:5:5:ffff::1');
      assert.equal(throttled.statusCode, 429, 'another address of the same /64');
      assert.equal((await enter(uc, new Jar(), '2001:db8:5:6::1')).statusCode, 303, 'the next /64 is another source');
    });

    it('advertises the endpoint and the grant in discovery', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.equal(doc.device_authorization_endpoint, `${ISSUER}/device_authorization`);
      assert.ok(doc.grant_types_supported.includes(GRANT));
    });

    it('records the device flow in the audit trail, without codes', async () => {
      const started = Date.now();
      const { device_code: dc, user_code: uc } = (await start()).json();
      await enter('BCDF-BCDF');
      await approve(uc);
      assert.equal((await poll(dc)).statusCode, 200);
      await app.audit.flush();
      const records = await app.stores.audit.query({ from: started });
      const types = records.map((r) => r.type);
      for (const t of [
        'device_authorization_started',
        'device_user_code_failed',
        'device_authorization_approved',
        'token_issued',
      ])
        assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
      assert.equal(records.find((r) => r.type === 'device_user_code_failed')!.outcome, 'failure');
      assert.equal(records.find((r) => r.type === 'token_issued')!.details.grant_type, GRANT);
      const text = JSON.stringify(records);
      assert.ok(!text.includes(dc) && !text.includes(uc) && !text.includes(uc.replace('-', '')));
      // Counted over this suite (the tests above deny one code and throttle one address).
      const metrics = (
        await app.server.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      ).body;
      for (const outcome of ['started', 'approved', 'denied', 'user_code_failed', 'user_code_throttled']) {
        assert.match(
          metrics,
          new RegExp(`tessera_device_authorizations_total\\{outcome="${outcome}"\\} [1-9]`),
          outcome,
        );
      }
    });
  });
}
