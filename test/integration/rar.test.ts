/**
 * Rich authorization requests (RFC 9396) over HTTP with inject(), on SQLite and PostgreSQL:
 * authorization_details through /authorize, PAR and request objects, the consent page, codes,
 * grants, tokens, refresh and introspection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import {
  authorizeUrl,
  authorizeWithLogin,
  backends,
  basic,
  csrfOf,
  form,
  Jar,
  pkce,
  testApp,
} from '../fixtures/app.ts';
import { clientAssertion, newKey, requestObject } from '../fixtures/client-keys.ts';

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };
const TYPES = 'payment_initiation=instructedAmount|creditorName account_information';
const PAYMENT = {
  type: 'payment_initiation',
  actions: ['initiate'],
  instructedAmount: { currency: 'EUR', amount: '12.00' },
  creditorName: '<script>alert(1)</script> & Co',
};
const ACCOUNTS = { type: 'account_information', actions: ['list_accounts'], locations: ['https://bank.example/'] };
const key = await newKey('rar-1');

for (const backend of await backends()) {
  describe(`rich authorization requests (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_AUTHORIZATION_DETAILS_TYPES: TYPES });
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'rar-jar',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [key.jwk] },
          redirect_uris: ['https://jar.example/cb'],
          grant_types: ['authorization_code'],
          scope: 'openid',
          authorization_details_types: ['payment_initiation'],
        },
        app.provider.now(),
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const params = (details: string, extra: Record<string, string> = {}) => {
      const { verifier, challenge } = pkce();
      return {
        verifier,
        params: {
          ...WEB,
          scope: 'openid offline_access',
          state: 'st',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          authorization_details: details,
          ...extra,
        },
      };
    };
    const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
      form(
        app,
        '/token',
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: WEB.redirect_uri, ...extra },
        { authorization: basic('web') },
      );

    it('discovery lists the configured types', async () => {
      const d = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.deepEqual(d.authorization_details_types_supported, ['payment_initiation', 'account_information']);
    });

    it('refuses bad authorization_details with invalid_authorization_details, at /authorize and at /par', async () => {
      const bad: [string, RegExp][] = [
        ['[{"type":"payment_initiation"', /not valid JSON/],
        [JSON.stringify(PAYMENT), /JSON array/],
        ['[{"type":"wire_transfer"}]', /does not support/],
        [JSON.stringify([{ ...ACCOUNTS, identifier: 'x'.repeat(5000) }]), /longer than/],
        [JSON.stringify([{ ...PAYMENT, debtorAccount: 'DE00' }]), /does not allow/],
      ];
      for (const [value, pattern] of bad) {
        const res = await app.server.inject({ method: 'GET', url: authorizeUrl(params(value).params) });
        assert.equal(res.statusCode, 303, res.body);
        const to = new URL(res.headers.location as string);
        assert.equal(to.searchParams.get('error'), 'invalid_authorization_details', value);
        assert.match(to.searchParams.get('error_description')!, pattern);
        assert.equal(to.searchParams.get('state'), 'st');
        const pushed = await form(app, '/par', params(value).params, { authorization: basic('web') });
        assert.equal(pushed.statusCode, 400);
        assert.equal(pushed.json().error, 'invalid_authorization_details');
      }
    });

    it('shows them on the consent page (escaped), carries them into the tokens, introspection and refresh', async () => {
      const { verifier, params: p } = params(JSON.stringify([PAYMENT, ACCOUNTS]));
      // Drive the interaction by hand to look at the consent page.
      const jar = new Jar();
      let res = await app.server.inject({ method: 'GET', url: authorizeUrl(p) });
      jar.take(res);
      let page = await app.server.inject({
        method: 'GET',
        url: new URL(res.headers.location as string).pathname,
        headers: { cookie: jar.header() },
      });
      const uid = new URL(res.headers.location as string).pathname;
      res = await form(
        app,
        `${uid}/login`,
        { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) },
        { cookie: jar.header() },
      );
      jar.take(res);
      page = await app.server.inject({ method: 'GET', url: uid, headers: { cookie: jar.header() } });
      assert.match(page.body, /<code class="detail-type">payment_initiation<\/code>/);
      assert.match(page.body, /<dt>creditorName<\/dt><dd>&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; Co<\/dd>/);
      assert.match(page.body, /<dd>{&quot;currency&quot;:&quot;EUR&quot;,&quot;amount&quot;:&quot;12.00&quot;}<\/dd>/);
      assert.ok(!page.body.includes('<script>alert'));
      res = await form(app, `${uid}/consent`, { decision: 'allow', csrf: csrfOf(page.body) }, { cookie: jar.header() });
      const code = new URL(res.headers.location as string).searchParams.get('code')!;
      await app.audit.flush();
      const consent = (await app.stores.audit.query({ type: 'consent_granted' })).at(-1)!;
      assert.deepEqual(consent.details, {
        scope: 'openid offline_access',
        authorization_details_types: 'payment_initiation account_information',
      });

      const tokens = await redeem(code, verifier);
      assert.equal(tokens.statusCode, 200, tokens.body);
      assert.deepEqual(tokens.json().authorization_details, [PAYMENT, ACCOUNTS]);
      assert.deepEqual(decodeJwt(tokens.json().access_token).authorization_details, [PAYMENT, ACCOUNTS]);
      const intro = await form(
        app,
        '/introspect',
        { token: tokens.json().access_token },
        { authorization: basic('rs') },
      );
      assert.deepEqual(intro.json().authorization_details, [PAYMENT, ACCOUNTS]);
      const introRefresh = await form(
        app,
        '/introspect',
        { token: tokens.json().refresh_token },
        { authorization: basic('web') },
      );
      assert.deepEqual(introRefresh.json().authorization_details, [PAYMENT, ACCOUNTS]);

      // Refresh keeps them; a subset narrows one access token; anything else is refused.
      const kept = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: tokens.json().refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(kept.statusCode, 200, kept.body);
      assert.deepEqual(decodeJwt(kept.json().access_token).authorization_details, [PAYMENT, ACCOUNTS]);
      const narrowed = await form(
        app,
        '/token',
        {
          grant_type: 'refresh_token',
          refresh_token: kept.json().refresh_token,
          authorization_details: JSON.stringify([ACCOUNTS]),
        },
        { authorization: basic('web') },
      );
      assert.equal(narrowed.statusCode, 200, narrowed.body);
      assert.deepEqual(decodeJwt(narrowed.json().access_token).authorization_details, [ACCOUNTS]);
      assert.deepEqual(narrowed.json().authorization_details, [ACCOUNTS]);
      const malformed = await form(
        app,
        '/token',
        {
          grant_type: 'refresh_token',
          refresh_token: narrowed.json().refresh_token,
          authorization_details: '{"type":',
        },
        { authorization: basic('web') },
      );
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().error, 'invalid_authorization_details');
      const wider = await form(
        app,
        '/token',
        {
          grant_type: 'refresh_token',
          refresh_token: narrowed.json().refresh_token,
          authorization_details: JSON.stringify([
            { ...PAYMENT, instructedAmount: { currency: 'EUR', amount: '9999.00' } },
          ]),
        },
        { authorization: basic('web') },
      );
      assert.equal(wider.statusCode, 400);
      assert.equal(wider.json().error, 'invalid_authorization_details');
      // The refused request left the refresh token unused: the family keeps the full details.
      const still = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: narrowed.json().refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(still.statusCode, 200, still.body);
      assert.deepEqual(decodeJwt(still.json().access_token).authorization_details, [PAYMENT, ACCOUNTS]);
    });

    it('a subset at the code redemption; a wider one is refused', async () => {
      const a = params(JSON.stringify([PAYMENT, ACCOUNTS]));
      const codeA = (await authorizeWithLogin(app, new Jar(), a.params)).searchParams.get('code')!;
      const sub = await redeem(codeA, a.verifier, { authorization_details: JSON.stringify([PAYMENT]) });
      assert.equal(sub.statusCode, 200, sub.body);
      assert.deepEqual(decodeJwt(sub.json().access_token).authorization_details, [PAYMENT]);
      const b = params(JSON.stringify([ACCOUNTS]));
      const codeB = (await authorizeWithLogin(app, new Jar(), b.params)).searchParams.get('code')!;
      const wide = await redeem(codeB, b.verifier, { authorization_details: JSON.stringify([ACCOUNTS, PAYMENT]) });
      assert.equal(wide.statusCode, 400);
      assert.equal(wide.json().error, 'invalid_authorization_details');
    });

    it('remembered consent for the scopes does not cover authorization_details: the user is asked again', async () => {
      const jar = new Jar();
      const plain = params(JSON.stringify([ACCOUNTS]));
      const { authorization_details: _drop, ...noDetails } = plain.params;
      const first = await authorizeWithLogin(app, jar, noDetails);
      assert.ok(first.searchParams.get('code'));
      // Same scopes again without details: straight back with a code (consent remembered).
      const again = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({ ...noDetails, state: 'again' }),
        headers: { cookie: jar.header() },
      });
      assert.ok(new URL(again.headers.location as string).searchParams.get('code'));
      // With details: to the consent page, and prompt=none answers consent_required.
      const withDetails = await app.server.inject({
        method: 'GET',
        url: authorizeUrl(plain.params),
        headers: { cookie: jar.header() },
      });
      assert.match(withDetails.headers.location as string, /\/interaction\//);
      const none = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({ ...plain.params, prompt: 'none' }),
        headers: { cookie: jar.header() },
      });
      assert.equal(new URL(none.headers.location as string).searchParams.get('error'), 'consent_required');
    });

    it('come through PAR and through request objects (as a JSON array claim)', async () => {
      const a = params(JSON.stringify([ACCOUNTS]));
      const pushed = await form(app, '/par', a.params, { authorization: basic('web') });
      assert.equal(pushed.statusCode, 201, pushed.body);
      const code = (
        await authorizeWithLogin(app, new Jar(), { client_id: 'web', request_uri: pushed.json().request_uri })
      ).searchParams.get('code')!;
      assert.deepEqual((await redeem(code, a.verifier)).json().authorization_details, [ACCOUNTS]);

      const { verifier, challenge } = pkce();
      const claims = {
        response_type: 'code',
        redirect_uri: 'https://jar.example/cb',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        authorization_details: [PAYMENT],
      };
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'rar-jar',
        request: await requestObject('rar-jar', key, claims),
      });
      const tokens = await form(app, '/token', {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: 'https://jar.example/cb',
        ...(await clientAssertion('rar-jar', key)),
      });
      assert.equal(tokens.statusCode, 200, tokens.body);
      assert.deepEqual(decodeJwt(tokens.json().access_token).authorization_details, [PAYMENT]);
      // A type this client is not registered for (authorization_details_types) is refused.
      const other = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: 'rar-jar',
          request: await requestObject('rar-jar', key, { ...claims, authorization_details: [ACCOUNTS] }),
        }),
      });
      assert.equal(
        new URL(other.headers.location as string).searchParams.get('error'),
        'invalid_authorization_details',
      );
      assert.match(
        new URL(other.headers.location as string).searchParams.get('error_description')!,
        /this client may not use/,
      );
      // A bad value inside a request object is refused the same way.
      const bad = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: 'rar-jar',
          request: await requestObject('rar-jar', key, { ...claims, authorization_details: [{ type: 'nope' }] }),
        }),
      });
      assert.equal(new URL(bad.headers.location as string).searchParams.get('error'), 'invalid_authorization_details');
    });
  });
}
