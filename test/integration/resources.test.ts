/**
 * RFC 8707 resource indicators through inject(), on SQLite and PostgreSQL: several resources at
 * /authorize and /par, one resource per access token at the token endpoint, per-resource scopes
 * (resource_scopes), downscoping at refresh, invalid_target for everything out of bounds, and the
 * single-resource behaviour of existing clients unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import { MAX_RESOURCES } from '../../src/protocol/resources.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const [A, B, C] = ['https://a.api.example/', 'https://b.api.example/', 'https://c.api.example/'];
const SECRET = 'multi-secret-0123456789-abcdefghijklmnop';
const CB = 'https://multi.example/cb';

for (const backend of await backends()) {
  describe(`resource indicators (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let jwks: ReturnType<typeof createLocalJWKSet>;
    before(async () => {
      app = await testApp(backend.url!);
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'multi',
          client_secret: SECRET,
          redirect_uris: [CB],
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          scope: 'openid offline_access api:read api:write',
          allowed_resources: [A, B, C],
          resource_scopes: { [A]: ['api:read'], [B]: ['api:write'] },
        },
        app.provider.now(),
      );
      jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const auth = { authorization: basic('multi', SECRET) };
    /** authorizeWithLogin takes a record, so repeated parameters go through the raw query here. */
    async function codeFor(resources: string[]) {
      const { verifier, challenge } = pkce();
      const q = new URLSearchParams({
        client_id: 'multi',
        redirect_uri: CB,
        response_type: 'code',
        scope: 'openid api:read api:write',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      for (const r of resources) q.append('resource', r);
      const pushed = await form(
        app,
        '/par',
        Object.fromEntries([...new Set(q.keys())].map((k) => [k, q.getAll(k)])),
        auth,
      );
      assert.equal(pushed.statusCode, 201, pushed.body);
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'multi',
        request_uri: pushed.json().request_uri,
      });
      return { verifier, code: redirect.searchParams.get('code')! };
    }
    const redeem = (c: { verifier: string; code: string }, resource?: string | string[]) =>
      form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: CB,
          ...(resource ? { resource } : {}),
        },
        auth,
      );
    const refresh = (rt: string, extra: Record<string, string | string[]> = {}) =>
      form(app, '/token', { grant_type: 'refresh_token', refresh_token: rt, ...extra }, auth);
    const claims = async (at: string) => (await jwtVerify(at, jwks, { issuer: ISSUER, typ: 'at+jwt' })).payload;

    it('several resources through PAR; the token request picks one: aud is that resource and the scope is its own', async () => {
      const c = await codeFor([A, B]);
      const res = await redeem(c, A);
      assert.equal(res.statusCode, 200, res.body);
      const t = res.json();
      assert.equal(t.scope, 'openid api:read');
      const at = await claims(t.access_token);
      assert.equal(at.aud, A);
      assert.equal(at.scope, 'openid api:read');
      assert.ok(t.id_token);
      // Refresh for the other granted resource: its own scopes.
      const r2 = await refresh(t.refresh_token, { resource: B });
      assert.equal(r2.statusCode, 200, r2.body);
      const at2 = await claims(r2.json().access_token);
      assert.equal(at2.aud, B);
      assert.equal(at2.scope, 'openid api:write');
      // Downscoping: fewer scopes for a granted resource.
      const r3 = await refresh(r2.json().refresh_token, { resource: B, scope: 'api:write' });
      assert.equal(r3.statusCode, 200, r3.body);
      assert.equal((await claims(r3.json().access_token)).scope, 'api:write');
      const rt = r3.json().refresh_token;
      // Never more: another resource, several at once, none when several were granted, a scope not granted.
      for (const [extra, error] of [
        [{ resource: C }, 'invalid_target'],
        [{ resource: 'https://evil.example/' }, 'invalid_target'],
        [{ resource: [A, B] }, 'invalid_target'],
        [{}, 'invalid_target'],
        [{ resource: A, scope: 'api:read offline_access' }, 'invalid_scope'],
        [{ resource: A, scope: 'api:admin' }, 'invalid_scope'],
      ] as const) {
        const r = await refresh(rt, extra as Record<string, string | string[]>);
        assert.equal(r.statusCode, 400, JSON.stringify(extra));
        assert.equal(r.json().error, error, JSON.stringify(extra));
      }
      // The refusals changed nothing: the refresh token still works.
      assert.equal((await refresh(rt, { resource: A })).statusCode, 200);
    });

    it('the token request must name one of the authorized resources when there are several', async () => {
      for (const resource of [undefined, C, [A, B]]) {
        const c = await codeFor([A, B]);
        const res = await redeem(c, resource);
        assert.equal(res.statusCode, 400);
        assert.equal(res.json().error, 'invalid_target', String(resource));
      }
    });

    it('repeated resource parameters at /authorize are kept together through the flow', async () => {
      const { verifier, challenge } = pkce();
      const q = new URLSearchParams({
        client_id: 'multi',
        redirect_uri: CB,
        response_type: 'code',
        scope: 'openid api:read api:write',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      q.append('resource', A);
      q.append('resource', C);
      // authorizeWithLogin builds the query with new URLSearchParams(params), which copies repeated names too.
      const redirect = await authorizeWithLogin(app, new Jar(), q as unknown as Record<string, string>);
      const c = { verifier, code: redirect.searchParams.get('code')! };
      const res = await redeem(c, C);
      assert.equal(res.statusCode, 200, res.body);
      const at = await claims(res.json().access_token);
      assert.equal(at.aud, C);
      assert.equal(at.scope, 'openid api:read api:write'); // no resource_scopes entry for C
      const r = await refresh(res.json().refresh_token, { resource: A });
      assert.equal((await claims(r.json().access_token)).aud, A);
      // B was not authorized here
      assert.equal((await refresh(r.json().refresh_token, { resource: B })).json().error, 'invalid_target');
    });

    it('refuses unknown resources, too many, and malformed ones with invalid_target at /authorize and /par', async () => {
      const { challenge } = pkce();
      const base = {
        client_id: 'multi',
        redirect_uri: CB,
        response_type: 'code',
        scope: 'openid',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const many = Array.from({ length: MAX_RESOURCES + 1 }, (_, i) => `https://r${i}.example/`);
      const bad: string[][] = [
        ['https://unknown.example/'],
        [A, 'https://unknown.example/'],
        [`${A}#frag`],
        ['relative/path'],
        many,
      ];
      for (const resources of bad) {
        const q = new URLSearchParams(base);
        for (const r of resources) q.append('resource', r);
        const res = await app.server.inject({ url: `/authorize?${q}` });
        assert.equal(res.statusCode, 303, resources.join(' '));
        const loc = new URL(res.headers.location as string);
        assert.equal(loc.origin + loc.pathname, CB);
        assert.equal(loc.searchParams.get('error'), 'invalid_target', resources.join(' '));
        assert.equal(loc.searchParams.get('state'), 's');
        const pushed = await form(app, '/par', { ...base, resource: resources }, auth);
        assert.equal(pushed.statusCode, 400);
        assert.equal(pushed.json().error, 'invalid_target');
      }
    });

    it('client credentials: one resource per token, with its scopes; several refused', async () => {
      const ok = await form(app, '/token', { grant_type: 'client_credentials', resource: B }, auth);
      assert.equal(ok.statusCode, 200, ok.body);
      const at = await claims(ok.json().access_token);
      assert.equal(at.aud, B);
      assert.equal(at.scope, 'api:write');
      const two = await form(app, '/token', { grant_type: 'client_credentials', resource: [A, B] }, auth);
      assert.equal(two.statusCode, 400);
      assert.equal(two.json().error, 'invalid_target');
      const other = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', resource: 'https://unknown.example/' },
        auth,
      );
      assert.equal(other.json().error, 'invalid_target');
    });

    it('single-resource behaviour is unchanged: the only resource needs no naming at the token endpoint', async () => {
      const c = await codeFor([C]);
      const res = await redeem(c);
      assert.equal(res.statusCode, 200, res.body);
      const at = await claims(res.json().access_token);
      assert.equal(at.aud, C);
      assert.equal(at.scope, 'openid api:read api:write'); // no resource_scopes entry for C
      const none = await codeFor([]);
      const plain = await redeem(none);
      assert.equal((await claims(plain.json().access_token)).aud, ISSUER);
    });

    it('refuses bad resource_scopes metadata', async () => {
      const now = app.provider.now();
      for (const [resource_scopes, message] of [
        [[A], /must be an object/],
        [{ 'not a uri': ['api:read'] }, /not an absolute URI/],
        [{ 'https://unknown.example/': ['api:read'] }, /not one of allowed_resources/],
        [{ [A]: ['api:admin'] }, /not one of the client's scopes/],
        [{ [A]: 'api:read' }, /list of strings/],
      ] as const) {
        await assert.rejects(
          saveClient(
            app.stores,
            app.provider.config,
            { client_id: 'multi', resource_scopes: resource_scopes as never },
            now,
          ),
          (err: Error) => err instanceof AdminError && message.test(err.message),
          JSON.stringify(resource_scopes),
        );
      }
      assert.deepEqual((await app.stores.clients.get('multi'))!.metadata.resource_scopes, {
        [A]: ['api:read'],
        [B]: ['api:write'],
      });
    });
  });
}
