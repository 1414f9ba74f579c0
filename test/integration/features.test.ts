/**
 * TESSERA_FEATURES_DISABLED over HTTP with inject(), on SQLite and PostgreSQL: for each optional
 * feature, turned off, it is not in discovery and is refused where it would be used, with an
 * OAuth-shaped error; turned on (the default), the same discovery entries are there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { FEATURE_NAMES, type Feature } from '../../src/config/features.ts';
import { authorizeUrl, backends, basic, form, pkce, testApp } from '../fixtures/app.ts';
import { dpopProof, newKey } from '../fixtures/client-keys.ts';
import { escapedPem, hasOpenssl, makePki } from '../fixtures/certs.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { endSessions } from '../../src/protocol/logout/session-ended.ts';
import { logoutDelivery } from '../../src/protocol/logout/back-channel.ts';

const TYPES = 'account_information';
// Client certificates come from a trusted proxy's header, so that mTLS is configured (and advertised) when on.
const CERT_HEADER = 'x-client-cert';
const PROXY = '192.0.2.10';
const pki = hasOpenssl() ? makePki() : undefined;
after(() => pki?.cleanup());
const ENV = {
  TESSERA_AUTHORIZATION_DETAILS_TYPES: TYPES,
  TESSERA_MTLS_CERT_HEADER: CERT_HEADER,
  TESSERA_TRUST_PROXY: PROXY,
};

/** Ends a session with one client of it, as a logout would; returns the front-channel frames and the events sent. */
async function endSessionOf(
  app: App,
  clientId: string,
  metadata: Record<string, unknown>,
): Promise<{ frames: unknown[]; events: string[] }> {
  const now = app.provider.now();
  await saveClient(
    app.stores,
    app.provider.config,
    { client_id: clientId, redirect_uris: ['https://logout.example/cb'], ...metadata },
    now,
  );
  const events: string[] = [];
  const sink = app.provider.events;
  (app.provider as { events: typeof sink }).events = (e) => {
    events.push(e.type);
    sink(e);
  };
  try {
    const frames = await endSessions(app.provider, [
      { sid: `sid-${clientId}`, clientId, userId: 'alice', createdAt: now, expiresAt: now + 3600 },
    ]);
    await logoutDelivery(app.provider).idle();
    return { frames, events };
  } finally {
    (app.provider as { events: typeof sink }).events = sink;
  }
}
const WEB = {
  client_id: 'web',
  redirect_uri: 'https://app.example/cb',
  response_type: 'code',
  scope: 'openid',
  state: 'st',
};

function oauthError(res: LightMyRequestResponse, status: number, error: string): void {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json();
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, 'string');
}
function redirectError(res: LightMyRequestResponse, error: string): void {
  assert.equal(res.statusCode, 303, res.body);
  const to = new URL(res.headers.location as string);
  assert.equal(to.origin + to.pathname, WEB.redirect_uri);
  assert.equal(to.searchParams.get('error'), error);
  assert.equal(to.searchParams.get('state'), 'st');
}
const authorizeParams = (extra: Record<string, string> = {}) => ({
  ...WEB,
  code_challenge: pkce().challenge,
  code_challenge_method: 'S256',
  ...extra,
});

/** Per feature: the discovery entries it adds, and a check that it is refused while off. */
const CASES: Record<
  Feature,
  { discovery: (d: Record<string, unknown>) => boolean; refused: (app: App) => Promise<void> }
