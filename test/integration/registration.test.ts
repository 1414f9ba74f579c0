import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { createInitialAccessToken } from '../../src/admin/registration.ts';
import { pairwiseSubject } from '../../src/protocol/tokens/subject.ts';
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

const JSON_TYPE = { 'content-type': 'application/json' };
const WEB_META = {
  client_name: 'Registered App',
  redirect_uris: ['https://rp.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid profile offline_access',
};

function post(app: App, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method: 'POST',
    url: '/register',
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { ...JSON_TYPE, ...headers },
  });
}
function manage(
  app: App,
  method: 'GET' | 'PUT' | 'DELETE',
  clientId: string,
  token: string | undefined,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method,
    url: `/register/${clientId}`,
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    headers: { ...(body !== undefined ? JSON_TYPE : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

/** Runs the code flow for a registered client; returns the token response and whether a consent page was shown. */
async function codeFlow(
  app: App,
  client: { client_id: string; client_secret?: string },
  redirectUri: string,
  scope = 'openid profile offline_access',
): Promise<{ tokens: Record<string, string>; consentShown: boolean }> {
  const { verifier, challenge } = pkce();
  const jar = new Jar();
  let res = await app.server.inject({
    method: 'GET',
    url: authorizeUrl({
      client_id: client.client_id,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      state: 's',
      nonce: 'n',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
  });
  jar.take(res);
  let consentShown = false;
  for (let i = 0; i < 4 && (res.headers.location as string).startsWith(`${ISSUER}/interaction/`); i++) {
    const path = new URL(res.headers.location as string).pathname;
    const page = await app.server.inject({ method: 'GET', url: path, headers: { cookie: jar.header() } });
    const csrf = csrfOf(page.body);
    const login = page.body.includes('name="password"');
    if (!login) consentShown = true;
    res = await form(
      app,
      `${path}/${login ? 'login' : 'consent'}`,
      login ? { username: 'alice', password: 'correct horse battery', csrf } : { decision: 'allow', csrf },
      { cookie: jar.header() },
    );
    jar.take(res);
  }
  const code = new URL(res.headers.location as string).searchParams.get('code');
  assert.ok(code, `no code: ${res.headers.location}`);
  const auth: Record<string, string> = client.client_secret
    ? { authorization: basic(client.client_id, client.client_secret) }
    : {};
  const tok = await form(
    app,
    '/token',
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      ...(client.client_secret ? {} : { client_id: client.client_id }),
    },
    auth,
  );
  assert.equal(tok.statusCode, 200, tok.body);
  return { tokens: tok.json(), consentShown };
}

/** A tiny http server on loopback serving a sector identifier document. */
async function sectorServer(
  docs: Record<string, unknown>,
): Promise<{ url: (path: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const doc = docs[req.url ?? ''];
    if (doc === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, close: () => new Promise((r) => server.close(() => r())) };
}

for (const backend of await backends()) {
  describe(`dynamic client registration (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    const apps: App[] = [];
    const open = async (env: Record<string, string> = {}) => {
      const app = await testApp(backend.url!, { TESSERA_RATE_LIMITING: 'false', ...env });
      apps.push(app);
      return app;
    };
    let app: App;
    let sectors: Awaited<ReturnType<typeof sectorServer>>;
    before(async () => {
      app = await open({ TESSERA_REGISTRATION: 'open', TESSERA_METRICS_TOKEN: 'm'.repeat(40) });
      sectors = await sectorServer({
        '/sector.json': ['https://one.example/cb', 'https://two.example/cb'],
        '/partial.json': ['https://one.example/cb'],
        '/not-array.json': { redirect_uris: [] },
      });
    });
    after(async () => {
      for (const a of apps) await a.close();
      await sectors?.close();
      await backend.drop?.();
    });

    it('off (the default): no endpoint, not advertised', async () => {
      const off = await open();
      assert.equal((await post(off, WEB_META)).statusCode, 404);
      assert.equal((await manage(off, 'GET', 'web', 'x')).statusCode, 404);
      const doc = (await off.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
      assert.equal(doc.registration_endpoint, undefined);
      assert.deepEqual(doc.subject_types_supported, ['public', 'pairwise']);
    });

    it('open: registers a confidential client, returns its secret once, and it runs the code flow with a consent page', async () => {
      const doc = (await app.server.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
      assert.equal(doc.registration_endpoint, `${ISSUER}/register`);
      const res = await post(app, {
        ...WEB_META,
        skip_consent: true,
        allowed_resources: ['https://x.example'],
        logo_uri: 'https://rp.example/logo.png',
        policy_uri: 'https://rp.example/privacy',
        contacts: ['ops@rp.example'],
        disabled: false,
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const reg = res.json();
      assert.match(reg.client_id, /^[A-Za-z0-9_-]{22}$/);
      assert.match(reg.client_secret, /^[A-Za-z0-9_-]{43}$/);
      assert.match(reg.registration_access_token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(reg.client_secret_expires_at, 0);
      assert.equal(reg.registration_client_uri, `${ISSUER}/register/${reg.client_id}`);
      assert.deepEqual(reg.response_types, ['code']);
      assert.equal(reg.token_endpoint_auth_method, 'client_secret_basic');
      assert.equal(reg.subject_type, 'public');
      // RFC 7591 section 2: the consent page's URLs are kept and returned.
      assert.equal(reg.logo_uri, 'https://rp.example/logo.png');
      assert.equal(reg.policy_uri, 'https://rp.example/privacy');
      assert.equal(reg.contacts, undefined);
      // Operator-only settings and unknown metadata are ignored, never stored.
      const stored = (await app.stores.clients.get(reg.client_id))!;
      assert.equal(stored.skipConsent, false);
      assert.deepEqual(stored.allowedResources, []);
      assert.equal(stored.metadata.logo_uri, 'https://rp.example/logo.png');
      assert.equal(stored.metadata.contacts, undefined);
      assert.equal(JSON.stringify(stored).includes(reg.registration_access_token), false);
      assert.equal(JSON.stringify(stored).includes(reg.client_secret), false);
      const { tokens, consentShown } = await codeFlow(app, reg, 'https://rp.example/cb');
      assert.ok(consentShown, 'a dynamically registered client never skips consent');
      assert.ok(tokens.id_token && tokens.refresh_token);
    });

    it('RFC 9700 4.11.2: a self-registered client gets no automatic error redirects, and its consent page says its name is unverified', async () => {
      const reg = (await post(app, { ...WEB_META, client_name: 'Totally Official Bank' })).json();
      const { challenge } = pkce();
      const bad = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid not-offered',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(bad.statusCode, 400, 'shown, not redirected');
      assert.match(bad.headers['content-type'] as string, /text\/html/);
      assert.match(bad.body, /invalid_scope/);
      assert.match(bad.body, /href="https:\/\/rp\.example\/cb\?error=invalid_scope/);
      // Silent authentication too (RFC 9700 lists it among the attacks): a page, with the answer as a link.
      const silent = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          prompt: 'none',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(silent.statusCode, 400);
      assert.match(silent.body, /href="https:\/\/rp\.example\/cb\?error=login_required/);
      // An operator-made client still gets the redirect (RFC 6749 section 4.1.2.1).
      const trusted = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: 'web',
          redirect_uri: 'https://app.example/cb',
          response_type: 'code',
          scope: 'openid not-offered',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(trusted.statusCode, 303);
      // The consent page says the name is the client's own claim and where the answer goes.
      const jar = new Jar();
      let res = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      jar.take(res);
      const path = new URL(res.headers.location as string).pathname;
      const login = await app.server.inject({ method: 'GET', url: path, headers: { cookie: jar.header() } });
      res = await form(
        app,
        `${path}/login`,
        { username: 'alice', password: 'correct horse battery', csrf: csrfOf(login.body) },
        { cookie: jar.header() },
      );
      jar.take(res);
      const consent = await app.server.inject({
        method: 'GET',
        url: new URL(res.headers.location as string).pathname,
        headers: { cookie: jar.header() },
      });
      assert.match(consent.body, /Allow access\?/);
      assert.match(consent.body, /registered itself/);
      assert.match(consent.body, /<strong>rp\.example<\/strong>/);
    });

    it('registers public native clients and clients with keys; defaults follow RFC 7591', async () => {
      const res = await post(app, {
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/cb', 'com.example.rp:/cb'],
      });
      assert.equal(res.statusCode, 201, res.body);
      const reg = res.json();
      assert.equal(reg.client_secret, undefined);
      assert.equal(reg.client_secret_expires_at, undefined);
      assert.deepEqual(reg.grant_types, ['authorization_code']);
      const { tokens } = await codeFlow(app, reg, 'http://127.0.0.1:5555/cb', 'openid');
      assert.ok(tokens.access_token);
      // private_key_jwt with inline public keys: no secret at all.
      const { publicKey } = await generateKeyPair('ES256');
      const keyed = await post(app, {
        ...WEB_META,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] },
      });
      assert.equal(keyed.statusCode, 201, keyed.body);
      assert.equal(keyed.json().client_secret, undefined);
      assert.equal(keyed.json().jwks.keys[0].kid, 'k1');
      // client_secret_jwt: a generated secret, kept wrapped for HMAC verification.
      const hmac = await post(app, { ...WEB_META, token_endpoint_auth_method: 'client_secret_jwt' });
      assert.equal(hmac.statusCode, 201, hmac.body);
      assert.equal(hmac.json().client_secret_expires_at, 0);
      const stored = (await app.stores.clients.get(hmac.json().client_id))!;
      assert.equal(typeof stored.metadata.client_secret_jwe, 'string');
      assert.equal(hmac.json().client_secret_jwe, undefined);
    });

    it('registers JARM, logout-channel and certificate-binding metadata, validated as for operator-made clients', async () => {
      const res = await post(app, {
        ...WEB_META,
        authorization_signed_response_alg: 'ES256',
        backchannel_logout_uri: 'https://app.example/bcl',
        backchannel_logout_session_required: true,
        frontchannel_logout_uri: 'https://rp.example/fcl',
      });
      assert.equal(res.statusCode, 201, res.body);
      const reg = res.json();
      assert.equal(reg.authorization_signed_response_alg, 'ES256');
      assert.equal(reg.backchannel_logout_uri, 'https://app.example/bcl');
      assert.equal(reg.backchannel_logout_session_required, true);
      assert.equal(reg.frontchannel_logout_uri, 'https://rp.example/fcl');
      const stored = (await app.stores.clients.get(reg.client_id))!;
      assert.equal(stored.metadata.backchannel_logout_uri, 'https://app.example/bcl');
      for (const bad of [
        { backchannel_logout_uri: 'http://10.0.0.1/bcl' },
        { frontchannel_logout_uri: 'https://elsewhere.example/fcl' },
        { authorization_signed_response_alg: 'none' },
        { tls_client_certificate_bound_access_tokens: 'yes' },
      ]) {
        const refused = await post(app, { ...WEB_META, ...bad });
        assert.equal(refused.statusCode, 400, JSON.stringify(bad));
        assert.equal(refused.json().error, 'invalid_client_metadata', refused.body);
      }
    });

    it('refuses every bad-input class with an RFC 7591 error and stores nothing', async () => {
      const before = (await app.stores.clients.list()).length;
      const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
        ['malformed JSON', () => post(app, '{"redirect_uris": ['), 400, 'invalid_client_metadata'],
        ['JSON that is not an object', () => post(app, '["https://rp.example/cb"]'), 400, 'invalid_client_metadata'],
        ['empty body', () => post(app, ''), 400, 'invalid_client_metadata'],
        [
          'form body',
          () =>
            app.server.inject({
              method: 'POST',
              url: '/register',
              payload: 'redirect_uris=https://rp.example/cb',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
            }),
          400,
          'invalid_request',
        ],
        [
          'no content type',
          () =>
            app.server.inject({
              method: 'POST',
              url: '/register',
              payload: JSON.stringify(WEB_META),
              headers: { 'content-type': '' },
            }),
          415,
          'invalid_request',
        ],
        [
          'text/plain',
          () => post(app, JSON.stringify(WEB_META), { 'content-type': 'text/plain' }),
          400,
          'invalid_request',
        ],
        ['oversized', () => post(app, { ...WEB_META, client_name: 'x'.repeat(70_000) }), 413, 'invalid_request'],
        [
          'query string',
          () =>
            app.server.inject({
              method: 'POST',
              url: '/register?client_secret=x',
              payload: JSON.stringify(WEB_META),
              headers: JSON_TYPE,
            }),
          400,
          'invalid_request',
        ],
        [
          'http redirect URI',
          () => post(app, { redirect_uris: ['http://rp.example/cb'] }),
          400,
          'invalid_redirect_uri',
        ],
        ['fragment', () => post(app, { redirect_uris: ['https://rp.example/cb#x'] }), 400, 'invalid_redirect_uri'],
        [
          'custom scheme for a web client',
          () => post(app, { redirect_uris: ['com.example.rp:/cb'] }),
          400,
          'invalid_redirect_uri',
        ],
        [
          'javascript: URI',
          () => post(app, { application_type: 'native', redirect_uris: ['javascript:alert(1)'] }),
          400,
          'invalid_redirect_uri',
        ],
        [
          'no redirect URI for the code grant',
          () => post(app, { grant_types: ['authorization_code'] }),
          400,
          'invalid_client_metadata',
        ],
        [
          'redirect_uris not an array',
          () => post(app, { redirect_uris: 'https://rp.example/cb' }),
          400,
          'invalid_client_metadata',
        ],
        [
          'jwks and jwks_uri',
          () =>
            post(app, {
              ...WEB_META,
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: {
                keys: [
                  {
                    kty: 'EC',
                    crv: 'P-256',
                    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
                    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
                  },
                ],
              },
              jwks_uri: 'https://rp.example/jwks',
            }),
          400,
          'invalid_client_metadata',
        ],
        [
          'private key in jwks',
          () =>
            post(app, {
              ...WEB_META,
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] },
            }),
          400,
          'invalid_client_metadata',
        ],
        [
          'RSA key of 16384 bits in jwks',
          () =>
            post(app, {
              ...WEB_META,
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [{ kty: 'RSA', e: 'AQAB', n: Buffer.alloc(2048, 0xff).toString('base64url') }] },
            }),
          400,
          'invalid_client_metadata',
        ],
        [
          'RSA key with e = 3 in jwks',
          () =>
            post(app, {
              ...WEB_META,
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: { keys: [{ kty: 'RSA', e: 'Aw', n: Buffer.alloc(256, 0xff).toString('base64url') }] },
            }),
          400,
          'invalid_client_metadata',
        ],
        [
          'EC key off the named curves in jwks',
          () =>
            post(app, {
              ...WEB_META,
              token_endpoint_auth_method: 'private_key_jwt',
              jwks: {
                keys: [
                  {
                    kty: 'EC',
                    crv: 'secp256k1',
                    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
                    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
                  },
                ],
              },
            }),
          400,
          'invalid_client_metadata',
        ],
        [
          'unknown auth method',
          () => post(app, { ...WEB_META, token_endpoint_auth_method: 'tls_client_auth_x' }),
          400,
          'invalid_client_metadata',
        ],
        [
          'public client with client_credentials',
          () => post(app, { token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] }),
          400,
          'invalid_client_metadata',
        ],
        [
          'token exchange (operator only)',
          () => post(app, { grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] }),
          400,
          'invalid_client_metadata',
        ],
        ['implicit grant', () => post(app, { ...WEB_META, grant_types: ['implicit'] }), 400, 'invalid_client_metadata'],
        [
          'response type token',
          () => post(app, { ...WEB_META, response_types: ['token'] }),
          400,
          'invalid_client_metadata',
        ],
        [
          'response_types without the grant',
          () => post(app, { grant_types: ['client_credentials'], response_types: ['code'] }),
          400,
          'invalid_client_metadata',
        ],
        ['scope not offered', () => post(app, { ...WEB_META, scope: 'openid admin' }), 400, 'invalid_client_metadata'],
        ['client_name not a string', () => post(app, { ...WEB_META, client_name: 42 }), 400, 'invalid_client_metadata'],
        [
          'subject_type unknown',
          () => post(app, { ...WEB_META, subject_type: 'secret' }),
          400,
          'invalid_client_metadata',
        ],
        [
          'malformed software statement',
          () => post(app, { ...WEB_META, software_statement: 'not-a-jwt' }),
          400,
          'invalid_software_statement',
        ],
        [
          'software statement',
          async () =>
            post(app, {
              ...WEB_META,
              software_statement: await new SignJWT({ software_id: 'x' })
                .setProtectedHeader({ alg: 'HS256' })
                .sign(new Uint8Array(32)),
            }),
          400,
          'unapproved_software_statement',
        ],
      ];
      for (const [name, send, status, error] of cases) {
        const res = await send();
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(res.json().error, error, name);
        assert.equal(typeof res.json().error_description, 'string', name);
      }
      assert.equal((await app.stores.clients.list()).length, before);
    });

    it('manages a client with its registration access token (RFC 7592): read, update (token rotated), delete (tokens revoked)', async () => {
      const reg = (await post(app, WEB_META)).json();
      // Read: never the secret or the token again.
      const read = await manage(app, 'GET', reg.client_id, reg.registration_access_token);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.headers['cache-control'], 'no-store');
      assert.equal(read.json().client_secret, undefined);
      assert.equal(read.json().registration_access_token, undefined);
      assert.deepEqual(read.json().redirect_uris, WEB_META.redirect_uris);
      // Wrong, missing, or another client's token: 401 with an RFC 6750 challenge.
      const other = (await post(app, WEB_META)).json();
      for (const token of ['wrong', other.registration_access_token, reg.client_secret]) {
        const res = await manage(app, 'GET', reg.client_id, token);
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error, 'invalid_token');
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="tessera", error="invalid_token"');
      }
      const none = await manage(app, 'GET', reg.client_id, undefined);
      assert.equal(none.statusCode, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="tessera"');
      assert.equal(
        (await manage(app, 'GET', 'web', reg.registration_access_token)).statusCode,
        401,
        'operator-made clients are not managed here',
      );
      assert.equal((await manage(app, 'GET', 'no-such-client', reg.registration_access_token)).statusCode, 401);

      // Update: every member is replaced; the client must name itself and may not choose a secret.
      const update = {
        client_id: reg.client_id,
        client_name: 'Renamed',
        redirect_uris: ['https://rp.example/cb2'],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid offline_access',
      };
      assert.equal(
        (
          await manage(app, 'PUT', reg.client_id, reg.registration_access_token, {
            ...update,
            client_id: other.client_id,
          })
        ).json().error,
        'invalid_client_metadata',
      );
      assert.equal(
        (
          await manage(app, 'PUT', reg.client_id, reg.registration_access_token, {
            ...update,
            client_secret: 'chosen-by-client',
          })
        ).json().error,
        'invalid_client_metadata',
      );
      assert.equal(
        (
          await manage(app, 'PUT', reg.client_id, reg.registration_access_token, {
            ...update,
            registration_access_token: 'x',
          })
        ).json().error,
        'invalid_client_metadata',
      );
      assert.equal(
        (
          await manage(app, 'PUT', reg.client_id, reg.registration_access_token, {
            ...update,
            redirect_uris: ['http://evil.example/cb'],
          })
        ).json().error,
        'invalid_redirect_uri',
      );
      assert.equal(
        (await app.stores.clients.get(reg.client_id))!.clientName,
        'Registered App',
        'refused updates change nothing',
      );
      const put = await manage(app, 'PUT', reg.client_id, reg.registration_access_token, {
        ...update,
        client_secret: reg.client_secret,
      });
      assert.equal(put.statusCode, 200, put.body);
      const updated = put.json();
      assert.equal(updated.client_name, 'Renamed');
      assert.deepEqual(updated.redirect_uris, ['https://rp.example/cb2']);
      assert.equal(updated.client_secret, undefined, 'the secret is kept, not re-issued');
      assert.notEqual(updated.registration_access_token, reg.registration_access_token);
      assert.equal(
        (await manage(app, 'GET', reg.client_id, reg.registration_access_token)).statusCode,
        401,
        'the old token stops working',
      );
      assert.equal((await manage(app, 'GET', reg.client_id, updated.registration_access_token)).statusCode, 200);

      // Tokens issued to the client, then delete: they stop working.
      const { tokens } = await codeFlow(app, reg, 'https://rp.example/cb2', 'openid offline_access');
      const del = await manage(app, 'DELETE', reg.client_id, updated.registration_access_token);
      assert.equal(del.statusCode, 204, del.body);
      assert.equal(del.body, '');
      assert.equal(await app.stores.clients.get(reg.client_id), undefined);
      const userinfo = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(userinfo.statusCode, 401);
      const introspection = await form(
        app,
        '/introspect',
        { token: tokens.access_token },
        { authorization: basic('rs') },
      );
      assert.equal(introspection.json().active, false);
      assert.equal(
        (await form(app, '/introspect', { token: tokens.refresh_token }, { authorization: basic('rs') })).json().active,
        false,
      );
      assert.equal((await manage(app, 'GET', reg.client_id, updated.registration_access_token)).statusCode, 401);
      await app.audit.flush();
      const audit = await app.stores.audit.query({});
      const types = audit.filter((e) => e.clientId === reg.client_id).map((e) => e.type);
      for (const t of ['client_registered', 'client_updated', 'client_deleted'])
        assert.ok(types.includes(t), `audit has ${t}`);
      const metrics = (
        await app.server.inject({ url: '/metrics', headers: { authorization: `Bearer ${'m'.repeat(40)}` } })
      ).body;
      for (const outcome of ['registered', 'updated', 'deleted', 'refused'])
        assert.match(
          metrics,
          new RegExp(`tessera_client_registrations_total\\{outcome="${outcome}"\\} [1-9]`),
          outcome,
        );
      const text = JSON.stringify(audit);
      for (const secret of [reg.client_secret, reg.registration_access_token, updated.registration_access_token])
        assert.equal(text.includes(secret), false);
    });

    it('initial_access_token: a valid token is required; uses and expiry are enforced atomically', async () => {
      const iat = await open({ TESSERA_REGISTRATION: 'initial_access_token' });
      const now = iat.provider.now();
      const missing = await post(iat, WEB_META);
      assert.equal(missing.statusCode, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="tessera"');
      const wrong = await post(iat, WEB_META, { authorization: 'Bearer not-a-token' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="tessera", error="invalid_token"');
      const expired = await createInitialAccessToken(iat.stores, now - 120, { expiresIn: 60 });
      assert.equal((await post(iat, WEB_META, { authorization: `Bearer ${expired.token}` })).statusCode, 401);
      const twice = await createInitialAccessToken(iat.stores, now, { uses: 2 });
      const auth = { authorization: `Bearer ${twice.token}` };
      // Bad metadata does not spend a use.
      assert.equal((await post(iat, { redirect_uris: ['http://x.example/cb'] }, auth)).statusCode, 400);
      assert.equal((await post(iat, WEB_META, auth)).statusCode, 201);
      assert.equal((await post(iat, WEB_META, auth)).statusCode, 201);
      assert.equal((await post(iat, WEB_META, auth)).statusCode, 401);
      const once = await createInitialAccessToken(iat.stores, now, { uses: 1 });
      const before = (await iat.stores.clients.list()).length;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => post(iat, WEB_META, { authorization: `Bearer ${once.token}` })),
      );
      assert.equal(results.filter((r) => r.statusCode === 201).length, 1, results.map((r) => r.statusCode).join());
      assert.equal(results.filter((r) => r.statusCode === 401).length, 19);
      assert.equal((await iat.stores.clients.list()).length, before + 1);
      const unlimited = await createInitialAccessToken(iat.stores, now);
      for (let i = 0; i < 3; i++)
        assert.equal((await post(iat, WEB_META, { authorization: `Bearer ${unlimited.token}` })).statusCode, 201);
      assert.equal(await iat.stores.initialAccessTokens.revoke(unlimited.record.id), true);
      assert.equal((await post(iat, WEB_META, { authorization: `Bearer ${unlimited.token}` })).statusCode, 401);
    });

    it('admin_approval: the client is created disabled and works once an operator enables it', async () => {
      const approval = await open({ TESSERA_REGISTRATION: 'admin_approval' });
      const res = await post(approval, WEB_META);
      assert.equal(res.statusCode, 201, res.body);
      const reg = res.json();
      assert.equal(reg.tessera_client_status, 'pending_approval');
      const { challenge } = pkce();
      const refused = await approval.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(refused.statusCode, 400);
      assert.match(refused.headers['content-type'] as string, /text\/html/);
      // The client cannot approve itself through an update.
      const put = await manage(approval, 'PUT', reg.client_id, reg.registration_access_token, {
        ...WEB_META,
        client_id: reg.client_id,
        disabled: false,
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().tessera_client_status, 'pending_approval');
      const stored = (await approval.stores.clients.get(reg.client_id))!;
      await approval.stores.clients.put({ ...stored, disabled: false });
      const { tokens } = await codeFlow(approval, reg, 'https://rp.example/cb');
      assert.ok(tokens.access_token);
    });

    it('registers FAPI 2.0 and RFC 9396 metadata: the profile restricts the client at once; types must be offered; omitted on update, both are reset', async () => {
      const rar = await open({
        TESSERA_REGISTRATION: 'open',
        TESSERA_AUTHORIZATION_DETAILS_TYPES: 'payment_initiation account_information',
      });
      const { publicKey } = await generateKeyPair('ES256');
      const keyed = {
        ...WEB_META,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] },
      };
      const res = await post(rar, {
        ...keyed,
        fapi_profile: '2.0',
        fapi_message_signing: true,
        authorization_details_types: ['payment_initiation'],
      });
      assert.equal(res.statusCode, 201, res.body);
      const reg = res.json();
      assert.equal(reg.fapi_profile, '2.0');
      assert.equal(reg.fapi_message_signing, true);
      assert.deepEqual(reg.authorization_details_types, ['payment_initiation']);
      const stored = (await rar.stores.clients.get(reg.client_id))!;
      assert.equal(stored.metadata.fapi_profile, '2.0');
      assert.deepEqual(stored.metadata.authorization_details_types, ['payment_initiation']);
      // The profile applies: a plain (not pushed) authorization request is refused (on a page: a
      // self-registered client gets no automatic error redirect).
      const plain = await rar.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          state: 's',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(plain.statusCode, 400, plain.body);
      assert.match(plain.body, /invalid_request/);
      assert.match(plain.body, /pushed/);
      // Refusals: a FAPI client with a shared secret, another profile, types not offered, not a list.
      for (const [body, why] of [
        [{ ...WEB_META, fapi_profile: '2.0' }, 'FAPI with client_secret_basic'],
        [{ ...keyed, fapi_profile: '1.0' }, 'unknown profile'],
        [{ ...keyed, fapi_profile: true }, 'profile not a string'],
        [{ ...WEB_META, authorization_details_types: ['unknown_type'] }, 'type not offered'],
        [{ ...WEB_META, authorization_details_types: 'payment_initiation' }, 'types not an array'],
        [{ ...WEB_META, authorization_details_types: [1] }, 'types not strings'],
      ] as const) {
        const bad = await post(rar, body);
        assert.equal(bad.statusCode, 400, `${why}: ${bad.body}`);
        assert.equal(bad.json().error, 'invalid_client_metadata', why);
      }
      // Without RAR types configured, no type can be registered.
      assert.equal(
        (await post(app, { ...WEB_META, authorization_details_types: ['payment_initiation'] })).json().error,
        'invalid_client_metadata',
      );
      // RFC 7592 section 2.2: an update without the members resets them.
      const put = await manage(rar, 'PUT', reg.client_id, reg.registration_access_token, {
        ...keyed,
        client_id: reg.client_id,
      });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().fapi_profile, undefined);
      assert.equal(put.json().authorization_details_types, undefined);
      const after = (await rar.stores.clients.get(reg.client_id))!;
      assert.equal(after.metadata.fapi_profile, undefined);
      assert.equal(after.metadata.fapi_message_signing, undefined);
      assert.equal(after.metadata.authorization_details_types, undefined);
    });

    it('the registration rate limit applies to /register', async () => {
      const limited = await open({
        TESSERA_REGISTRATION: 'open',
        TESSERA_RATE_LIMITING: 'true',
        TESSERA_RATE_LIMITS: 'registration.ip=2/60s',
      });
      assert.equal((await post(limited, WEB_META)).statusCode, 201);
      assert.equal((await post(limited, '{')).statusCode, 400);
      const third = await post(limited, WEB_META);
      assert.equal(third.statusCode, 429);
      assert.ok(Number(third.headers['retry-after']) > 0);
    });

    it('pairwise subjects: stable per sector, different across sectors, consistent in every token and answer', async () => {
      const register = async (meta: Record<string, unknown>) => {
        const res = await post(app, {
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile offline_access',
          subject_type: 'pairwise',
          ...meta,
        });
        assert.equal(res.statusCode, 201, res.body);
        return res.json();
      };
      const a1 = await register({ redirect_uris: ['https://a.example/cb'] });
      const a2 = await register({ redirect_uris: ['https://a.example/other'] });
      const b = await register({ redirect_uris: ['https://b.example/cb'] });
      const s = await register({
        redirect_uris: ['https://one.example/cb', 'https://two.example/cb'],
        sector_identifier_uri: sectors.url('/sector.json'),
      });
      assert.equal(a1.subject_type, 'pairwise');
      assert.equal(s.sector_identifier_uri, sectors.url('/sector.json'));
      const alice = (await app.stores.users.findByUsername('alice'))!;
      const flows = await Promise.all([a1, a2, b, s].map((c) => codeFlow(app, c, c.redirect_uris[0])));
      const subs = flows.map((f) => decodeJwt(f.tokens.id_token!).sub);
      assert.equal(subs[0], subs[1], 'same sector, same sub');
      assert.notEqual(subs[0], subs[2], 'another sector, another sub');
      assert.notEqual(subs[0], subs[3]);
      for (const sub of subs) assert.notEqual(sub, alice.id);
      // The access token, userinfo and introspection (access and refresh tokens) all say the same sub.
      const { tokens } = flows[2]!;
      assert.equal(decodeJwt(tokens.access_token!).sub, subs[2]);
      const userinfo = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(userinfo.statusCode, 200, userinfo.body);
      assert.equal(userinfo.json().sub, subs[2]);
      assert.equal(userinfo.json().name, 'Alice Example');
      assert.equal(
        (await form(app, '/introspect', { token: tokens.access_token! }, { authorization: basic('rs') })).json().sub,
        subs[2],
      );
      const refreshed = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
        { authorization: basic(b.client_id, b.client_secret) },
      );
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(decodeJwt(refreshed.json().id_token).sub, subs[2]);
      assert.equal(decodeJwt(refreshed.json().access_token).sub, subs[2]);
      const rIntro = await form(
        app,
        '/introspect',
        { token: refreshed.json().refresh_token },
        { authorization: basic(b.client_id, b.client_secret) },
      );
      assert.equal(rIntro.json().sub, subs[2]);
      // A public client still sees the local id.
      const pub = await codeFlow(app, (await post(app, WEB_META)).json(), 'https://rp.example/cb');
      assert.equal(decodeJwt(pub.tokens.id_token!).sub, alice.id);
    });

    it('token exchange maps a pairwise subject through the grant: the exchanging client gets its own subject for the user', async () => {
      const source = (
        await post(app, {
          redirect_uris: ['https://src.example/cb'],
          subject_type: 'pairwise',
          scope: 'openid profile',
        })
      ).json();
      const GW_SECRET = 'gateway-secret-0123456789-abcdefghijklmnop';
      const gateway = { client_id: 'pairwise-gateway', client_secret: GW_SECRET };
      await saveClient(
        app.stores,
        app.provider.config,
        {
          ...gateway,
          grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
          redirect_uris: [],
          scope: 'openid profile',
          subject_type: 'pairwise',
          sector_identifier_uri: sectors.url('/sector.json'),
          token_exchange: { audiences: ['https://orders.example'], subject_clients: [source.client_id] },
        },
        app.provider.now(),
        {},
        app.provider.outbound,
      );
      const { tokens } = await codeFlow(app, source, 'https://src.example/cb', 'openid profile');
      const alice = (await app.stores.users.findByUsername('alice'))!;
      const secret = app.provider.config.secret;
      assert.equal(decodeJwt(tokens.access_token!).sub, pairwiseSubject(secret, 'src.example', alice.id));
      const exchanged = await form(
        app,
        '/token',
        {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: tokens.access_token!,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          audience: 'https://orders.example',
        },
        { authorization: basic(gateway.client_id, GW_SECRET) },
      );
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      assert.equal(decodeJwt(exchanged.json().access_token).sub, pairwiseSubject(secret, '127.0.0.1', alice.id));
    });

    it('pairwise registration rules: sector_identifier_uri fetched safely and must list every redirect URI', async () => {
      const bad: [string, Record<string, unknown>][] = [
        ['several hosts without a sector', { redirect_uris: ['https://one.example/cb', 'https://two.example/cb'] }],
        [
          'sector document missing a redirect URI',
          {
            redirect_uris: ['https://one.example/cb', 'https://two.example/cb'],
            sector_identifier_uri: sectors.url('/partial.json'),
          },
        ],
        [
          'sector document not an array',
          { redirect_uris: ['https://one.example/cb'], sector_identifier_uri: sectors.url('/not-array.json') },
        ],
        [
          'sector document missing',
          { redirect_uris: ['https://one.example/cb'], sector_identifier_uri: sectors.url('/404.json') },
        ],
        [
          'sector on a private address',
          { redirect_uris: ['https://one.example/cb'], sector_identifier_uri: 'https://10.0.0.1/sector.json' },
        ],
        [
          'sector over http to a public host',
          { redirect_uris: ['https://one.example/cb'], sector_identifier_uri: 'http://one.example/sector.json' },
        ],
        [
          'sector with a fragment',
          { redirect_uris: ['https://one.example/cb'], sector_identifier_uri: 'https://one.example/s#x' },
        ],
      ];
      const before = (await app.stores.clients.list()).length;
      for (const [name, meta] of bad) {
        const res = await post(app, { subject_type: 'pairwise', ...meta });
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(res.json().error, 'invalid_client_metadata', name);
      }
      assert.equal((await app.stores.clients.list()).length, before);
    });

    it('a pairwise id_token_hint ends the session without asking (the session user is mapped forward)', async () => {
      const reg = (
        await post(app, {
          redirect_uris: ['https://c.example/cb'],
          post_logout_redirect_uris: ['https://c.example/bye'],
          subject_type: 'pairwise',
        })
      ).json();
      const { verifier, challenge } = pkce();
      const jar = new Jar();
      const redirect = await authorizeWithLogin(app, jar, {
        client_id: reg.client_id,
        redirect_uri: 'https://c.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const tok = (
        await form(
          app,
          '/token',
          {
            grant_type: 'authorization_code',
            code: redirect.searchParams.get('code')!,
            code_verifier: verifier,
            redirect_uri: 'https://c.example/cb',
          },
          { authorization: basic(reg.client_id, reg.client_secret) },
        )
      ).json();
      // With its post_logout_redirect_uri the user is asked first: the client registered itself (RFC 9700 section
      // 4.11.2).
      const asked = await app.server.inject({
        method: 'GET',
        url: `/logout?${new URLSearchParams({ id_token_hint: tok.id_token, post_logout_redirect_uri: 'https://c.example/bye' })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(asked.statusCode, 200);
      assert.match(asked.body, /name="confirm"/);
      const res = await app.server.inject({
        method: 'GET',
        url: `/logout?${new URLSearchParams({ id_token_hint: tok.id_token })}`,
        headers: { cookie: jar.header() },
      });
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      assert.match(res.body, /You are signed out/);
      assert.match(String(res.headers['set-cookie']), /tessera_session=;/);
    });
  });
}
