// Issue 13, dynamic registration hardening, through the real /register endpoint on SQLite and
// PostgreSQL: client names (point 6), least privilege for self-registered clients and the registry
// of resource servers (point 7), per-client pairwise sectors (point 9), outbound URL literals (point 15).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type App } from '../../src/app.ts';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { loadConfig } from '../../src/config/config.ts';
import { describeResource } from '../../src/protocol/resources.ts';
import { pairwiseSubject } from '../../src/protocol/tokens/subject.ts';
import { pino } from 'pino';
import {
  authorizeUrl,
  authorizeWithLogin,
  backends,
  basic,
  form,
  Jar,
  pkce,
  SECRETS,
  testApp,
} from '../fixtures/app.ts';
import { dpopProof, newKey } from '../fixtures/client-keys.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const ORDERS = 'https://orders.example/api';
const NOW = () => Math.floor(Date.now() / 1000);

function register(app: App, body: unknown): Promise<LightMyRequestResponse> {
  return app.server.inject({ method: 'POST', url: '/register', payload: JSON.stringify(body), headers: JSON_TYPE });
}

/** Code flow up to the token response, for a client whose consent is given by alice. */
async function codeTokens(
  app: App,
  client: { client_id: string; client_secret?: string },
  redirectUri: string,
  extra: Record<string, string> = {},
  tokenHeaders: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const { verifier, challenge } = pkce();
  const location = await authorizeWithLogin(app, new Jar(), {
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  const code = location.searchParams.get('code');
  assert.ok(code, `no code: ${location}`);
  const auth: Record<string, string> = client.client_secret
    ? { authorization: basic(client.client_id, client.client_secret) }
    : {};
  return form(
    app,
    '/token',
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      ...(client.client_secret ? {} : { client_id: client.client_id }),
    },
    { ...auth, ...tokenHeaders },
  );
}

for (const backend of await backends()) {
  describe(`registration hardening (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    const apps: App[] = [];
    const open = async (env: Record<string, string> = {}) => {
      const app = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_EXTRA_SCOPES: 'api:read api:write orders.read orders.write',
        ...env,
      });
      apps.push(app);
      return app;
    };
    let app: App;
    before(async () => {
      app = await open();
      await saveResourceServer(
        app.stores,
        app.provider.config,
        {
          identifier: ORDERS,
          display_name: 'Orders API',
          scopes: { 'orders.read': 'See your orders' },
          access_token_ttl: 120,
          dpop: 'optional',
        },
        NOW(),
      );
    });
    after(async () => {
      for (const a of apps) await a.close();
      await backend.drop?.();
    });

    // ---- point 6: client names -------------------------------------------------------------
    it('refuses client names with control characters, bidi overrides or line breaks, and stores nothing', async () => {
      const before = (await app.stores.clients.list()).length;
      for (const name of [
        'Good\u202Egnp.exe',
        'Two\nlines',
        'Esc\u001b[31mred',
        'Next\u0085line',
        'Sep\u2028x',
        'Iso\u2066late',
        'Mark\u200F',
        'Arabic\u061Cmark',
        'Tab\there',
        'Nul\u0000',
      ]) {
        const res = await register(app, { client_name: name, redirect_uris: ['https://rp.example/cb'] });
        assert.equal(res.statusCode, 400, JSON.stringify(name));
        assert.equal(res.json().error, 'invalid_client_metadata');
        assert.match(res.json().error_description, /client_name must not contain control characters/);
      }
      assert.equal((await app.stores.clients.list()).length, before);
      // A name in any script, with emoji and joiners, is fine.
      const ok = await register(app, { client_name: 'Ünïcødé 名前 👩‍💻', redirect_uris: ['https://rp.example/cb'] });
      assert.equal(ok.statusCode, 201, ok.body);
      // The bootstrap file (and the CLI, through the same buildClient) refuses them too.
      await assert.rejects(
        applyBootstrap(
          app.stores,
          app.provider.config,
          { clients: [{ client_id: 'bad-name', client_name: 'x\u202Ey', redirect_uris: ['https://rp.example/cb'] }] },
          NOW(),
        ),
        (err: Error) => err instanceof AdminError && /client_name must not contain/.test(err.message),
      );
      assert.equal(await app.stores.clients.get('bad-name'), undefined);
    });

    // ---- point 7: least privilege -----------------------------------------------------------
    it('by default a self-registered client gets the authorization code and refresh grants and the OpenID scopes, nothing more', async () => {
      for (const [meta, what] of [
        [
          { grant_types: ['client_credentials'], response_types: [] },
          /grant type client_credentials cannot be registered dynamically on this server \(allowed: authorization_code, refresh_token\)/,
        ],
        [
          { grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], response_types: [], redirect_uris: [] },
          /device_code cannot be registered/,
        ],
        [
          { redirect_uris: ['https://rp.example/cb'], scope: 'openid orders.read' },
          /scope orders.read is not offered to dynamically registered clients/,
        ],
        [{ redirect_uris: ['https://rp.example/cb'], scope: 'api:write' }, /scope api:write/],
      ] as const) {
        const res = await register(app, meta);
        assert.equal(res.statusCode, 400, JSON.stringify(meta));
        assert.equal(res.json().error, 'invalid_client_metadata');
        assert.match(res.json().error_description, what);
      }
      const reg = (
        await register(app, {
          redirect_uris: ['https://rp.example/cb'],
          grant_types: ['authorization_code', 'refresh_token'],
        })
      ).json();
      assert.deepEqual(reg.grant_types, ['authorization_code', 'refresh_token']);
      assert.equal(reg.scope, 'openid profile email offline_access');
    });

    it('the operator widens the ceiling with TESSERA_REGISTRATION_GRANT_TYPES and TESSERA_REGISTRATION_SCOPES', async () => {
      const wide = await open({
        TESSERA_REGISTRATION_GRANT_TYPES: 'authorization_code refresh_token client_credentials',
        TESSERA_REGISTRATION_SCOPES: 'openid orders.read',
      });
      const res = await register(wide, {
        grant_types: ['client_credentials'],
        response_types: [],
        scope: 'orders.read',
      });
      assert.equal(res.statusCode, 201, res.body);
      const reg = res.json();
      // Without a registry entry, only the default audience: an arbitrary URI is refused.
      const arbitrary = await form(
        wide,
        '/token',
        { grant_type: 'client_credentials', resource: 'https://victim.example/api' },
        { authorization: basic(reg.client_id, reg.client_secret) },
      );
      assert.equal(arbitrary.statusCode, 400, arbitrary.body);
      assert.equal(arbitrary.json().error, 'invalid_target');
      const plain = await form(
        wide,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(reg.client_id, reg.client_secret) },
      );
      assert.equal(plain.statusCode, 200, plain.body);
      assert.equal(decodeJwt(plain.json().access_token).aud, wide.provider.config.defaultAudience);
      // A registry resource: its lifetime, and its scopes.
      const WIDE = 'https://wide.example/api';
      await saveResourceServer(
        wide.stores,
        wide.provider.config,
        {
          identifier: WIDE,
          display_name: 'Wide API',
          scopes: { 'orders.read': 'See your orders' },
          access_token_ttl: 90,
        },
        NOW(),
      );
      const tok = await form(
        wide,
        '/token',
        { grant_type: 'client_credentials', resource: WIDE },
        { authorization: basic(reg.client_id, reg.client_secret) },
      );
      assert.equal(tok.statusCode, 200, tok.body);
      const at = decodeJwt(tok.json().access_token);
      assert.equal(at.aud, WIDE);
      assert.equal(at.exp! - at.iat!, 90);
      assert.equal(tok.json().expires_in, 90);
      assert.equal(at.scope, 'orders.read');
      // Registered under a wider setting: scopes beyond today's ceiling are neither defaulted nor granted.
      const older = await saveClient(
        wide.stores,
        wide.provider.config,
        {
          client_id: 'older-cc',
          grant_types: ['client_credentials'],
          scope: 'orders.read api:read',
          redirect_uris: [],
        },
        NOW(),
        { registration: { access_token_hash: 'y'.repeat(43), mode: 'open' } },
      );
      const narrowed = await form(
        wide,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('older-cc', older.secret!) },
      );
      assert.equal(narrowed.statusCode, 200, narrowed.body);
      assert.equal(narrowed.json().scope, 'orders.read');
      const beyond = await form(
        wide,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic('older-cc', older.secret!) },
      );
      assert.equal(beyond.statusCode, 400, beyond.body);
      assert.equal(beyond.json().error, 'invalid_scope');
    });

    it('the ceiling holds for clients registered under a wider one: at the token endpoint and at every authorization (step-up)', async () => {
      // As if registered before the operator narrowed the settings: stored with more than the ceiling now allows.
      const { client, secret } = await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'older-self',
          client_name: 'Older',
          redirect_uris: ['https://older.example/cb'],
          grant_types: ['authorization_code', 'client_credentials'],
          scope: 'openid orders.read api:read',
        },
        NOW(),
        { registration: { access_token_hash: 'x'.repeat(43), mode: 'open' } },
      );
      const cc = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic(client.clientId, secret!) },
      );
      assert.equal(cc.statusCode, 400, cc.body);
      assert.equal(cc.json().error, 'unauthorized_client');
      const { challenge } = pkce();
      const step = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: 'older-self',
          redirect_uri: 'https://older.example/cb',
          response_type: 'code',
          scope: 'openid orders.read',
          state: 's',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      // Self-registered: no automatic error redirect (RFC 9700 4.11.2), and no code.
      assert.ok(!String(step.headers.location ?? '').includes('code='), step.body.slice(0, 200));
      assert.match(step.statusCode === 303 ? String(step.headers.location) : step.body, /invalid_scope|not allowed/);
      // Within the ceiling, the same client works.
      const ok = await codeTokens(app, { client_id: 'older-self', client_secret: secret }, 'https://older.example/cb');
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('a self-registered client may ask only for registry resources; their policy applies; operator clients keep allowed_resources', async () => {
      const reg = (
        await register(app, {
          redirect_uris: ['https://rp.example/cb'],
          grant_types: ['authorization_code'],
          scope: 'openid',
        })
      ).json();
      const { challenge } = pkce();
      const arbitrary = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({
          client_id: reg.client_id,
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          resource: 'https://victim.example/',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.ok(!String(arbitrary.headers.location ?? '').includes('code='));
      assert.match(
        arbitrary.statusCode === 303 ? String(arbitrary.headers.location) : arbitrary.body,
        /invalid_target|resource servers registered/,
      );
      const par = await form(
        app,
        '/par',
        {
          redirect_uri: 'https://rp.example/cb',
          response_type: 'code',
          scope: 'openid',
          resource: 'https://victim.example/',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        { authorization: basic(reg.client_id, reg.client_secret) },
      );
      assert.equal(par.statusCode, 400, par.body);
      assert.equal(par.json().error, 'invalid_target');
      // A registry resource: the token is for it, with its lifetime.
      const tok = await codeTokens(app, reg, 'https://rp.example/cb', { resource: ORDERS });
      assert.equal(tok.statusCode, 200, tok.body);
      const at = decodeJwt(tok.json().access_token);
      assert.equal(at.aud, ORDERS);
      assert.equal(at.exp! - at.iat!, 120);
      assert.equal(tok.json().expires_in, 120);
      // An operator-made client without allowed_resources still names any resource, as before.
      const web = await codeTokens(app, { client_id: 'web', client_secret: SECRETS.web }, 'https://app.example/cb', {
        resource: 'https://any.example/',
      });
      assert.equal(web.statusCode, 200, web.body);
      assert.equal(decodeJwt(web.json().access_token).aud, 'https://any.example/');
      assert.equal(web.json().expires_in, app.provider.config.accessTokenTtl);
    });

    it('DPoP policy: a resource that requires DPoP gets no token without a proof, and a DPoP-bound one with it', async () => {
      const API = 'https://bound.example/api';
      await saveResourceServer(
        app.stores,
        app.provider.config,
        { identifier: API, display_name: 'Bound API', scopes: { 'api:read': 'Read' }, dpop: 'required' },
        NOW(),
      );
      const noProof = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', resource: API, scope: 'api:read' },
        { authorization: basic('svc') },
      );
      assert.equal(noProof.statusCode, 400, noProof.body);
      assert.equal(noProof.json().error, 'invalid_dpop_proof');
      const key = await newKey();
      const bound = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', resource: API, scope: 'api:read api:write' },
        { authorization: basic('svc'), dpop: await dpopProof(key, '/token') },
      );
      assert.equal(bound.statusCode, 200, bound.body);
      assert.equal(bound.json().token_type, 'DPoP');
      const at = decodeJwt(bound.json().access_token);
      assert.deepEqual(at.cnf, { jkt: key.jkt });
      // The resource's scopes bound the token: api:write is not one of them.
      assert.equal(at.scope, 'api:read');
    });

    it('registry policy at the code exchange and at refresh: lifetime, and DPoP required without using up the refresh token', async () => {
      const API = 'https://strict.example/api';
      await saveResourceServer(
        app.stores,
        app.provider.config,
        { identifier: API, display_name: 'Strict API', scopes: {}, access_token_ttl: 60, dpop: 'required' },
        NOW(),
      );
      const web = { client_id: 'web', client_secret: SECRETS.web };
      const refused = await codeTokens(app, web, 'https://app.example/cb', {
        resource: API,
        scope: 'openid offline_access',
      });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error, 'invalid_dpop_proof');
      const key = await newKey();
      const tok = await codeTokens(
        app,
        web,
        'https://app.example/cb',
        { resource: API, scope: 'openid offline_access' },
        { dpop: await dpopProof(key, '/token') },
      );
      assert.equal(tok.statusCode, 200, tok.body);
      assert.equal(tok.json().token_type, 'DPoP');
      assert.equal(tok.json().expires_in, 60);
      const at = decodeJwt(tok.json().access_token);
      assert.equal(at.aud, API);
      assert.equal(at.exp! - at.iat!, 60);
      const refresh = tok.json().refresh_token;
      assert.ok(refresh);
      const noProof = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: refresh },
        { authorization: basic('web') },
      );
      assert.equal(noProof.statusCode, 400, noProof.body);
      assert.equal(noProof.json().error, 'invalid_dpop_proof');
      const again = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: refresh },
        { authorization: basic('web'), dpop: await dpopProof(key, '/token') },
      );
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().expires_in, 60);
      assert.equal(decodeJwt(again.json().access_token).aud, API);
    });

    it('a registry resource with its own signing algorithm gets access tokens signed by the active key of that algorithm', async () => {
      const RS = 'https://rsa-only.example/api';
      await saveResourceServer(
        app.stores,
        app.provider.config,
        { identifier: RS, display_name: 'RSA-only API', signing_alg: 'RS256' },
        NOW(),
      );
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'rs-svc',
          client_secret: 'rs-svc-secret-0123456789-abcdefghijklmnop',
          grant_types: ['client_credentials'],
          scope: 'api:read',
          allowed_resources: [RS],
        },
        NOW(),
      );
      const auth = { authorization: basic('rs-svc', 'rs-svc-secret-0123456789-abcdefghijklmnop') };
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const forRs = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read', resource: RS },
        auth,
      );
      assert.equal(forRs.statusCode, 200, forRs.body);
      const { protectedHeader, payload } = await jwtVerify(forRs.json().access_token, jwks, {
        typ: 'at+jwt',
        audience: RS,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.aud, RS);
      // Introspection accepts it like any other of Tessera's access tokens.
      const intro = await form(app, '/introspect', { token: forRs.json().access_token }, auth);
      assert.equal(intro.json().active, true, intro.body);
      // The default audience keeps the server's algorithm.
      const plain = await form(app, '/token', { grant_type: 'client_credentials', scope: 'api:read' }, auth);
      assert.equal(decodeProtectedHeader(plain.json().access_token).alg, app.provider.config.signingAlg);
    });

    it('the registry is stored (create, replace, list, delete), validated, fed by the bootstrap file, and described for the consent page', async () => {
      const file = {
        resources: [
          {
            identifier: 'https://boot.example/api',
            display_name: 'Boot API',
            scopes: { 'api:read': 'Read things', 'api:write': 'Change things' },
            access_token_ttl: 300,
            signing_alg: 'ES256',
            dpop: 'required' as const,
          },
        ],
      };
      assert.equal((await applyBootstrap(app.stores, app.provider.config, file, NOW())).resources, 1);
      assert.equal((await applyBootstrap(app.stores, app.provider.config, file, NOW())).resources, 0, 'idempotent');
      const stored = await app.stores.resourceServers.get('https://boot.example/api');
      assert.equal(stored?.displayName, 'Boot API');
      assert.equal(stored?.dpop, 'required');
      assert.equal(stored?.accessTokenTtl, 300);
      assert.deepEqual(await describeResource(app.provider, 'https://boot.example/api'), {
        identifier: 'https://boot.example/api',
        displayName: 'Boot API',
        scopes: [
          { name: 'api:read', description: 'Read things' },
          { name: 'api:write', description: 'Change things' },
        ],
      });
      assert.equal(await describeResource(app.provider, 'https://unknown.example/'), undefined);
      await saveResourceServer(
        app.stores,
        app.provider.config,
        { ...file.resources[0]!, display_name: 'Boot API v2', dpop: 'optional' },
        NOW(),
      );
      const replaced = await app.stores.resourceServers.get('https://boot.example/api');
      assert.equal(replaced?.displayName, 'Boot API v2');
      assert.equal(replaced?.createdAt, stored?.createdAt);
      assert.ok((await app.stores.resourceServers.list()).some((r) => r.identifier === 'https://boot.example/api'));
      for (const [bad, why] of [
        [{ identifier: 'not a uri', display_name: 'x' }, /identifier must be an absolute URI/],
        [{ identifier: 'https://x.example/#f', display_name: 'x' }, /identifier must be an absolute URI/],
        [{ identifier: 'https://x.example/', display_name: 'bad\u202Ename' }, /display_name must not contain/],
        [
          { identifier: 'https://x.example/', display_name: 'x', scopes: { 'nope.scope': 'x' } },
          /not offered by this server/,
        ],
        [
          { identifier: 'https://x.example/', display_name: 'x', scopes: { 'api:read': 'line\nbreak' } },
          /must not contain/,
        ],
        [{ identifier: 'https://x.example/', display_name: 'x', access_token_ttl: 5 }, /access_token_ttl/],
        // Longer than old signing keys stay published after a rotation (the longer of the access and ID token
        // lifetimes).
        [
          { identifier: 'https://x.example/', display_name: 'x', access_token_ttl: 7200 },
          /access_token_ttl must be a whole number of seconds from 30 to 3600/,
        ],
        [{ identifier: 'https://x.example/', display_name: 'x', signing_alg: 'HS256' }, /signing_alg must be one of/],
        [
          { identifier: 'https://x.example/', display_name: 'x', signing_alg: 'PS256' },
          /is not one of the algorithms Tessera signs with/,
        ],
        [
          { identifier: 'https://x.example/', display_name: 'x', dpop: 'sometimes' },
          /dpop must be required or optional/,
        ],
        [{ identifier: 'https://x.example/', display_name: 'x', audience: 'y' }, /unknown key "?audience/],
      ] as const) {
        await assert.rejects(
          applyBootstrap(app.stores, app.provider.config, { resources: [bad as never] }, NOW()),
          (err: Error) => err instanceof AdminError && why.test(err.message),
          JSON.stringify(bad),
        );
      }
      assert.equal(await app.stores.resourceServers.get('https://x.example/'), undefined);
      assert.equal(await app.stores.resourceServers.delete('https://boot.example/api'), true);
      assert.equal(await app.stores.resourceServers.delete('https://boot.example/api'), false);
    });

    // ---- point 9: per-client sectors ------------------------------------------------------------
    it('pairwise: loopback and private-use redirect URIs are no shared sector; each such client is its own sector', async () => {
      const subs: string[] = [];
      const ids: string[] = [];
      for (const redirect of ['http://127.0.0.1/cb', 'http://127.0.0.1/cb', 'com.example.shared:/cb']) {
        const res = await register(app, {
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          redirect_uris: [redirect],
          subject_type: 'pairwise',
          scope: 'openid',
        });
        assert.equal(res.statusCode, 201, res.body);
        const reg = res.json();
        ids.push(reg.client_id);
        assert.equal((await app.stores.clients.get(reg.client_id))?.metadata.sector, `client:${reg.client_id}`);
        const cb = redirect.startsWith('http:') ? 'http://127.0.0.1:7777/cb' : redirect;
        const tok = await codeTokens(app, reg, cb);
        assert.equal(tok.statusCode, 200, tok.body);
        subs.push(decodeJwt(tok.json().id_token).sub!);
      }
      assert.equal(new Set(subs).size, 3, 'two apps on the same loopback redirect URI must not share a pairwise sub');
      const alice = (await app.stores.users.findByUsername('alice'))!;
      assert.equal(subs[0], pairwiseSubject(app.provider.config.secret, `client:${ids[0]}`, alice.id));
      // A client with an https redirect URI keeps its host as the sector.
      const web = (
        await register(app, { redirect_uris: ['https://pw.example/cb'], subject_type: 'pairwise', scope: 'openid' })
      ).json();
      assert.equal((await app.stores.clients.get(web.client_id))?.metadata.sector, 'pw.example');
    });

    it('pairwise: a client stored before sectors were stored keeps its sub, also after it is updated', async () => {
      const now = NOW();
      // A pairwise client as the earlier code stored it: no `sector` in its metadata.
      await app.stores.clients.put({
        clientId: 'legacy-native',
        clientName: 'Legacy',
        secretHash: null,
        tokenEndpointAuthMethod: 'none',
        applicationType: 'native',
        redirectUris: ['http://127.0.0.1/cb'],
        postLogoutRedirectUris: [],
        grantTypes: ['authorization_code'],
        scopes: ['openid'],
        allowedResources: [],
        skipConsent: false,
        disabled: false,
        metadata: { subject_type: 'pairwise' },
        createdAt: now,
        updatedAt: now,
      });
      const alice = (await app.stores.users.findByUsername('alice'))!;
      const expected = pairwiseSubject(app.provider.config.secret, '127.0.0.1', alice.id);
      const first = await codeTokens(app, { client_id: 'legacy-native' }, 'http://127.0.0.1:4321/cb');
      assert.equal(decodeJwt(first.json().id_token).sub, expected);
      await saveClient(
        app.stores,
        app.provider.config,
        { client_id: 'legacy-native', client_name: 'Legacy renamed' },
        now,
      );
      assert.equal((await app.stores.clients.get('legacy-native'))?.metadata.sector, undefined);
      const second = await codeTokens(app, { client_id: 'legacy-native' }, 'http://127.0.0.1:4321/cb');
      assert.equal(decodeJwt(second.json().id_token).sub, expected);
    });

    it("pairwise: an update that would move a client to another sector is refused, so no user's sub changes", async () => {
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'pw-fixed',
          client_secret: 'pw-fixed-secret-0123456789-abcdefghijklmn',
          redirect_uris: ['https://fixed.example/cb'],
          subject_type: 'pairwise',
          scope: 'openid',
        },
        NOW(),
      );
      assert.equal((await app.stores.clients.get('pw-fixed'))?.metadata.sector, 'fixed.example');
      // A loopback redirect URI would make it its own sector (client:pw-fixed); another host another one.
      for (const uris of [['https://fixed.example/cb', 'http://127.0.0.1/cb'], ['https://elsewhere.example/cb']]) {
        await assert.rejects(
          saveClient(
            app.stores,
            app.provider.config,
            { client_id: 'pw-fixed', redirect_uris: uris, subject_type: 'pairwise', scope: 'openid' },
            NOW(),
          ),
          (err: Error) =>
            err instanceof AdminError && /would move the pairwise sector from fixed\.example/.test(err.message),
          JSON.stringify(uris),
        );
      }
      // Within the sector: accepted, the sector kept.
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'pw-fixed',
          redirect_uris: ['https://fixed.example/cb', 'https://fixed.example/other'],
          subject_type: 'pairwise',
          scope: 'openid',
        },
        NOW(),
      );
      assert.equal((await app.stores.clients.get('pw-fixed'))?.metadata.sector, 'fixed.example');
    });

    // ---- review: many keys ---------------------------------------------------------------------
    it('a self-registered client may register at most 10 keys inline (each key a kid-less JWT matches may cost a signature check)', async () => {
      const keys = await Promise.all(Array.from({ length: 11 }, (_, i) => newKey(`k${i}`)));
      const before = (await app.stores.clients.list()).length;
      const refused = await register(app, {
        redirect_uris: ['https://rp.example/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: keys.map((k) => k.jwk) },
      });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error, 'invalid_client_metadata');
      assert.match(refused.json().error_description, /at most 10 keys/);
      assert.equal((await app.stores.clients.list()).length, before, 'nothing stored');
      const accepted = await register(app, {
        redirect_uris: ['https://rp.example/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: keys.slice(0, 10).map((k) => k.jwk) },
      });
      assert.equal(accepted.statusCode, 201, accepted.body);
      // The update (RFC 7592) holds to the same bound.
      const { client_id, registration_access_token } = accepted.json();
      const put = await app.server.inject({
        method: 'PUT',
        url: `/register/${client_id}`,
        headers: { ...JSON_TYPE, authorization: `Bearer ${registration_access_token}` },
        payload: JSON.stringify({
          client_id,
          redirect_uris: ['https://rp.example/cb'],
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: keys.map((k) => k.jwk) },
        }),
      });
      assert.equal(put.statusCode, 400, put.body);
      assert.equal(put.json().error, 'invalid_client_metadata');
      assert.equal(
        (await app.stores.clients.get(client_id))!.metadata.jwks!.keys.length,
        10,
        'the stored keys are unchanged',
      );
    });

    // ---- point 15: outbound URL literals --------------------------------------------------------
    it('refuses jwks_uri, sector_identifier_uri and backchannel_logout_uri naming private addresses in any spelling', async () => {
      for (const [key, url] of [
        ['jwks_uri', 'https://10.1/jwks'],
        ['jwks_uri', 'https://0x0a000001/jwks'],
        ['jwks_uri', 'https://[::ffff:10.0.0.1]/jwks'],
        ['jwks_uri', 'https://169.254.169.254/latest'],
        ['sector_identifier_uri', 'https://192.168.1.1/s.json'],
        ['backchannel_logout_uri', 'https://[fd00::1]/bc'],
        ['backchannel_logout_uri', 'https://0/bc'],
      ] as const) {
        const meta =
          key === 'jwks_uri'
            ? { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: url }
            : key === 'sector_identifier_uri'
              ? { subject_type: 'pairwise', sector_identifier_uri: url }
              : { backchannel_logout_uri: url };
        const res = await register(app, { redirect_uris: ['https://rp.example/cb'], ...meta });
        assert.equal(res.statusCode, 400, `${key} ${url}: ${res.body}`);
        assert.equal(res.json().error, 'invalid_client_metadata');
        assert.match(res.json().error_description, /is not a public address/);
      }
    });
  });
}

describe('registration hardening in production', () => {
  let app: App;
  before(async () => {
    const config = loadConfig({
      TESSERA_ENV: 'production',
      TESSERA_ISSUER: 'https://id.example.com',
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_SECRET: 's'.repeat(40),
      TESSERA_KEY_ENCRYPTION_KEY: 'k'.repeat(40),
      TESSERA_SMTP_URL: 'smtp://mail.example.com:587',
      TESSERA_REGISTRATION: 'open',
      TESSERA_RATE_LIMITING: 'false',
    });
    app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await app?.close();
  });

  it('refuses loopback and special-use outbound URLs literally, in every spelling, with invalid_client_metadata', async () => {
    for (const host of [
      '127.1',
      '2130706434',
      '0x7f.1',
      '0177.0.0.1',
      '[::ffff:127.0.0.1]',
      '[::1]',
      'localhost',
      'api.localhost',
      'printer.local',
      'svc.internal',
      'x.test',
      'x.invalid',
      'router.home.arpa',
      'intranet',
    ]) {
      for (const key of ['jwks_uri', 'sector_identifier_uri', 'backchannel_logout_uri'] as const) {
        const url = `https://${host}/x`;
        const meta =
          key === 'jwks_uri'
            ? { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: url }
            : key === 'sector_identifier_uri'
              ? { subject_type: 'pairwise', sector_identifier_uri: url }
              : { backchannel_logout_uri: url };
        const res = await register(app, { redirect_uris: ['https://rp.example.com/cb'], ...meta });
        assert.equal(res.statusCode, 400, `${key} ${url}: ${res.body}`);
        assert.equal(res.json().error, 'invalid_client_metadata', `${key} ${url}`);
        assert.match(
          res.json().error_description,
          /not a public address|special-use name|fully qualified/,
          `${key} ${url}`,
        );
      }
    }
    // Nothing registered (the CLI's built-in client, made at start-up, aside).
    assert.deepEqual(
      (await app.stores.clients.list()).map((c) => c.clientId),
      ['tessera-cli'],
    );
  });

  it('still accepts a public host name', async () => {
    const res = await register(app, {
      redirect_uris: ['https://rp.example.com/cb'],
      backchannel_logout_uri: 'https://rp.example.com/bc',
    });
    assert.equal(res.statusCode, 201, res.body);
  });
});