> = {
  par: {
    discovery: (d) => 'pushed_authorization_request_endpoint' in d || 'require_pushed_authorization_requests' in d,
    async refused(app) {
      oauthError(await form(app, '/par', authorizeParams(), { authorization: basic('web') }), 404, 'invalid_request');
      const res = await app.server.inject({
        method: 'GET',
        url: authorizeUrl({ client_id: 'web', request_uri: `urn:ietf:params:oauth:request_uri:${'a'.repeat(43)}` }),
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /request_uri_not_supported/);
    },
  },
  dpop: {
    discovery: (d) => 'dpop_signing_alg_values_supported' in d,
    async refused(app) {
      const key = await newKey();
      oauthError(
        await form(
          app,
          '/token',
          { grant_type: 'client_credentials', scope: 'api:read' },
          { authorization: basic('svc'), dpop: await dpopProof(key, '/token') },
        ),
        400,
        'invalid_request',
      );
      redirectError(
        await app.server.inject({ method: 'GET', url: authorizeUrl(authorizeParams({ dpop_jkt: key.jkt })) }),
        'invalid_request',
      );
    },
  },
  request_object: {
    discovery: (d) => d.request_parameter_supported === true || 'request_object_signing_alg_values_supported' in d,
    async refused(app) {
      redirectError(
        await app.server.inject({
          method: 'GET',
          url: authorizeUrl({ ...WEB, request: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' }),
        }),
        'request_not_supported',
      );
      oauthError(
        await form(
          app,
          '/par',
          { client_id: 'web', request: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' },
          { authorization: basic('web') },
        ),
        400,
        'request_not_supported',
      );
    },
  },
  device_flow: {
    discovery: (d) =>
      'device_authorization_endpoint' in d ||
      (d.grant_types_supported as string[]).includes('urn:ietf:params:oauth:grant-type:device_code'),
    async refused(app) {
      oauthError(
        await form(app, '/device_authorization', { client_id: 'spa', scope: 'openid' }),
        404,
        'invalid_request',
      );
      oauthError(
        await form(app, '/token', {
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          device_code: 'x',
          client_id: 'spa',
        }),
        400,
        'unsupported_grant_type',
      );
      assert.equal((await app.server.inject('/device')).statusCode, 404);
    },
  },
  token_exchange: {
    discovery: (d) => (d.grant_types_supported as string[]).includes('urn:ietf:params:oauth:grant-type:token-exchange'),
    async refused(app) {
      oauthError(
        await form(
          app,
          '/token',
          {
            grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
            subject_token: 'x',
            subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          },
          { authorization: basic('svc') },
        ),
        400,
        'unsupported_grant_type',
      );
    },
  },
  jwt_introspection: {
    discovery: (d) => 'introspection_signing_alg_values_supported' in d,
    async refused(app) {
      oauthError(
        await form(
          app,
          '/introspect',
          { token: 'x' },
          { authorization: basic('rs'), accept: 'application/token-introspection+jwt' },
        ),
        406,
        'invalid_request',
      );
      // Plain JSON answers are unaffected.
      assert.equal(
        (await form(app, '/introspect', { token: 'x' }, { authorization: basic('rs') })).json().active,
        false,
      );
    },
  },
  rar: {
    discovery: (d) => 'authorization_details_types_supported' in d,
    async refused(app) {
      redirectError(
        await app.server.inject({
          method: 'GET',
          url: authorizeUrl(authorizeParams({ authorization_details: '[{"type":"account_information"}]' })),
        }),
        'invalid_authorization_details',
      );
    },
  },
  jarm: {
    discovery: (d) =>
      (d.response_modes_supported as string[]).some((m) => m.endsWith('jwt')) ||
      'authorization_signing_alg_values_supported' in d,
    async refused(app) {
      // The JWT modes are unknown values; the error comes back unsigned, in the query.
      for (const mode of ['jwt', 'query.jwt', 'form_post.jwt']) {
        const res = await app.server.inject({
          method: 'GET',
          url: authorizeUrl(authorizeParams({ response_mode: mode })),
        });
        redirectError(res, 'invalid_request');
        assert.equal(new URL(res.headers.location as string).searchParams.get('response'), null);
      }
    },
  },
  mtls: {
    discovery: (d) =>
      'tls_client_certificate_bound_access_tokens' in d ||
      (d.token_endpoint_auth_methods_supported as string[]).some((m) => m.includes('tls_client_auth')),
    async refused(app) {
      assert.ok(pki, 'openssl CLI is needed for the mtls case');
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'self-tls',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [pki.selfSigned.jwk as Record<string, unknown>] },
          grant_types: ['client_credentials'],
          scope: 'api:read',
          redirect_uris: [],
        },
        app.provider.now(),
      );
      const res = await app.server.inject({
        method: 'POST',
        url: '/token',
        remoteAddress: PROXY,
        payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'self-tls' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', [CERT_HEADER]: escapedPem(pki.selfSigned) },
      });
      oauthError(res, 401, 'invalid_client');
    },
  },
  backchannel_logout: {
    discovery: (d) => 'backchannel_logout_supported' in d || 'backchannel_logout_session_supported' in d,
    async refused(app) {
      // Nothing is sent: no delivery is attempted (delivered or failed) for the client's logout URI.
      const { events } = await endSessionOf(app, 'bcl', { backchannel_logout_uri: 'https://bcl.invalid/logout' });
      assert.deepEqual(
        events.filter((t) => t.startsWith('backchannel_logout')),
        [],
      );
    },
  },
  frontchannel_logout: {
    discovery: (d) => 'frontchannel_logout_supported' in d || 'frontchannel_logout_session_supported' in d,
    async refused(app) {
      const { frames } = await endSessionOf(app, 'fcl', { frontchannel_logout_uri: 'https://logout.example/front' });
      assert.deepEqual(frames, []);
    },
  },
};

for (const backend of await backends()) {
  describe(`feature switches (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    const apps: App[] = [];
    let all: App;
    before(async () => {
      all = await testApp(backend.url!, ENV);
      apps.push(all);
    });
    after(async () => {
      for (const a of apps) await a.close();
      await backend.drop?.();
    });

    it('every feature has a case here', () => {
      assert.deepEqual(Object.keys(CASES).sort(), [...FEATURE_NAMES].sort());
    });

    for (const feature of FEATURE_NAMES) {
      it(`${feature}: advertised when on; off, not advertised and refused`, async () => {
        const on = (await all.server.inject('/.well-known/openid-configuration')).json();
        assert.ok(CASES[feature].discovery(on), `${feature} is advertised by default`);
        const app = await testApp(backend.url!, { ...ENV, TESSERA_FEATURES_DISABLED: feature });
        apps.push(app);
        const off = (await app.server.inject('/.well-known/openid-configuration')).json();
        assert.ok(!CASES[feature].discovery(off), `${feature} is not advertised when disabled`);
        await CASES[feature].refused(app);
      });
    }
  });
}
