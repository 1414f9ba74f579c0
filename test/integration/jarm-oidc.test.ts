// JARM (JWT Secured Authorization Response Mode) and the OpenID Connect request features at
// /authorize: the claims parameter, acr, id_token_hint, prompt=select_account, prompt=create.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { saveUser } from '../../src/admin/users.ts';
import { ACR_PASSWORD } from '../../src/protocol/claims-request.ts';
import { mintIdToken } from '../../src/protocol/tokens/id-token.ts';
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

const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };
const JARM_REDIRECT = 'https://jarm.example/cb';
const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const PUB = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };
const now = () => Math.floor(Date.now() / 1000);
const ALICE = { username: 'alice', password: 'correct horse battery' };
const BOB = { username: 'bob', password: 'bob password 12345' };

const hiddenField = (html: string, name: string) => {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html);
  return m
    ? m[1]!
        .replace(/&amp;/g, '&')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
    : undefined;
};

for (const backend of await backends()) {
  describe(`JARM and OIDC request features (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let jwks: ReturnType<typeof createLocalJWKSet>;
    before(async () => {
      app = await testApp(backend.url!);
      const n = app.provider.now();
      const cfg = app.provider.config;
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'jarm',
          client_secret: 'jarm-secret-0123456789-abcdefghijklmn',
          redirect_uris: [JARM_REDIRECT],
          grant_types: ['authorization_code'],
          scope: 'openid profile email',
          authorization_signed_response_alg: 'ES256',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'jarm-rs',
          client_secret: 'jarm-secret-0123456789-abcdefghijklmn',
          redirect_uris: [JARM_REDIRECT],
          grant_types: ['authorization_code'],
          scope: 'openid',
          authorization_signed_response_alg: 'RS256',
        },
        n,
      );
      await saveClient(
        app.stores,
        cfg,
        {
          client_id: 'jar',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [PUB] },
          redirect_uris: [JARM_REDIRECT],
          grant_types: ['authorization_code'],
          scope: 'openid',
          request_object_signing_alg: 'ES256',
        },
        n,
      );
      await saveUser(app.stores, { ...BOB, email: 'bob@example.com' }, n);
      jwks = createLocalJWKSet((await app.server.inject({ method: 'GET', url: '/jwks' })).json() as JSONWebKeySet);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const params = (extra: Record<string, string> = {}) => {
      const { verifier, challenge } = pkce();
      return {
        verifier,
        params: {
          ...WEB,
          scope: 'openid profile email',
          state: 'st-1',
          nonce: 'n-1',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...extra,
        },
      };
    };
    const get = (url: string, jar?: Jar) =>
      app.server.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
    const verifyResponse = async (jwt: string, clientId = 'web') => {
      // RS256 unless the client registered another algorithm (JARM section 3): `jarm` registered ES256.
      const alg = clientId === 'jarm' ? 'ES256' : 'RS256';
      const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
        issuer: ISSUER,
        audience: clientId,
        algorithms: [alg],
      });
      assert.equal(protectedHeader.kid, app.provider.keys().signer(alg)!.kid);
      assert.ok(payload.exp! - payload.iat! <= 600 && payload.exp! > now());
      return payload;
    };
    const redeem = (code: string, verifier: string, clientId = 'web', redirectUri = WEB.redirect_uri) =>
      form(
        app,
        '/token',
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri },
        {
          authorization: clientId === 'web' ? basic('web') : basic(clientId, 'jarm-secret-0123456789-abcdefghijklmn'),
        },
      );
    /** Signs in (and consents) in a fresh jar; returns the jar with its session and the ID token. */
    const signedIn = async (user = ALICE) => {
      const jar = new Jar();
      const { verifier, params: p } = params();
      const loc = await authorizeWithLogin(app, jar, p, user);
      const tokens = (await redeem(loc.searchParams.get('code')!, verifier)).json();
      return { jar, idToken: tokens.id_token as string, accessToken: tokens.access_token as string };
    };

    describe('JARM', () => {
      it('discovery advertises the JWT response modes, the signing algorithms, acr values and the claims parameter', async () => {
        const d = (await get('/.well-known/openid-configuration')).json();
        assert.deepEqual(d.response_modes_supported, ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt']);
        assert.deepEqual(d.authorization_signing_alg_values_supported, ['ES256', 'RS256']);
        assert.equal(d.claims_parameter_supported, true);
        assert.deepEqual(d.acr_values_supported, [ACR_PASSWORD, 'urn:tessera:acr:mfa', 'phr', 'phrh']);
        assert.ok(d.claims_supported.includes('acr'));
        assert.deepEqual(d.prompt_values_supported, ['none', 'login', 'consent', 'select_account']);
      });

      it('response_mode=jwt: one signed `response` parameter with iss, aud, exp, code and state; the code works', async () => {
        const { verifier, params: p } = params({ response_mode: 'jwt' });
        const loc = await authorizeWithLogin(app, new Jar(), p);
        assert.equal(loc.origin + loc.pathname, WEB.redirect_uri);
        assert.deepEqual([...loc.searchParams.keys()], ['response']);
        const payload = await verifyResponse(loc.searchParams.get('response')!);
        assert.equal(payload.state, 'st-1');
        assert.equal(typeof payload.code, 'string');
        const tokens = await redeem(payload.code as string, verifier);
        assert.equal(tokens.statusCode, 200, tokens.body);
      });

      it('response_mode=form_post.jwt: the signed response is posted in the `response` field', async () => {
        const jar = new Jar();
        const { verifier, params: p } = params({ response_mode: 'form_post.jwt', scope: 'openid' });
        await authorizeWithLogin(app, jar, params().params); // sign in and consent first
        const res = await get(authorizeUrl(p), jar);
        assert.equal(res.statusCode, 200, res.body);
        assert.match(res.body, /action="https:\/\/app.example\/cb"/);
        assert.equal(hiddenField(res.body, 'state'), undefined);
        assert.equal(hiddenField(res.body, 'iss'), undefined);
        const payload = await verifyResponse(hiddenField(res.body, 'response')!);
        assert.equal(payload.state, 'st-1');
        assert.equal((await redeem(payload.code as string, verifier)).statusCode, 200);
      });

      it('a client registered with authorization_signed_response_alg gets JWT responses by default, errors included (access_denied)', async () => {
        const { verifier, params: p } = params({
          client_id: 'jarm',
          redirect_uri: JARM_REDIRECT,
          scope: 'openid email',
        });
        const loc = await authorizeWithLogin(app, new Jar(), p);
        const payload = await verifyResponse(loc.searchParams.get('response')!, 'jarm');
        assert.equal((await redeem(payload.code as string, verifier, 'jarm', JARM_REDIRECT)).statusCode, 200);

        // The user denies: the error is a signed response too.
        const jar = new Jar();
        const { params: p2 } = params({
          client_id: 'jarm',
          redirect_uri: JARM_REDIRECT,
          scope: 'openid profile',
          prompt: 'consent',
          state: 'deny-me',
        });
        let res = await get(authorizeUrl(p2), jar);
        jar.take(res);
        const ia = new URL(res.headers.location as string).pathname;
        let page = await get(ia, jar);
        res = await form(app, `${ia}/login`, { ...ALICE, csrf: csrfOf(page.body) }, { cookie: jar.header() });
        jar.take(res);
        page = await get(ia, jar);
        res = await form(app, `${ia}/consent`, { decision: 'deny', csrf: csrfOf(page.body) }, { cookie: jar.header() });
        const denied = new URL(res.headers.location as string);
        assert.deepEqual([...denied.searchParams.keys()], ['response']);
        const err = await verifyResponse(denied.searchParams.get('response')!, 'jarm');
        assert.equal(err.error, 'access_denied');
        assert.equal(err.state, 'deny-me');
        assert.equal(err.code, undefined);
      });

      it('errors found after the client and redirect URI are checked are signed responses; an unknown mode is refused in the default mode', async () => {
        const { params: p } = params({ response_mode: 'query.jwt', scope: 'openid unknown-scope' });
        let res = await get(authorizeUrl(p));
        assert.equal(res.statusCode, 303);
        let loc = new URL(res.headers.location as string);
        const err = await verifyResponse(loc.searchParams.get('response')!);
        assert.equal(err.error, 'invalid_scope');
        assert.equal(err.state, 'st-1');

        res = await get(authorizeUrl(params({ response_mode: 'fragment' }).params));
        loc = new URL(res.headers.location as string);
        assert.equal(loc.searchParams.get('error'), 'invalid_request');
        assert.equal(loc.searchParams.get('iss'), ISSUER);
        res = await get(
          authorizeUrl(
            params({ client_id: 'jarm', redirect_uri: JARM_REDIRECT, response_mode: 'fragment.jwt' }).params,
          ),
        );
        loc = new URL(res.headers.location as string);
        assert.equal((await verifyResponse(loc.searchParams.get('response')!, 'jarm')).error, 'invalid_request');
        // An unknown client or redirect URI still gets a page, never a signed redirect.
        res = await get(authorizeUrl(params({ response_mode: 'jwt', redirect_uri: 'https://evil.example/cb' }).params));
        assert.equal(res.statusCode, 400);
        assert.match(res.headers['content-type'] as string, /text\/html/);
      });

      it('a client registered for an algorithm no active key has gets an error page, nothing at its redirect URI', async () => {
        // jarm-rs registered RS256: signed with the RS256 key.
        let res = await get(
          authorizeUrl(
            params({ client_id: 'jarm-rs', redirect_uri: JARM_REDIRECT, scope: 'openid', prompt: 'none' }).params,
          ),
        );
        assert.equal(res.statusCode, 303);
        assert.equal(
          decodeProtectedHeader(new URL(res.headers.location as string).searchParams.get('response')!).alg,
          'RS256',
        );
        // An algorithm taken out of TESSERA_SIGNING_ALGS (no active key) after the client registered it.
        const client = (await app.stores.clients.get('jarm-rs'))!;
        await app.stores.clients.put({
          ...client,
          clientId: 'jarm-ps',
          metadata: { ...client.metadata, authorization_signed_response_alg: 'PS256' },
        });
        res = await get(
          authorizeUrl(params({ client_id: 'jarm-ps', redirect_uri: JARM_REDIRECT, scope: 'openid' }).params),
        );
        assert.equal(res.statusCode, 400);
        assert.equal(res.headers.location, undefined);
        assert.match(res.body, /cannot sign authorization responses/);
      });

      it('works through PAR and through request objects', async () => {
        const jar = new Jar();
        await authorizeWithLogin(app, jar, params().params);
        const { verifier, params: p } = params({ response_mode: 'form_post.jwt', state: 'pushed' });
        const pushed = await form(app, '/par', p, { authorization: basic('web') });
        assert.equal(pushed.statusCode, 201, pushed.body);
        const res = await get(authorizeUrl({ client_id: 'web', request_uri: pushed.json().request_uri }), jar);
        assert.equal(res.statusCode, 200, res.body);
        const payload = await verifyResponse(hiddenField(res.body, 'response')!);
        assert.equal(payload.state, 'pushed');
        assert.equal((await redeem(payload.code as string, verifier)).statusCode, 200);
        // PAR refuses an unknown mode as JSON.
        const bad = await form(app, '/par', params({ response_mode: 'fragment.jwt' }).params, {
          authorization: basic('web'),
        });
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().error, 'invalid_request');

        const { challenge } = pkce();
        const request = await new SignJWT({
          iss: 'jar',
          aud: ISSUER,
          iat: now(),
          exp: now() + 60,
          jti: randomUUID(),
          client_id: 'jar',
          response_type: 'code',
          redirect_uri: JARM_REDIRECT,
          scope: 'openid',
          state: 'in-object',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          response_mode: 'jwt',
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt' })
          .sign(privateKey);
        const loc = await authorizeWithLogin(app, new Jar(), { client_id: 'jar', request });
        const inObject = await verifyResponse(loc.searchParams.get('response')!, 'jar');
        assert.equal(inObject.state, 'in-object');
        assert.equal(typeof inObject.code, 'string');

        // OIDC Core 6.1: claims inside a request object is a JSON object; an essential acr in it that
        // cannot be met comes back as a signed error.
        const unmet = await new SignJWT({
          iss: 'jar',
          aud: ISSUER,
          iat: now(),
          exp: now() + 60,
          jti: randomUUID(),
          client_id: 'jar',
          response_type: 'code',
          redirect_uri: JARM_REDIRECT,
          scope: 'openid',
          state: 'acr',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          response_mode: 'jwt',
          claims: { id_token: { acr: { essential: true, value: 'urn:example:mfa' } } },
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'oauth-authz-req+jwt' })
          .sign(privateKey);
        const refused = await get(authorizeUrl({ client_id: 'jar', request: unmet }));
        const err = await verifyResponse(
          new URL(refused.headers.location as string).searchParams.get('response')!,
          'jar',
        );
        assert.equal(err.error, 'unmet_authentication_requirements');
        assert.equal(err.state, 'acr');
      });
    });

    describe('claims parameter and acr', () => {
      it('id_token claims asked for are in the ID token; every ID token carries the password acr', async () => {
        const { verifier, params: p } = params({
          claims: JSON.stringify({
            id_token: { email: { essential: true }, name: null, acr: { values: ['urn:mfa', ACR_PASSWORD] } },
          }),
        });
        const loc = await authorizeWithLogin(app, new Jar(), p);
        const tokens = (await redeem(loc.searchParams.get('code')!, verifier)).json();
        const id = decodeJwt(tokens.id_token);
        assert.equal(id.email, 'alice@example.com');
        assert.equal(id.name, 'Alice Example');
        assert.equal(id.acr, ACR_PASSWORD);
        // covered by the granted profile scope (id_token_scope_claims, default true)
        assert.equal(id.preferred_username, 'alice');
        const plain = await signedIn();
        // the email scope's claims, without asking by name
        assert.equal(decodeJwt(plain.idToken).email, 'alice@example.com');
        assert.equal(decodeJwt(plain.idToken).acr, ACR_PASSWORD);
      });

      it('userinfo claims beyond the scopes need consent (shown on the page) and then appear at userinfo only', async () => {
        const jar = new Jar();
        await authorizeWithLogin(app, jar, params({ scope: 'openid' }).params); // consent to openid alone
        const { verifier, params: p } = params({
          scope: 'openid',
          claims: JSON.stringify({ userinfo: { email: { essential: true } } }),
        });
        let res = await get(authorizeUrl(p), jar);
        jar.take(res);
        assert.equal(res.statusCode, 303);
        const ia = new URL(res.headers.location as string).pathname;
        assert.match(
          ia,
          /^\/interaction\//,
          'a remembered consent for openid does not cover a claim asked for by name',
        );
        const page = await get(ia, jar);
        assert.match(page.body, /It also asks to see:[\s\S]*<code class="scope-name">email<\/code>/);
        res = await form(
          app,
          `${ia}/consent`,
          { decision: 'allow', csrf: csrfOf(page.body) },
          { cookie: jar.header() },
        );
        const tokens = (
          await redeem(new URL(res.headers.location as string).searchParams.get('code')!, verifier)
        ).json();
        assert.equal(decodeJwt(tokens.id_token).email, undefined);
        const info = (
          await app.server.inject({
            method: 'GET',
            url: '/userinfo',
            headers: { authorization: `Bearer ${tokens.access_token}` },
          })
        ).json();
        assert.equal(info.email, 'alice@example.com');
        assert.equal(info.name, undefined);
        // A token from a request without the claims parameter gets the scope's claims only.
        const plain = (
          await app.server.inject({
            method: 'GET',
            url: '/userinfo',
            headers: { authorization: `Bearer ${(await signedIn()).accessToken}` },
          })
        ).json();
        assert.equal(plain.email, 'alice@example.com'); // email scope
      });

      it('refuses malformed claims (invalid_request at the redirect URI) and oversized ones (a page at /authorize, JSON at /par), storing nothing', async () => {
        for (const claims of ['{not json', '[]', '{"id_token":{"email":true}}', '{"userinfo":"email"}']) {
          const res = await get(authorizeUrl(params({ claims }).params));
          assert.equal(res.statusCode, 303, claims);
          const loc = new URL(res.headers.location as string);
          assert.equal(loc.searchParams.get('error'), 'invalid_request', claims);
          assert.equal(loc.searchParams.get('state'), 'st-1');
        }
        const big = JSON.stringify({ userinfo: { email: null }, pad: 'x'.repeat(5000) });
        const page = await get(authorizeUrl(params({ claims: big }).params));
        assert.equal(page.statusCode, 400);
        assert.match(page.headers['content-type'] as string, /text\/html/);
        const pushed = await form(app, '/par', params({ claims: big }).params, { authorization: basic('web') });
        assert.equal(pushed.statusCode, 400);
        assert.equal(pushed.json().error, 'invalid_request');
        const pushedBad = await form(app, '/par', params({ claims: '{"id_token":' }).params, {
          authorization: basic('web'),
        });
        assert.equal(pushedBad.json().error, 'invalid_request');
      });

      it('an essential acr Tessera cannot satisfy: unmet_authentication_requirements; acr_values and voluntary acr are answered with the real acr', async () => {
        const jar = (await signedIn()).jar;
        const { params: p } = params({
          claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:example:mfa'] } } }),
        });
        const res = await get(authorizeUrl(p), jar);
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.searchParams.get('error'), 'unmet_authentication_requirements');
        assert.equal(loc.searchParams.get('code'), null);
        const { verifier, params: p2 } = params({
          acr_values: 'urn:example:mfa',
          claims: JSON.stringify({ id_token: { acr: { values: ['urn:example:mfa'] } } }),
        });
        const ok = new URL((await get(authorizeUrl(p2), jar)).headers.location as string);
        const tokens = (await redeem(ok.searchParams.get('code')!, verifier)).json();
        assert.equal(decodeJwt(tokens.id_token).acr, ACR_PASSWORD);
      });
    });

    describe('id_token_hint', () => {
      const authorizeHint = async (jar: Jar | undefined, hint: string, extra: Record<string, string> = {}) => {
        const res = await get(authorizeUrl(params({ id_token_hint: hint, ...extra }).params), jar);
        jar?.take(res);
        return { res, loc: res.headers.location ? new URL(res.headers.location as string) : undefined };
      };

      it("the signed-in user's own ID token (even expired) lets prompt=none answer with a code", async () => {
        const { jar, idToken } = await signedIn();
        let { loc } = await authorizeHint(jar, idToken, { prompt: 'none' });
        assert.ok(loc?.searchParams.get('code'), loc?.href);
        const sub = decodeJwt(idToken).sub!;
        const expired = mintIdToken(app.provider.keys().active, {
          issuer: ISSUER,
          sub,
          clientId: 'web',
          now: now() - 7200,
          ttl: 300,
          authTime: null,
          nonce: null,
          accessToken: 'x',
          sid: null,
          amr: [],
        });
        ({ loc } = await authorizeHint(jar, expired, { prompt: 'none' }));
        assert.ok(loc?.searchParams.get('code'), loc?.href);
      });

      it('a hint for another user: login_required with prompt=none, else the login page, never filled in from the hint', async () => {
        const { jar } = await signedIn(ALICE);
        const bob = await signedIn(BOB);
        let { loc } = await authorizeHint(jar, bob.idToken, { prompt: 'none' });
        assert.equal(loc?.searchParams.get('error'), 'login_required');
        ({ loc } = await authorizeHint(jar, bob.idToken));
        assert.match(loc!.pathname, /^\/interaction\//);
        const page = await get(loc!.pathname, jar);
        assert.match(page.body, /name="password"/);
        // The username is a claim the client may not have been granted: the hint does not reveal it.
        assert.doesNotMatch(page.body, /bob/);
        // No session at all: the login page, empty.
        const fresh = new Jar();
        const r = await get(authorizeUrl(params({ id_token_hint: bob.idToken }).params), fresh);
        fresh.take(r);
        const empty = (await get(new URL(r.headers.location as string).pathname, fresh)).body;
        assert.match(empty, /name="password"/);
        assert.doesNotMatch(empty, /bob/);
        assert.doesNotMatch(empty, /name="username"[^>]*value="[^"]+"/);
        // login_hint, which the client sends knowingly, still fills it in.
        const hinted = new Jar();
        const h = await get(authorizeUrl(params({ id_token_hint: bob.idToken, login_hint: 'bob' }).params), hinted);
        hinted.take(h);
        assert.match(
          (await get(new URL(h.headers.location as string).pathname, hinted)).body,
          /name="username" value="bob"/,
        );
      });

      it("a pairwise client's hint is matched to the signed-in user by mapping the user forward: prompt=none answers with a code", async () => {
        await saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: 'pw',
            client_secret: 'pw-secret-0123456789-abcdefghijklmnopq',
            redirect_uris: ['https://pw.example/cb'],
            grant_types: ['authorization_code'],
            scope: 'openid profile',
            subject_type: 'pairwise',
          },
          app.provider.now(),
        );
        const pwParams = (extra: Record<string, string> = {}) => {
          const { verifier, challenge } = pkce();
          return {
            verifier,
            params: {
              client_id: 'pw',
              redirect_uri: 'https://pw.example/cb',
              response_type: 'code',
              scope: 'openid',
              state: 's',
              nonce: 'n',
              code_challenge: challenge,
              code_challenge_method: 'S256',
              ...extra,
            },
          };
        };
        const pwRedeem = (code: string, verifier: string) =>
          form(
            app,
            '/token',
            { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://pw.example/cb' },
            { authorization: basic('pw', 'pw-secret-0123456789-abcdefghijklmnopq') },
          );
        const signIn = async (user: typeof ALICE) => {
          const jar = new Jar();
          const first = pwParams();
          const loc = await authorizeWithLogin(app, jar, first.params, user);
          const tokens = (await pwRedeem(loc.searchParams.get('code')!, first.verifier)).json();
          return { jar, idToken: tokens.id_token as string };
        };
        const alice = await signIn(ALICE);
        const user = (await app.stores.users.findByUsername('alice'))!;
        const sub = decodeJwt(alice.idToken).sub!;
        assert.notEqual(sub, user.id, 'the hint carries a pairwise sub');
        const again = pwParams({ prompt: 'none', id_token_hint: alice.idToken });
        const res = await get(authorizeUrl(again.params), alice.jar);
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.searchParams.get('error'), null, loc.href);
        const code = loc.searchParams.get('code');
        assert.ok(code, loc.href);
        assert.equal(decodeJwt((await pwRedeem(code, again.verifier)).json().id_token).sub, sub);
        // Bob's pairwise hint with Alice's session is another user: login_required.
        const bob = await signIn(BOB);
        const other = await get(
          authorizeUrl(pwParams({ prompt: 'none', id_token_hint: bob.idToken }).params),
          alice.jar,
        );
        assert.equal(new URL(other.headers.location as string).searchParams.get('error'), 'login_required');
      });

      it('refuses hints signed by another key, unsigned (alg none), for another client, from another issuer, or not JWTs', async () => {
        const { jar, idToken } = await signedIn();
        const claims: JWTPayload = { ...decodeJwt(idToken) };
        const foreign = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', kid: app.provider.keys().active.kid, typ: 'JWT' })
          .sign(privateKey);
        const none = new UnsecuredJWT(claims).encode();
        const spaToken = mintIdToken(app.provider.keys().active, {
          issuer: ISSUER,
          sub: claims.sub!,
          clientId: 'spa',
          now: now(),
          ttl: 300,
          authTime: null,
          nonce: null,
          accessToken: 'x',
          sid: null,
          amr: [],
        });
        const otherIss = mintIdToken(app.provider.keys().active, {
          issuer: 'https://other.example',
          sub: claims.sub!,
          clientId: 'web',
          now: now(),
          ttl: 300,
          authTime: null,
          nonce: null,
          accessToken: 'x',
          sid: null,
          amr: [],
        });
        for (const [name, hint] of [
          ['foreign key', foreign],
          ['alg none', none],
          ['wrong aud', spaToken],
          ['wrong iss', otherIss],
          ['garbage', 'not.a.jwt'],
          ['access token', (await signedIn()).accessToken],
        ] as const) {
          const { res, loc } = await authorizeHint(jar, hint, { prompt: 'none' });
          assert.equal(res.statusCode, 303, name);
          assert.equal(loc?.searchParams.get('error'), 'invalid_request', name);
          assert.equal(loc?.searchParams.get('code'), null, name);
        }
        await app.audit.flush();
        const refused = await app.stores.audit.query({ type: 'id_token_hint_refused' });
        // Repeats of one kind are folded into one record with their count (observability/audit.ts).
        assert.ok(
          refused.reduce((n, r) => n + (r.details.repeated === undefined ? 1 : Number(r.details.repeated)), 0) >= 6,
        );
        assert.ok(
          refused.every((r) => r.outcome === 'failure' && r.clientId === 'web' && typeof r.details.reason === 'string'),
        );
        assert.ok(
          refused.some((r) => r.details.reason === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'),
          JSON.stringify(refused.map((r) => r.details)),
        );
        assert.ok(!JSON.stringify(refused).includes(idToken.split('.')[2]!), 'no token in the audit trail');
      });
    });

    describe('prompt values', () => {
      it('select_account with a session: the chooser; continue gives the code, switch leads to the login page', async () => {
        const { jar } = await signedIn();
        const start = async (prompt = 'select_account') => {
          const res = await get(authorizeUrl(params({ prompt }).params), jar);
          jar.take(res);
          const ia = new URL(res.headers.location as string).pathname;
          const page = await get(ia, jar);
          assert.match(page.body, /Choose an account/);
          assert.match(page.body, /Continue as alice/);
          return { ia, csrf: csrfOf(page.body) };
        };
        let { ia, csrf } = await start();
        const forged = await form(
          app,
          `${ia}/select`,
          { decision: 'continue', csrf: 'x'.repeat(43) },
          { cookie: jar.header() },
        );
        assert.equal(forged.statusCode, 403);
        let res = await form(app, `${ia}/select`, { decision: 'continue', csrf }, { cookie: jar.header() });
        jar.take(res);
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.origin + loc.pathname, WEB.redirect_uri);
        assert.ok(loc.searchParams.get('code'));
        // The chooser's interaction is used up.
        assert.equal(
          (await form(app, `${ia}/select`, { decision: 'continue', csrf }, { cookie: jar.header() })).statusCode,
          400,
        );

        // The other prompt values stay: after signing in as someone else, the consent page (prompt=consent).
        ({ ia, csrf } = await start('select_account consent'));
        res = await form(app, `${ia}/select`, { decision: 'switch', csrf }, { cookie: jar.header() });
        jar.take(res);
        const next = new URL(res.headers.location as string).pathname;
        assert.notEqual(next, ia);
        const login = await get(next, jar);
        assert.match(login.body, /name="password"/);
        res = await form(app, `${next}/login`, { ...BOB, csrf: csrfOf(login.body) }, { cookie: jar.header() });
        jar.take(res);
        const consent = await get(new URL(res.headers.location as string).pathname, jar);
        assert.match(consent.body, /your account <strong>bob<\/strong>/);
      });

      it('the chooser refuses bad input without a 500: unknown or malformed uid, no browser cookie, wrong content type, unknown decision', async () => {
        const { jar } = await signedIn();
        const res = await get(authorizeUrl(params({ prompt: 'select_account' }).params), jar);
        jar.take(res);
        const ia = new URL(res.headers.location as string).pathname;
        const csrf = csrfOf((await get(ia, jar)).body);
        assert.equal(
          (await form(app, '/interaction/unknown-uid/select', { decision: 'continue', csrf }, { cookie: jar.header() }))
            .statusCode,
          400,
        );
        assert.equal(
          (await form(app, '/interaction/%3Cx%3E/select', { decision: 'continue', csrf }, { cookie: jar.header() }))
            .statusCode,
          400,
        );
        assert.equal((await form(app, `${ia}/select`, { decision: 'continue', csrf })).statusCode, 403);
        const json = await app.server.inject({
          method: 'POST',
          url: `${ia}/select`,
          payload: JSON.stringify({ decision: 'continue', csrf }),
          headers: { 'content-type': 'application/json', cookie: jar.header() },
        });
        assert.ok(json.statusCode >= 400 && json.statusCode < 500, String(json.statusCode));
        const odd = await form(app, `${ia}/select`, { decision: 'both', csrf }, { cookie: jar.header() });
        assert.equal(odd.statusCode, 200);
        assert.match(odd.body, /Choose an account/);
        // Still usable after all that: nothing was consumed.
        const ok = await form(app, `${ia}/select`, { decision: 'continue', csrf }, { cookie: jar.header() });
        assert.ok(new URL(ok.headers.location as string).searchParams.get('code'));
      });

      it('select_account without a session goes straight to the login page', async () => {
        const jar = new Jar();
        const res = await get(authorizeUrl(params({ prompt: 'select_account' }).params), jar);
        jar.take(res);
        const page = await get(new URL(res.headers.location as string).pathname, jar);
        assert.match(page.body, /name="password"/);
      });

      it('prompt=create is refused (no self-registration) and not advertised', async () => {
        const res = await get(authorizeUrl(params({ prompt: 'create' }).params));
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.searchParams.get('error'), 'invalid_request');
        assert.match(loc.searchParams.get('error_description')!, /prompt=create/);
      });
    });
  });
}
