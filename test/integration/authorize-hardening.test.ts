// Issue 13 at /authorize, /logout and the code grant: one guard decides whether an error may go to a
// redirect URI (RFC 9700 section 4.11.2), scope may be left out (RFC 6749 section 3.3), and the
// operator's per-client PKCE opt-out with its limits (OAuth 2.1 section 7.5.1, RFC 9700 section 4.8.2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildApp, type App } from '../../src/app.ts';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import { loadConfig } from '../../src/config/config.ts';
import {
  authorizeUrl,
  authorizeWithLogin,
  backends,
  basic,
  csrfOf,
  form,
  ISSUER,
  Jar,
  pkce,
  testApp,
} from '../fixtures/app.ts';

const RP = 'https://rp.example/cb';
const RP_BYE = 'https://rp.example/bye';
const ALICE = { username: 'alice', password: 'correct horse battery' };
const LEGACY_SECRET = 'legacy-secret-0123456789-abcdefghijklm';
const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const PUB = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };
const other = await generateKeyPair('ES256');

/** No automatic redirect: an HTML page, no Location, nothing posted to the client. */
function assertPage(res: LightMyRequestResponse, what: string, status = 400): void {
  assert.equal(
    res.statusCode,
    status,
    `${what}: ${res.statusCode} ${res.headers.location ?? ''} ${res.body.slice(0, 200)}`,
  );
  assert.equal(res.headers.location, undefined, what);
  assert.match(res.headers['content-type'] as string, /text\/html/, what);
  assert.doesNotMatch(res.body, /<form[^>]*action="https:\/\/rp\.example/, `${what}: no form to the client`);
  assert.doesNotMatch(
    (res.headers['content-security-policy'] as string) ?? '',
    /rp\.example/,
    `${what}: no form-action to the client`,
  );
}

for (const backend of await backends()) {
  describe(`authorization hardening (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let reg: { client_id: string; client_secret: string };
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_REGISTRATION: 'open' });
      const res = await app.server.inject({
        method: 'POST',
        url: '/register',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          client_name: 'Totally Official Bank',
          redirect_uris: [RP],
          post_logout_redirect_uris: [RP_BYE],
          grant_types: ['authorization_code'],
          scope: 'openid profile',
          jwks: { keys: [PUB] },
          request_object_signing_alg: 'ES256',
        }),
      });
      assert.equal(res.statusCode, 201, res.body);
      reg = res.json();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'legacy',
          client_secret: LEGACY_SECRET,
          redirect_uris: ['https://legacy.example/cb'],
          grant_types: ['authorization_code'],
          scope: 'openid profile',
          pkce_required: false,
        },
        app.provider.now(),
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const get = (url: string, jar?: Jar) =>
      app.server.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
    const regParams = (extra: Record<string, string> = {}) => ({
      client_id: reg.client_id,
      redirect_uri: RP,
      response_type: 'code',
      scope: 'openid',
      state: 's1',
      nonce: 'n1',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    const requestObject = (key: CryptoKey | Uint8Array, claims: Record<string, unknown> = {}) =>
      new SignJWT({
        client_id: reg.client_id,
        redirect_uri: RP,
        response_type: 'code',
        scope: 'openid',
        nonce: 'n',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt' })
        .setIssuer(reg.client_id)
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(crypto.randomUUID())
        .sign(key);
    /** Signs in and stops at the consent page: returns the jar and the interaction path. */
    const toConsent = async (params: Record<string, string>) => {
      const jar = new Jar();
      let res = await get(authorizeUrl(params), jar);
      jar.take(res);
      const path = new URL(res.headers.location as string).pathname;
      const login = await get(path, jar);
      res = await form(app, `${path}/login`, { ...ALICE, csrf: csrfOf(login.body) }, { cookie: jar.header() });
      jar.take(res);
      const consent = await get(path, jar);
      assert.match(consent.body, /name="decision"/);
      return { jar, path, csrf: csrfOf(consent.body) };
    };

    describe('RFC 9700 4.11.2: errors never redirect automatically to a self-registered client', () => {
      it('every error path of /authorize answers a page for a self-registered client', async () => {
        // The request object is refused (signed by a key that is not the client's): before, a 303 to the registered
        // URI.
        const badObject = await get(
          authorizeUrl({
            client_id: reg.client_id,
            redirect_uri: RP,
            state: 's1',
            request: await requestObject(other.privateKey),
          }),
        );
        assertPage(badObject, 'invalid request object');
        assert.match(badObject.body, /invalid_request_object/);
        const mismatch = await get(
          authorizeUrl({
            client_id: reg.client_id,
            redirect_uri: RP,
            request: await requestObject(privateKey, { client_id: 'web' }),
          }),
        );
        assertPage(mismatch, 'request object for another client_id');
        assert.match(mismatch.body, /invalid_request_object/);
        // request_uri: unknown, not one this server issued.
        assertPage(
          await get(
            authorizeUrl({
              client_id: reg.client_id,
              redirect_uri: RP,
              request_uri: 'urn:ietf:params:oauth:request_uri:' + 'A'.repeat(43),
            }),
          ),
          'unknown request_uri',
        );
        assertPage(
          await get(
            authorizeUrl({ client_id: reg.client_id, redirect_uri: RP, request_uri: 'https://evil.example/req' }),
          ),
          'foreign request_uri',
        );
        // Errors of the request itself, in every response mode.
        for (const [extra, code] of [
          [{ scope: 'openid not-offered' }, 'invalid_scope'],
          [{ response_type: 'token' }, 'unsupported_response_type'],
          [{ response_type: '' }, 'invalid_request'],
          [{ code_challenge_method: 'plain' }, 'invalid_request'],
          [{ prompt: 'none' }, 'login_required'],
          [{ prompt: 'none login' }, 'invalid_request'],
          [{ max_age: 'x' }, 'invalid_request'],
          [{ claims: '{bad' }, 'invalid_request'],
          [{ registration: '{}' }, 'registration_not_supported'],
          [{ scope: 'openid not-offered', response_mode: 'form_post' }, 'invalid_scope'],
          [{ scope: 'openid not-offered', response_mode: 'query.jwt' }, 'invalid_scope'],
        ] as const) {
          const res = await get(authorizeUrl(regParams(extra as Record<string, string>)));
          assertPage(res, `${JSON.stringify(extra)}`);
          assert.match(res.body, new RegExp(code), JSON.stringify(extra));
          // A query-mode answer is offered as a link the user may follow; a form_post one is not.
          if ((extra as Record<string, string>).response_mode === 'form_post')
            assert.doesNotMatch(res.body, /href="https:\/\/rp\.example/);
          else assert.match(res.body, /href="https:\/\/rp\.example\/cb\?/, JSON.stringify(extra));
        }
        // A pushed request replayed at /authorize: its prompt=none answer is a page too.
        const pushed = await form(app, '/par', regParams({ prompt: 'none' }), {
          authorization: basic(reg.client_id, reg.client_secret),
        });
        assert.equal(pushed.statusCode, 201, pushed.body);
        assertPage(
          await get(authorizeUrl({ client_id: reg.client_id, request_uri: pushed.json().request_uri })),
          'pushed prompt=none',
        );
      });

      it('a denied consent shows a page with a link, not a redirect; an operator-made client still gets its redirects', async () => {
        const { jar, path, csrf } = await toConsent(regParams());
        const denied = await form(app, `${path}/consent`, { decision: 'deny', csrf }, { cookie: jar.header() });
        assertPage(denied, 'consent denied', 200);
        assert.match(denied.body, /access_denied/);
        assert.match(denied.body, /href="https:\/\/rp\.example\/cb\?error=access_denied[^"]*state=s1/);
        assert.match(denied.body, /Return to Totally Official Bank \(rp\.example\)/);
        // The interaction is over: a second answer finds nothing (the browser's interaction cookie
        // is kept for its next sign-in: http/cookies.ts).
        const again = await form(app, `${path}/consent`, { decision: 'deny', csrf }, { cookie: jar.header() });
        assert.equal(again.statusCode, 400);
        assert.match(again.body, /expired or was already completed/);
        // Operator-made client: the same errors go to its redirect URI (RFC 6749 section 4.1.2.1).
        const web = {
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          state: 'w',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        };
        for (const [extra, code] of [
          [{ scope: 'openid not-offered' }, 'invalid_scope'],
          [{ scope: 'openid', prompt: 'none' }, 'login_required'],
        ] as const) {
          const res = await get(authorizeUrl({ ...web, ...extra }));
          assert.equal(res.statusCode, 303, code);
          assert.equal(new URL(res.headers.location as string).searchParams.get('error'), code);
        }
        const webConsent = await toConsent({ ...web, scope: 'openid' });
        const webDenied = await form(
          app,
          `${webConsent.path}/consent`,
          { decision: 'deny', csrf: webConsent.csrf },
          { cookie: webConsent.jar.header() },
        );
        assert.equal(webDenied.statusCode, 303);
        assert.equal(new URL(webDenied.headers.location as string).searchParams.get('error'), 'access_denied');
        // A code is not an error: the self-registered client gets it once the user allowed.
        const ok = await authorizeWithLogin(app, new Jar(), regParams());
        assert.ok(ok.searchParams.get('code'), ok.href);
        assert.equal(ok.origin, 'https://rp.example');
      });

      it("/logout: a self-registered client's post_logout_redirect_uri always needs the user's confirmation", async () => {
        const logoutUrl = (extra: Record<string, string> = {}) =>
          `/logout?${new URLSearchParams({ client_id: reg.client_id, post_logout_redirect_uri: RP_BYE, state: 'x', ...extra })}`;
        // No session: before, a 303 straight to the registered URI.
        const page = await get(logoutUrl());
        assert.equal(page.statusCode, 200);
        assert.equal(page.headers.location, undefined);
        assert.match(page.body, /Sign out of Tessera\?/);
        assert.match(page.body, /<strong>rp\.example<\/strong>, an address this application registered itself/);
        const confirmed = await form(app, '/logout', {
          client_id: reg.client_id,
          post_logout_redirect_uri: RP_BYE,
          state: 'x',
          confirm: 'yes',
        });
        assert.equal(confirmed.statusCode, 303);
        assert.equal(confirmed.headers.location, `${RP_BYE}?state=x`);
        // The same confirmation forged by another site (a signed-in user's Lax cookie is not sent on a
        // cross-site POST, so it looks like "no session"): the page again, never the redirect.
        for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.example' }] as Record<
          string,
          string
        >[]) {
          const forged = await form(
            app,
            '/logout',
            { client_id: reg.client_id, post_logout_redirect_uri: RP_BYE, state: 'x', confirm: 'yes' },
            headers,
          );
          assert.equal(forged.statusCode, 200, JSON.stringify(headers));
          assert.equal(forged.headers.location, undefined);
          assert.match(forged.body, /Sign out of Tessera\?/);
        }
        const sameOrigin = await form(
          app,
          '/logout',
          { client_id: reg.client_id, post_logout_redirect_uri: RP_BYE, state: 'x', confirm: 'yes' },
          { 'sec-fetch-site': 'same-origin', origin: new URL(ISSUER).origin },
        );
        assert.equal(sameOrigin.statusCode, 303);
        // With a session and the client's own ID token as hint: still asked; the session stays until confirmed.
        const jar = new Jar();
        const { verifier, challenge } = pkce();
        const loc = await authorizeWithLogin(app, jar, regParams({ code_challenge: challenge }));
        const tokens = (
          await form(
            app,
            '/token',
            {
              grant_type: 'authorization_code',
              code: loc.searchParams.get('code')!,
              code_verifier: verifier,
              redirect_uri: RP,
            },
            { authorization: basic(reg.client_id, reg.client_secret) },
          )
        ).json();
        const asked = await get(logoutUrl({ id_token_hint: tokens.id_token }), jar);
        assert.equal(asked.statusCode, 200);
        assert.match(asked.body, /name="confirm"/);
        const still = await get(authorizeUrl(regParams({ prompt: 'none' })), jar);
        assert.ok(new URL(still.headers.location as string).searchParams.get('code'), 'the session is still alive');
        const out = await form(
          app,
          '/logout',
          {
            id_token_hint: tokens.id_token,
            post_logout_redirect_uri: RP_BYE,
            confirm: 'yes',
            csrf: csrfOf(asked.body),
          },
          { cookie: jar.header() },
        );
        assert.equal(out.statusCode, 303);
        assert.equal(out.headers.location, RP_BYE);
        // An operator-made client without a session: redirected at once, as before.
        const web = await get(
          `/logout?${new URLSearchParams({ client_id: 'web', post_logout_redirect_uri: 'https://app.example/bye' })}`,
        );
        assert.equal(web.statusCode, 303);
      });
    });

    describe('RFC 6749 3.3: scope may be left out', () => {
      it("the client's registered scope applies (without openid) and the token response names it", async () => {
        const { verifier, challenge } = pkce();
        const loc = await authorizeWithLogin(app, new Jar(), {
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        const code = loc.searchParams.get('code');
        assert.ok(code, loc.href);
        const tok = await form(
          app,
          '/token',
          { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://app.example/cb' },
          { authorization: basic('web') },
        );
        assert.equal(tok.statusCode, 200, tok.body);
        assert.equal(tok.json().scope, 'profile email offline_access');
        assert.equal(tok.json().id_token, undefined, 'not an OpenID Connect request: no ID token');
        assert.equal(decodeJwt(tok.json().access_token).scope, 'profile email offline_access');
        // A client whose registered scope is only openid has no default: invalid_scope at its redirect URI.
        const none = await get(
          authorizeUrl({
            client_id: 'web-post',
            redirect_uri: 'https://post.example/cb',
            response_type: 'code',
            state: 's',
            code_challenge: challenge,
            code_challenge_method: 'S256',
          }),
        );
        assert.equal(none.statusCode, 303);
        assert.equal(new URL(none.headers.location as string).searchParams.get('error'), 'invalid_scope');
      });
    });

    describe('PKCE opt-out (pkce_required: false)', () => {
      const legacy = (extra: Record<string, string> = {}) => ({
        client_id: 'legacy',
        redirect_uri: 'https://legacy.example/cb',
        response_type: 'code',
        scope: 'openid profile',
        state: 's',
        nonce: 'nonce-1',
        ...extra,
      });
      const redeem = (code: string, extra: Record<string, string> = {}) =>
        form(
          app,
          '/token',
          { grant_type: 'authorization_code', code, redirect_uri: 'https://legacy.example/cb', ...extra },
          { authorization: basic('legacy', LEGACY_SECRET) },
        );
      const codeFor = async (params: Record<string, string>) => {
        const loc = await authorizeWithLogin(app, new Jar(), params);
        const code = loc.searchParams.get('code');
        assert.ok(code, loc.href);
        return code;
      };

      it('an OpenID Connect request with a nonce may go without code_challenge; the code is redeemed without a verifier', async () => {
        const tok = await redeem(await codeFor(legacy()));
        assert.equal(tok.statusCode, 200, tok.body);
        assert.equal(decodeJwt(tok.json().id_token).nonce, 'nonce-1');
        // Without a nonce, without openid, or with a method but no challenge: refused at the redirect URI.
        for (const [extra, why] of [
          [{ nonce: '' }, 'no nonce'],
          [{ scope: 'profile' }, 'no openid'],
          [{ code_challenge_method: 'S256' }, 'method without challenge'],
        ] as const) {
          const params: Record<string, string> = legacy(extra);
          if (params.nonce === '') delete params.nonce;
          const res = await get(authorizeUrl(params));
          assert.equal(res.statusCode, 303, why);
          const loc = new URL(res.headers.location as string);
          assert.equal(loc.origin, 'https://legacy.example', why);
          assert.equal(loc.searchParams.get('error'), 'invalid_request', why);
        }
        // Discovery stays truthful: S256 is the only method, PKCE is not advertised as optional.
        assert.deepEqual((await get('/.well-known/openid-configuration')).json().code_challenge_methods_supported, [
          'S256',
        ]);
      });

      it('RFC 9700 4.8.2: a code_verifier for a code issued without a challenge is refused (downgrade), and the code is spent', async () => {
        const code = await codeFor(legacy());
        const downgrade = await redeem(code, { code_verifier: pkce().verifier });
        assert.equal(downgrade.statusCode, 400);
        assert.equal(downgrade.json().error, 'invalid_grant');
        const after = await redeem(code);
        assert.equal(after.json().error, 'invalid_grant', 'the code was used up');
        // A code issued with a challenge still needs its verifier, also for an opted-out client.
        const { verifier, challenge } = pkce();
        const withPkce = await codeFor(legacy({ code_challenge: challenge, code_challenge_method: 'S256' }));
        const missing = await redeem(withPkce);
        assert.equal(missing.json().error, 'invalid_grant');
        const again = await codeFor(legacy({ code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.equal((await redeem(again, { code_verifier: pkce().verifier })).json().error, 'invalid_grant');
        const good = await codeFor(legacy({ code_challenge: challenge, code_challenge_method: 'S256' }));
        assert.equal((await redeem(good, { code_verifier: verifier })).statusCode, 200);
      });

      it('clients without the opt-out: PKCE required at /authorize, and a missing verifier does not spend the code', async () => {
        const res = await get(
          authorizeUrl({
            client_id: 'web',
            redirect_uri: 'https://app.example/cb',
            response_type: 'code',
            scope: 'openid',
            nonce: 'n',
            state: 's',
          }),
        );
        assert.equal(new URL(res.headers.location as string).searchParams.get('error'), 'invalid_request');
        const { verifier, challenge } = pkce();
        const loc = await authorizeWithLogin(app, new Jar(), {
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        const code = loc.searchParams.get('code')!;
        const noVerifier = await form(
          app,
          '/token',
          { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb' },
          { authorization: basic('web') },
        );
        assert.equal(noVerifier.json().error, 'invalid_request');
        const ok = await form(
          app,
          '/token',
          { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://app.example/cb' },
          { authorization: basic('web') },
        );
        assert.equal(ok.statusCode, 200, ok.body);
        // An opt-out the operator withdraws is withdrawn at once, also for codes already issued.
        const code2 = await codeFor(legacy());
        await saveClient(
          app.stores,
          app.provider.config,
          { client_id: 'legacy', pkce_required: true },
          app.provider.now(),
        );
        try {
          assert.equal((await get(authorizeUrl(legacy()))).headers.location?.includes('error=invalid_request'), true);
          const refused = await redeem(code2);
          assert.equal(refused.statusCode, 400);
          assert.equal(refused.json().error, 'invalid_request');
        } finally {
          await saveClient(
            app.stores,
            app.provider.config,
            { client_id: 'legacy', pkce_required: false },
            app.provider.now(),
          );
        }
      });

      it('only an operator may set it, only for confidential, operator-made, non-FAPI clients', async () => {
        const cfg = app.provider.config;
        const n = app.provider.now();
        const base = {
          redirect_uris: ['https://x.example/cb'],
          grant_types: ['authorization_code' as const],
          scope: 'openid',
          pkce_required: false,
        };
        await assert.rejects(
          saveClient(app.stores, cfg, { ...base, client_id: 'pub', token_endpoint_auth_method: 'none' }, n),
          (e: Error) => e instanceof AdminError && /confidential clients only/.test(e.message),
        );
        await assert.rejects(
          saveClient(
            app.stores,
            cfg,
            {
              ...base,
              client_id: 'fapi',
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [PUB] },
              fapi_profile: '2.0',
            },
            n,
          ),
          /FAPI/,
        );
        await assert.rejects(
          saveClient(
            app.stores,
            { ...cfg, fapiProfile: '2.0' },
            { ...base, client_id: 'conf-fapi', client_secret: LEGACY_SECRET },
            n,
          ),
          /FAPI/,
        );
        await assert.rejects(
          saveClient(app.stores, cfg, { ...base, client_id: reg.client_id }, n),
          /dynamically registered/,
        );
        await assert.rejects(
          saveClient(
            app.stores,
            cfg,
            { ...base, client_id: 'typo', client_secret: LEGACY_SECRET, pkce_required: 'no' as unknown as boolean },
            n,
          ),
          /pkce_required must be true or false/,
        );
        for (const id of ['pub', 'fapi', 'conf-fapi', 'typo'])
          assert.equal(await app.stores.clients.get(id), undefined, id);
        // Making the legacy client public or FAPI later is refused while the opt-out is on.
        await assert.rejects(
          saveClient(app.stores, cfg, { client_id: 'legacy', token_endpoint_auth_method: 'none' }, n),
          /confidential clients only/,
        );
        // Dynamic registration cannot ask for it.
        const res = await app.server.inject({
          method: 'POST',
          url: '/register',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ redirect_uris: [RP], pkce_required: false }),
        });
        assert.equal(res.statusCode, 400);
        assert.equal(res.json().error, 'invalid_client_metadata');
        // true (or null) removes it.
        await saveClient(
          app.stores,
          cfg,
          {
            client_id: 'legacy2',
            client_secret: LEGACY_SECRET,
            redirect_uris: ['https://x.example/cb'],
            scope: 'openid',
            pkce_required: false,
          },
          n,
        );
        const { client } = await saveClient(app.stores, cfg, { client_id: 'legacy2', pkce_required: true }, n);
        assert.equal(client.metadata.pkce_required, undefined);
      });
    });
  });
}

describe('start-up and settings', () => {
  it('warns at start-up of every client with the PKCE opt-out (log and audit trail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-pkce-'));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: 'legacy',
            client_secret: LEGACY_SECRET,
            redirect_uris: ['https://legacy.example/cb'],
            scope: 'openid',
            pkce_required: false,
          },
          {
            client_id: 'modern',
            client_secret: LEGACY_SECRET,
            redirect_uris: ['https://modern.example/cb'],
            scope: 'openid',
          },
        ],
      }),
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const config = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: ISSUER,
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_SEED_DEMO: 'false',
      TESSERA_BOOTSTRAP_FILE: file,
    });
    const app = await buildApp(config, { logger: pino({ level: 'warn' }, sink) });
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'config_warning' && /PKCE/.test(l.msg));
      assert.ok(warning, lines.join('\n'));
      assert.deepEqual(warning.clients, ['legacy']);
      const audit = await app.stores.audit.query({ type: 'config_warning' });
      assert.ok(
        audit.some((r) => /PKCE.*legacy/.test(String(r.details.message))),
        JSON.stringify(audit),
      );
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('TESSERA_DEFAULT_SCOPE narrows the scope of a request without one; openid and unknown scopes are refused at start-up', async () => {
    const base = { TESSERA_ENV: 'development', TESSERA_ISSUER: ISSUER, DATABASE_URL: 'sqlite::memory:' };
    assert.throws(
      () => loadConfig({ ...base, TESSERA_DEFAULT_SCOPE: 'openid profile' }),
      /TESSERA_DEFAULT_SCOPE: openid/,
    );
    assert.throws(() => loadConfig({ ...base, TESSERA_DEFAULT_SCOPE: 'nope' }), /TESSERA_DEFAULT_SCOPE: "nope"/);
    const app = await testApp('sqlite::memory:', { TESSERA_DEFAULT_SCOPE: 'profile api:read' });
    try {
      const { verifier, challenge } = pkce();
      const loc = await authorizeWithLogin(app, new Jar(), {
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const tok = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: loc.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      );
      // api:read is not in web's registered scope, so only profile applies.
      assert.equal(tok.json().scope, 'profile');
    } finally {
      await app.close();
    }
  });
});
