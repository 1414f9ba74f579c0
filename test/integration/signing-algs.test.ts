/**
 * Several signing algorithms at once (issue 13, points 20 and 23), on SQLite and PostgreSQL:
 * migration 0016 records each existing client's ID-token algorithm; a new registration gets RS256
 * (OpenID Connect Registration 2), a FAPI 2.0 one ES256 and never RS256; ID tokens, userinfo and
 * JWT introspection answers are signed with the client's algorithm and verify with jose through
 * the JWKS while access tokens stay ES256; the profile and email claims of the granted scopes are
 * in the ID token unless the client turned that off.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import type { App } from '../../src/app.ts';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import { openDatabase } from '../../src/adapters/sql/database.ts';
import { createSqlStores } from '../../src/adapters/sql/stores.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import * as signingAlgs from '../../src/adapters/sql/migrations/0016_signing_algs.ts';
import type { ClientRecord } from '../../src/ports/clients.ts';
import { generateSigningKey } from '../../src/protocol/tokens/keys.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { createPgDatabase, sqliteTempUrl } from '../fixtures/db.ts';

const KEK = 'k'.repeat(40);
const NOW = 1_800_000_000;

const clientRecord = (clientId: string, metadata: ClientRecord['metadata'] = {}): ClientRecord => ({
  clientId,
  clientName: clientId,
  secretHash: null,
  tokenEndpointAuthMethod: 'none',
  applicationType: 'web',
  redirectUris: ['https://rp.example/cb'],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code'],
  scopes: ['openid'],
  allowedResources: [],
  skipConsent: false,
  disabled: false,
  metadata,
  createdAt: NOW,
  updatedAt: NOW,
});

/** A database as it was before migration 0016, holding `keys` (algorithm, state) and some clients; then migrated. */
async function upgraded(
  engine: 'sqlite' | 'postgres',
  keys: [string, 'active' | 'grace'][],
): Promise<Record<string, ClientRecord['metadata']> | undefined> {
  let url: string;
  let drop: () => Promise<void>;
  if (engine === 'sqlite') {
    url = sqliteTempUrl();
    drop = async () => rmSync(dirname(url.slice('sqlite:'.length)), { recursive: true, force: true });
  } else {
    const pg = await createPgDatabase();
    if (!pg) return undefined;
    ({ url, drop } = pg);
  }
  const handle = await openDatabase(url);
  try {
    await migrate(handle.db, usernameKeys);
    // Back to the schema before 0016 (one active key in all), as an older Tessera left it.
    await signingAlgs.down(handle.db);
    await handle.db
      .deleteFrom('kysely_migration' as never)
      .where('name' as never, '=', '0016_signing_algs' as never)
      .execute();
    const stores = createSqlStores(handle, usernameKeys);
    for (const [alg, state] of keys)
      await stores.keys.insert(
        {
          ...(await generateSigningKey(alg as 'ES256', KEK, NOW)),
          state,
          retiredAt: state === 'grace' ? NOW + 60 : null,
        },
        false,
      );
    await stores.clients.put(clientRecord('plain'));
    await stores.clients.put(clientRecord('chosen', { id_token_signed_response_alg: 'PS256' }));
    await stores.clients.put(clientRecord('fapi', { fapi_profile: '2.0' }));
    assert.deepEqual(await migrate(handle.db, usernameKeys), ['0016_signing_algs']);
    // The indexes are per algorithm now: a second algorithm gets its own active key.
    assert.equal(await stores.keys.insert(await generateSigningKey('EdDSA', KEK, NOW), true), true);
    return Object.fromEntries((await stores.clients.list()).map((c) => [c.clientId, c.metadata]));
  } finally {
    await handle.close();
    await drop();
  }
}

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`migration 0016 (${engine})`, () => {
    it("records the algorithm of the key active at the upgrade for every client without one, so no client's ID tokens change", async (t) => {
      const m = await upgraded(engine, [
        ['ES256', 'active'],
        ['RS256', 'grace'],
      ]);
      if (!m) return t.skip('PostgreSQL unreachable (set CI=true to require it)');
      assert.equal(m.plain!.id_token_signed_response_alg, 'ES256');
      assert.equal(m.chosen!.id_token_signed_response_alg, 'PS256'); // a registered choice is kept
      assert.equal(m.fapi!.id_token_signed_response_alg, 'ES256');
    });
    it('a server that signed with RS256: RS256 recorded, except for FAPI 2.0 clients (the profile forbids it)', async (t) => {
      const m = await upgraded(engine, [['RS256', 'active']]);
      if (!m) return t.skip('PostgreSQL unreachable (set CI=true to require it)');
      assert.equal(m.plain!.id_token_signed_response_alg, 'RS256');
      assert.equal(m.fapi!.id_token_signed_response_alg, undefined);
    });
    it('no active key (no ID token was ever issued): nothing is recorded', async (t) => {
      const m = await upgraded(engine, []);
      if (!m) return t.skip('PostgreSQL unreachable (set CI=true to require it)');
      assert.equal(m.plain!.id_token_signed_response_alg, undefined);
    });
  });
}

