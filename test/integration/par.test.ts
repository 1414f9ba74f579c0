import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import {
  authorizeUrl,
  authorizeWithLogin,
  backends,
  basic,
  form,
  ISSUER,
  Jar,
  pkce,
  testApp,
} from '../fixtures/app.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };
const URN = 'urn:ietf:params:oauth:request_uri:';

for (const backend of await backends()) {
  describe(`pushed authorization requests (${backend.name})`, {
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

    const authParams = (extra: Record<string, string> = {}) => {
      const { verifier, challenge } = pkce();
      return {
        verifier,
        params: {
          ...WEB,
          scope: 'openid profile email',
          state: 'pushed-state',
          nonce: 'pushed-nonce',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...extra,
        },
      };
    };
    const push = (params: Record<string, string>, headers: Record<string, string> = { authorization: basic('web') }) =>
      form(app, '/par', params, headers);
    const authorizeGet = (params: Record<string, string>) =>
      app.server.inject({ method: 'GET', url: authorizeUrl(params) });

    it('answers 201 with a single-use request_uri; /authorize uses only the pushed parameters', async () => {
      const { verifier, params } = authParams();
      const res = await push(params);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const { request_uri: requestUri, expires_in: expiresIn } = res.json();
      assert.match(requestUri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
      assert.equal(expiresIn, 60);
      // Parameters sent beside request_uri are ignored: the pushed state, scope and nonce win.
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'web',
        request_uri: requestUri,
        state: 'front-channel',
        scope: 'openid',
      });
      assert.equal(redirect.origin + redirect.pathname, WEB.redirect_uri);
      assert.equal(redirect.searchParams.get('state'), 'pushed-state');
      assert.equal(redirect.searchParams.get('iss'), ISSUER);
      const tokens = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: WEB.redirect_uri,
        },
        { authorization: basic('web') },
      );
      assert.equal(tokens.statusCode, 200, tokens.body);
      assert.equal(tokens.json().scope, 'openid profile email');
      assert.equal(decodeJwt(tokens.json().id_token).nonce, 'pushed-nonce');
      // A second use fails with a page, never a redirect.
      const again = await authorizeGet({ client_id: 'web', request_uri: requestUri });
      assert.equal(again.statusCode, 400);
      assert.match(again.headers['content-type'] as string, /text\/html/);
      assert.match(again.body, /expired, was already used/);
    });

    it('50 parallel uses of one request_uri: exactly one starts the sign-in', async () => {
      const { params } = authParams();
      const { request_uri: requestUri } = (await push(params)).json();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => authorizeGet({ client_id: 'web', request_uri: requestUri })),
      );
      assert.equal(results.filter((r) => r.statusCode === 303).length, 1);
      assert.equal(results.filter((r) => r.statusCode === 400).length, 49);
    });

    it('public clients may push with their client_id', async () => {
      const { params } = authParams({ client_id: 'spa', redirect_uri: 'https://spa.example/cb', scope: 'openid' });
      const res = await push(params, {});
      assert.equal(res.statusCode, 201, res.body);
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'spa',
        request_uri: res.json().request_uri,
      });
      assert.ok(redirect.searchParams.get('code'));
    });

    it('refuses requests without (or with wrong) client authentication', async () => {
      const { params } = authParams();
      const none = await push(params, {});
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'invalid_client');
      assert.match(none.headers['www-authenticate'] as string, /^Basic/);
      const wrong = await push(params, { authorization: basic('web', 'not-the-secret-0123456789') });
      assert.equal(wrong.statusCode, 401);
      const missingId = await form(app, '/par', { response_type: 'code', scope: 'openid' });
      assert.equal(missingId.statusCode, 401);
    });

    it('refuses a request_uri inside the pushed request, and invalid authorization parameters, as JSON', async () => {
      const { params } = authParams();
      const cases: [Record<string, string>, string, RegExp?][] = [
        [{ ...params, request_uri: `${URN}abc` }, 'invalid_request', /request_uri/],
        [{ ...params, redirect_uri: 'https://evil.example/cb' }, 'invalid_request', /not registered/],
        [{ ...params, code_challenge: '' }, 'invalid_request', /code_challenge/],
        [{ ...params, code_challenge_method: 'plain' }, 'invalid_request'],
        [{ ...params, response_type: 'token' }, 'unsupported_response_type'],
        [{ ...params, scope: 'openid admin' }, 'invalid_scope'],
        [{ ...params, response_mode: 'fragment' }, 'invalid_request'],
        [{ ...params, dpop_jkt: 'short' }, 'invalid_request'],
        [{ ...params, request: 'eyJhbGciOiJub25lIn0.e30.' }, 'invalid_request_object'],
        [{ ...params, state: 'x'.repeat(5000) }, 'invalid_request', /too long/],
      ];
      for (const [body, error, description] of cases) {
        const res = await push(body);
        assert.equal(res.statusCode, 400, `${error}: ${res.body}`);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.json().error, error, res.body);
        if (description) assert.match(res.json().error_description, description);
      }
      const twice = await form(
        app,
        '/par',
        { ...params, scope: ['openid', 'profile'] },
        { authorization: basic('web') },
      );
      assert.equal(twice.json().error, 'invalid_request');
    });

    it('refuses oversized bodies, other content types and other methods', async () => {
      const huge = await push({ ...authParams().params, nonce: 'n'.repeat(70_000) });
      assert.equal(huge.statusCode, 413);
      assert.equal(huge.json().error, 'invalid_request');
      const json = await app.server.inject({
        method: 'POST',
        url: '/par',
        payload: JSON.stringify(authParams().params),
        headers: { 'content-type': 'application/json', authorization: basic('web') },
      });
      assert.equal(json.statusCode, 400);
      assert.equal(json.json().error, 'invalid_request');
      const get = await app.server.inject({ method: 'GET', url: '/par' });
      assert.equal(get.statusCode, 405);
      // No CORS at /par: a preflight from a registered client origin gets no allow-origin.
      const preflight = await app.server.inject({
        method: 'OPTIONS',
        url: '/par',
        headers: { origin: 'https://spa.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    });

    it('a request_uri works only for the client that pushed it, and a wrong client does not burn it', async () => {
      const { params } = authParams();
      const { request_uri: requestUri } = (await push(params)).json();
      const other = await authorizeGet({ client_id: 'spa', request_uri: requestUri });
      assert.equal(other.statusCode, 400);
      assert.equal(other.headers.location, undefined);
      const missingClient = await authorizeGet({ request_uri: requestUri });
      assert.equal(missingClient.statusCode, 400);
      const forged = await authorizeGet({ client_id: 'web', request_uri: `${URN}${'A'.repeat(43)}` });
      assert.equal(forged.statusCode, 400);
      const notUrn = await authorizeGet({ client_id: 'web', request_uri: 'https://client.example/request.jwt' });
      assert.equal(notUrn.statusCode, 400);
      const mine = await authorizeGet({ client_id: 'web', request_uri: requestUri });
      assert.equal(mine.statusCode, 303);
    });

    it('an expired request_uri is refused', async () => {
      const { request_uri: requestUri } = (await push(authParams().params)).json();
      const provider = app.provider as { now: () => number };
      const realNow = provider.now;
      provider.now = () => realNow() + 61;
      try {
        const res = await authorizeGet({ client_id: 'web', request_uri: requestUri });
        assert.equal(res.statusCode, 400);
        assert.match(res.body, /expired/);
      } finally {
        provider.now = realNow;
      }
      // It was not consumed by the refusal, but it stays expired for good once cleaned up.
      await app.stores.cleanup(realNow() + 61);
      assert.equal((await authorizeGet({ client_id: 'web', request_uri: requestUri })).statusCode, 400);
    });

    it('a client registered with require_pushed_authorization_requests gets an RFC-shaped error for plain requests', async () => {
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'par-only',
          client_secret: 'par-only-secret-0123456789-abcdefgh',
          redirect_uris: ['https://par.example/cb'],
          grant_types: ['authorization_code'],
          scope: 'openid',
          require_pushed_authorization_requests: true,
        },
        app.provider.now(),
      );
      const { params } = authParams({ client_id: 'par-only', redirect_uri: 'https://par.example/cb', scope: 'openid' });
      const plain = await authorizeGet(params);
      assert.equal(plain.statusCode, 303);
      const location = new URL(plain.headers.location as string);
      assert.equal(location.origin, 'https://par.example');
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.match(location.searchParams.get('error_description')!, /pushed/);
      assert.equal(location.searchParams.get('iss'), ISSUER);
      const pushed = await push(params, { authorization: basic('par-only', 'par-only-secret-0123456789-abcdefgh') });
      assert.equal(pushed.statusCode, 201, pushed.body);
      const ok = await authorizeGet({ client_id: 'par-only', request_uri: pushed.json().request_uri });
      assert.equal(ok.statusCode, 303);
      assert.match(ok.headers.location as string, /\/interaction\//);
      // Other clients still may send plain requests.
      assert.match((await authorizeGet(authParams().params)).headers.location as string, /\/interaction\//);
    });

    it('discovery advertises the endpoint and whether PAR is required', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.equal(doc.pushed_authorization_request_endpoint, `${ISSUER}/par`);
      assert.equal(doc.require_pushed_authorization_requests, false);
    });
  });
}

describe('TESSERA_REQUIRE_PAR', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_REQUIRE_PAR: 'true' });
  });
  after(async () => {
    await app?.close();
  });

  it('refuses every plain authorization request and says so in discovery', async () => {
    const { challenge } = pkce();
    const params = { ...WEB, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' };
    const plain = await app.server.inject({ method: 'GET', url: authorizeUrl(params) });
    const location = new URL(plain.headers.location as string);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('state'), 's');
    const pushed = await form(app, '/par', params, { authorization: basic('web') });
    assert.equal(pushed.statusCode, 201);
    const ok = await app.server.inject({
      method: 'GET',
      url: authorizeUrl({ client_id: 'web', request_uri: pushed.json().request_uri }),
    });
    assert.match(ok.headers.location as string, /\/interaction\//);
    assert.equal(
      (await app.server.inject('/.well-known/openid-configuration')).json().require_pushed_authorization_requests,
      true,
    );
  });
});