for (const backend of await backends()) {
  describe(`per-client signing algorithms and ID token claims (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let jwks: ReturnType<typeof createLocalJWKSet>;
    const SECRET = 'alg-secret-0123456789-abcdefghijklmnopq';
    const REDIRECT = 'https://app.example/cb';
    before(async () => {
      app = await testApp(backend.url!, { TESSERA_REGISTRATION: 'open' });
      const n = app.provider.now();
      const base = {
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code' as const],
        scope: 'openid profile email',
      };
      await saveClient(
        app.stores,
        app.provider.config,
        { ...base, client_id: 'es-rp', id_token_signed_response_alg: 'ES256', userinfo_signed_response_alg: 'ES256' },
        n,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        { ...base, client_id: 'rs-ui', userinfo_signed_response_alg: 'RS256' },
        n,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        { ...base, client_id: 'quiet', id_token_scope_claims: false },
        n,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'rs-es',
          client_secret: SECRET,
          grant_types: ['client_credentials'],
          scope: '',
          redirect_uris: [],
          introspection_signed_response_alg: 'ES256',
        },
        n,
      );
      jwks = createLocalJWKSet((await app.server.inject({ url: '/jwks' })).json() as JSONWebKeySet);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const secretOf = (id: string) => (id === 'web' ? undefined : SECRET);
    const tokens = async (clientId: string, extra: Record<string, string> = {}) => {
      const { verifier, challenge } = pkce();
      const loc = await authorizeWithLogin(app, new Jar(), {
        client_id: clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid profile email',
        nonce: 'n',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      });
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: loc.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
        },
        { authorization: basic(clientId, secretOf(clientId)) },
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { id_token: string; access_token: string };
    };

    it('ID tokens: RS256 for a client that registered none, ES256 for one that registered it; access tokens ES256 either way; both verify through the JWKS', async () => {
      for (const [clientId, alg] of [
        ['web', 'RS256'],
        ['es-rp', 'ES256'],
      ] as const) {
        const t = await tokens(clientId);
        assert.equal(decodeProtectedHeader(t.id_token).alg, alg, clientId);
        assert.equal(decodeProtectedHeader(t.id_token).kid, app.provider.keys().signer(alg)!.kid);
        const { payload } = await jwtVerify(t.id_token, jwks, {
          issuer: ISSUER,
          audience: clientId,
          algorithms: [alg],
        });
        assert.equal(payload.nonce, 'n');
        assert.equal(typeof payload.at_hash, 'string');
        assert.deepEqual(decodeProtectedHeader(t.access_token), {
          alg: 'ES256',
          typ: 'at+jwt',
          kid: app.provider.keys().active.kid,
        });
      }
    });

    it('the profile and email claims of the granted scopes are in the ID token; a client can turn that off (userinfo only)', async () => {
      const id = decodeJwt((await tokens('web')).id_token);
      assert.equal(id.name, 'Alice Example');
      assert.equal(id.preferred_username, 'alice');
      assert.equal(id.email, 'alice@example.com');
      assert.equal(id.email_verified, true);
      // Only what the granted scopes cover.
      const narrow = decodeJwt((await tokens('web', { scope: 'openid email' })).id_token);
      assert.equal(narrow.email, 'alice@example.com');
      assert.equal(narrow.name, undefined);
      // id_token_scope_claims false: none, though the claims parameter still names them.
      const quiet = await tokens('quiet');
      assert.equal(decodeJwt(quiet.id_token).email, undefined);
      assert.equal(decodeJwt(quiet.id_token).name, undefined);
      const asked = decodeJwt(
        (await tokens('quiet', { claims: JSON.stringify({ id_token: { email: null } }) })).id_token,
      );
      assert.equal(asked.email, 'alice@example.com');
      assert.equal(asked.name, undefined);
      const info = await app.server.inject({
        url: '/userinfo',
        headers: { authorization: `Bearer ${quiet.access_token}` },
      });
      assert.equal(info.json().email, 'alice@example.com');
    });

    it('userinfo: plain JSON by default; a JWT (application/jwt) with iss and aud in the registered algorithm', async () => {
      const plain = await app.server.inject({
        url: '/userinfo',
        headers: { authorization: `Bearer ${(await tokens('web')).access_token}` },
      });
      assert.match(plain.headers['content-type'] as string, /^application\/json/);
      for (const [clientId, alg] of [
        ['es-rp', 'ES256'],
        ['rs-ui', 'RS256'],
      ] as const) {
        const t = await tokens(clientId);
        const res = await app.server.inject({
          url: '/userinfo',
          headers: { authorization: `Bearer ${t.access_token}` },
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.match(res.headers['content-type'] as string, /^application\/jwt/);
        assert.equal(res.headers['cache-control'], 'no-store');
        const { payload } = await jwtVerify(res.body, jwks, { issuer: ISSUER, audience: clientId, algorithms: [alg] });
        assert.equal(payload.sub, decodeJwt(t.id_token).sub);
        assert.equal(payload.email, 'alice@example.com');
      }
    });

    it('JWT introspection answers: RS256 unless registered otherwise', async () => {
      const at = (
        await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })
      ).json().access_token as string;
      for (const [clientId, secret, alg] of [
        ['rs', undefined, 'RS256'],
        ['rs-es', SECRET, 'ES256'],
      ] as const) {
        const res = await form(
          app,
          '/introspect',
          { token: at },
          { authorization: basic(clientId, secret), accept: 'application/token-introspection+jwt' },
        );
        assert.equal(res.statusCode, 200, res.body);
        const { payload, protectedHeader } = await jwtVerify(res.body, jwks, {
          issuer: ISSUER,
          audience: clientId,
          algorithms: [alg],
          typ: 'token-introspection+jwt',
        });
        assert.equal(protectedHeader.alg, alg);
        assert.equal((payload.token_introspection as { active: boolean }).active, true);
      }
    });

    it('a client registered for an algorithm no active key has (taken out of TESSERA_SIGNING_ALGS) gets a 4xx, never a 500', async () => {
      const web = (await app.stores.clients.get('web'))!;
      await app.stores.clients.put({
        ...web,
        clientId: 'ps-rp',
        metadata: { ...web.metadata, id_token_signed_response_alg: 'PS256' },
        secretHash: (await app.stores.clients.get('es-rp'))!.secretHash,
      });
      const { verifier, challenge } = pkce();
      const loc = await authorizeWithLogin(app, new Jar(), {
        client_id: 'ps-rp',
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: loc.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
        },
        { authorization: basic('ps-rp', SECRET) },
      );
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error, 'unauthorized_client');
    });

    it('registration (RFC 7591): RS256 when none is named; FAPI 2.0 clients ES256 and refused RS256; only algorithms Tessera signs with', async () => {
      const register = (body: Record<string, unknown>) =>
        app.server.inject({
          method: 'POST',
          url: '/register',
          payload: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
      const plain = await register({ redirect_uris: ['https://rp.example/cb'] });
      assert.equal(plain.statusCode, 201, plain.body);
      assert.equal(plain.json().id_token_signed_response_alg, 'RS256');
      assert.equal(plain.json().userinfo_signed_response_alg, undefined);
      const chosen = await register({
        redirect_uris: ['https://rp.example/cb'],
        id_token_signed_response_alg: 'ES256',
        userinfo_signed_response_alg: 'RS256',
      });
      assert.equal(chosen.statusCode, 201, chosen.body);
      assert.equal(chosen.json().id_token_signed_response_alg, 'ES256');
      assert.equal(chosen.json().userinfo_signed_response_alg, 'RS256');
      for (const bad of [
        { id_token_signed_response_alg: 'HS256' },
        { id_token_signed_response_alg: 'PS256' },
        { userinfo_signed_response_alg: 'none' },
        { id_token_signed_response_alg: 5 },
      ]) {
        const res = await register({ redirect_uris: ['https://rp.example/cb'], ...bad });
        assert.equal(res.statusCode, 400, JSON.stringify(bad));
        assert.equal(res.json().error, 'invalid_client_metadata', JSON.stringify(bad));
      }
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      const fapi = {
        redirect_uris: ['https://rp.example/cb'],
        fapi_profile: '2.0',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] },
      };
      const f = await register(fapi);
      assert.equal(f.statusCode, 201, f.body);
      assert.equal(f.json().id_token_signed_response_alg, 'ES256');
      const refused = await register({ ...fapi, id_token_signed_response_alg: 'RS256' });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.match(refused.json().error_description, /FAPI 2\.0 client \(RS256 is not allowed\)/);
      // The same rule for operators.
      await assert.rejects(
        saveClient(
          app.stores,
          app.provider.config,
          {
            client_id: 'fapi-rs',
            ...fapi,
            fapi_profile: '2.0',
            token_endpoint_auth_method: 'private_key_jwt',
            id_token_signed_response_alg: 'RS256',
          } as never,
          app.provider.now(),
        ),
        (e: unknown) => e instanceof AdminError && /RS256 is not allowed/.test(e.message),
      );
    });
  });
}
