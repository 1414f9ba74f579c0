/**
 * Groups, application roles and attributes as claims (issue 20), through inject() on SQLite and
 * PostgreSQL: set up through the admin API (break-glass token), then real authorization code flows
 * (/authorize, login, consent, /token), refresh, userinfo and client credentials. A resource server's
 * role mapping reaches only its access tokens, a client's group and attribute mappings its ID token
 * and userinfo, each only under the scope that releases it; the consent page says what each scope
 * shares; the API refuses reserved claim names, unknown applications and bad values. Last, the worked
 * example of docs/admin.md: a tiny API checking a role in an RFC 9068 access token with jose.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { authorizeUrl, backends, basic, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';
const ORDERS = 'https://orders.example/api';
const SHOP_SECRET = 'shop-secret-0123456789-abcdefghijklmnop';
const CB = 'https://shop.example/cb';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * The worked example of docs/admin.md: an API that accepts Tessera's RFC 9068 access tokens for its
 * own audience and lets only holders of its `admin` role in. `jwksUrl` is Tessera's /jwks.
 */
function ordersApi(jwksUrl: URL, issuer: string): Server {
  const jwks = createRemoteJWKSet(jwksUrl);
  return createServer(async (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    try {
      if (!token) throw new Error('no token');
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: ORDERS,
        typ: 'at+jwt', // RFC 9068: refuses ID tokens and other JWTs
        algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      });
      const roles = Array.isArray(payload.roles) ? payload.roles : [];
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!scopes.includes('orders:read') || !roles.includes('admin')) {
        res.writeHead(403, { 'www-authenticate': 'Bearer error="insufficient_scope"' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ orders: [], for: payload.sub }));
    } catch {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
  });
}

for (const backend of await backends()) {
  describe(`directory claims (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let jwks: ReturnType<typeof createLocalJWKSet>;
    let aliceId: string;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_ADMIN_TOKEN: TOKEN,
        TESSERA_EXTRA_SCOPES: 'api:read api:write orders:read',
      });
      const { config } = app.provider;
      await saveResourceServer(
        app.stores,
        config,
        { identifier: ORDERS, display_name: 'Orders', scopes: { 'orders:read': 'See your orders' } },
        app.provider.now(),
      );
      await saveClient(
        app.stores,
        config,
        {
          client_id: 'shop',
          client_secret: SHOP_SECRET,
          client_name: 'Shop',
          redirect_uris: [CB],
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          scope: 'openid profile orders:read',
          allowed_resources: [ORDERS],
        },
        app.provider.now(),
      );
      // A gateway that exchanges the shop's access tokens for tokens to the orders API (RFC 8693).
      await saveClient(
        app.stores,
        config,
        {
          client_id: 'gateway',
          client_secret: SHOP_SECRET,
          grant_types: [EXCHANGE],
          redirect_uris: [],
          scope: 'orders:read',
          token_exchange: { audiences: [ORDERS], subject_clients: ['shop'] },
        },
        app.provider.now(),
      );
      aliceId = (await app.stores.users.findByUsername('alice'))!.id;
      jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) =>
      app.server.inject({
        method,
        url: `/admin/api/v1${path}`,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
    const ok = async (res: Awaited<ReturnType<typeof api>>, status = 200) => {
      assert.equal(res.statusCode, status, res.body);
      return res.statusCode === 204 ? undefined : res.json();
    };
    const auth = { authorization: basic('shop', SHOP_SECRET) };

    /** /authorize, login, then the consent page (returned), then allow: the code. */
    async function flow(scope: string, resource?: string) {
      const jar = new Jar();
      const { verifier, challenge } = pkce();
      const params: Record<string, string> = {
        client_id: 'shop',
        redirect_uri: CB,
        response_type: 'code',
        scope,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        nonce: 'n',
        prompt: 'consent',
        ...(resource ? { resource } : {}),
      };
      let res = await app.server.inject({ url: authorizeUrl(params), headers: { cookie: jar.header() } });
      jar.take(res);
      let consentPage = '';
      for (let i = 0; i < 4 && res.statusCode === 303; i++) {
        const location = new URL(res.headers.location as string);
        if (!location.href.startsWith(`${ISSUER}/interaction/`)) {
          const code = location.searchParams.get('code');
          assert.ok(code, location.href);
          const token = await form(
            app,
            '/token',
            { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CB },
            auth,
          );
          assert.equal(token.statusCode, 200, token.body);
          return { consentPage, tokens: token.json() };
        }
        const page = await app.server.inject({ url: location.pathname, headers: { cookie: jar.header() } });
        const login = page.body.includes('name="password"');
        if (!login) consentPage = page.body;
        res = await form(
          app,
          `${location.pathname}/${login ? 'login' : 'consent'}`,
          login
            ? { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) }
            : { decision: 'allow', csrf: csrfOf(page.body) },
          { cookie: jar.header() },
        );
        jar.take(res);
      }
      throw new Error(`the flow did not end at the client: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const verifyAccess = async (token: string, audience: string) =>
      (await jwtVerify(token, jwks, { issuer: ISSUER, audience, typ: 'at+jwt' })).payload;
    const verifyId = async (token: string) =>
      (await jwtVerify(token, jwks, { issuer: ISSUER, audience: 'shop' })).payload;
    const userinfo = async (token: string) => {
      const res = await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    it('sets up groups, an application role, an attribute and mappings through the admin API', async () => {
      const staff = await ok(await api('POST', '/groups', { name: 'staff', description: 'Everyone on staff' }), 201);
      await ok(await api('PUT', `/groups/${staff.id}/members/${aliceId}`), 201);
      const ops = await ok(await api('POST', '/groups', { name: 'ops' }), 201);
      await ok(await api('PUT', `/groups/${ops.id}/members/${aliceId}`), 201);
      await ok(await api('PUT', `/groups/${ops.id}/members/${aliceId}`), 200); // a member already
      assert.deepEqual(
        (await ok(await api('GET', `/users/${aliceId}/groups`))).items.map((g: { name: string }) => g.name),
        ['ops', 'staff'],
      );
      await ok(await api('POST', `/users/${aliceId}/app-roles`, { resource: ORDERS, role: 'admin' }), 201);
      await ok(await api('PUT', `/users/${aliceId}/attributes/department`, { value: 'sales' }));
      await ok(
        await api('POST', '/claim-mappings', {
          resource: ORDERS,
          claim: 'roles',
          source: 'roles',
          scope: 'orders:read',
          targets: ['access_token'],
        }),
        201,
      );
      await ok(
        await api('POST', '/claim-mappings', {
          client_id: 'shop',
          claim: 'groups',
          source: 'groups',
          scope: 'profile',
          targets: ['id_token', 'userinfo'],
        }),
        201,
      );
      await ok(
        await api('POST', '/claim-mappings', {
          client_id: 'shop',
          claim: 'department',
          source: 'attribute',
          attribute: 'department',
          scope: 'profile',
          targets: ['userinfo'],
        }),
        201,
      );
      const listed = await ok(await api('GET', '/claim-mappings?client_id=shop'));
      assert.deepEqual(
        listed.items.map((m: { claim: string }) => m.claim),
        ['department', 'groups'],
      );
    });

    it('refuses reserved claim names, unknown applications and bad values, and stores nothing', async () => {
      const mapping = { client_id: 'shop', source: 'groups', scope: 'profile', targets: ['id_token'] };
      for (const claim of ['sub', 'SUB', 'scope', 'client_id', 'cnf', 'acr', 'amr', 'nonce', 'azp', 'email', 'aud']) {
        const res = await api('POST', '/claim-mappings', { ...mapping, claim });
        assert.equal(res.statusCode, 400, `${claim}: ${res.body}`);
        assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
        assert.match(res.json().detail, /reserved/);
      }
      const refused: [unknown, number, RegExp][] = [
        [{ ...mapping, client_id: 'nobody', claim: 'g' }, 404, /no client/],
        [{ ...mapping, client_id: 'https://app.example/client.json', claim: 'g' }, 400, /Metadata Document/],
        [{ ...mapping, client_id: undefined, resource: 'https://nowhere.example/', claim: 'g' }, 404, /no resource/],
        [{ ...mapping, resource: ORDERS, claim: 'g' }, 400, /exactly one/],
        [{ ...mapping, claim: 'groups' }, 409, /already/],
        [{ ...mapping, claim: 'has space' }, 400, /claim must be/],
        [{ ...mapping, claim: 'g', scope: 'orders:write' }, 400, /scope/],
        [{ ...mapping, claim: 'g', scope: 'email' }, 400, /may not ask for scope email/],
        [{ ...mapping, claim: 'g', type: 'number' }, 400, /strings/],
        [{ ...mapping, claim: 'g', targets: [] }, 400, /targets/],
        [{ ...mapping, claim: 'g', source: 'attribute' }, 400, /attribute/],
        [
          { ...mapping, client_id: undefined, resource: ORDERS, claim: 'g', targets: ['id_token'] },
          400,
          /access tokens/,
        ],
      ];
      for (const [body, status, detail] of refused) {
        const res = await api('POST', '/claim-mappings', body);
        assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
        assert.match(res.json().detail ?? res.json().code, detail);
      }
      for (const [path, body, status] of [
        [`/users/${aliceId}/attributes/level`, { value: { nested: true } }, 400],
        [`/users/${aliceId}/attributes/level`, { type: 'number', value: 'three' }, 400],
        [`/users/${aliceId}/attributes/level`, { value: 'line\nbreak' }, 400],
        [`/users/${aliceId}/attributes/9bad`, { value: 'x' }, 400],
        ['/users/nobody/attributes/level', { value: 'x' }, 404],
      ] as const) {
        const res = await api('PUT', path, body);
        assert.equal(res.statusCode, status, `${path} ${JSON.stringify(body)}: ${res.body}`);
      }
      for (const [body, status] of [
        [{ resource: ORDERS, role: 'has space' }, 400],
        [{ resource: 'https://nowhere.example/', role: 'admin' }, 404],
        [{ client_id: 'nobody', role: 'admin' }, 404],
        [{ role: 'admin' }, 400],
      ] as const) {
        const res = await api('POST', `/users/${aliceId}/app-roles`, body);
        assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
      }
      assert.equal((await api('POST', '/groups', { name: 'STAFF' })).statusCode, 409, 'names unique without case');
      assert.equal((await api('POST', '/groups', { name: '' })).statusCode, 400);
      // Nothing of it was stored.
      assert.equal((await ok(await api('GET', '/claim-mappings'))).items.length, 3);
      assert.deepEqual(
        (await ok(await api('GET', `/users/${aliceId}/attributes`))).items.map((a: { name: string }) => a.name),
        ['department'],
      );
      assert.equal((await ok(await api('GET', `/users/${aliceId}/app-roles`))).items.length, 1);
    });

    it('the consent page shows what each scope shares', async () => {
      const { consentPage } = await flow('openid profile orders:read', ORDERS);
      const item = (scope: string) =>
        new RegExp(
          `<code class="scope-name small">${scope}</code><span class="scope-releases small">Shares: ([^<]|<code>[^<]*</code>)*</span>`,
        ).exec(consentPage)?.[0];
      assert.match(item('profile') ?? '', /<code>department<\/code>, <code>groups<\/code>/);
      assert.match(item('orders:read') ?? '', /<code>roles<\/code>/);
      assert.equal(item('openid'), undefined, 'openid releases nothing of the directory');
    });

    it("a resource server's role reaches its access token; the client's groups and attribute its ID token and userinfo", async () => {
      const { tokens } = await flow('openid profile orders:read', ORDERS);
      const at = await verifyAccess(tokens.access_token, ORDERS);
      assert.deepEqual(at.roles, ['admin']);
      assert.equal(at.groups, undefined, "the client's mappings target its ID token and userinfo only");
      assert.equal(at.department, undefined);
      const id = await verifyId(tokens.id_token);
      assert.deepEqual(id.groups, ['ops', 'staff']);
      assert.equal(id.department, undefined, 'mapped to userinfo only');
      assert.equal(id.roles, undefined);
      // userinfo takes a token for Tessera's own audience.
      const plain = await flow('openid profile');
      const own = await verifyAccess(plain.tokens.access_token, ISSUER);
      assert.equal(own.roles, undefined, "the resource's mapping is for its own tokens only");
      assert.deepEqual(await userinfo(plain.tokens.access_token), {
        sub: aliceId,
        name: 'Alice Example',
        preferred_username: 'alice',
        updated_at: (await userinfo(plain.tokens.access_token)).updated_at,
        groups: ['ops', 'staff'],
        department: 'sales',
      });
    });

    it('without the scope that releases them, no claims', async () => {
      const { tokens } = await flow('openid', ORDERS);
      const at = await verifyAccess(tokens.access_token, ORDERS);
      assert.equal(at.roles, undefined);
      const id = await verifyId(tokens.id_token);
      assert.equal(id.groups, undefined);
      const info = await userinfo((await flow('openid')).tokens.access_token);
      assert.deepEqual(Object.keys(info), ['sub']);
    });

    it('refreshed tokens carry the directory as it is now; client credentials tokens carry no user claims', async () => {
      const { tokens } = await flow('openid profile orders:read', ORDERS);
      assert.ok(tokens.refresh_token);
      const refresh = (refresh_token: string) =>
        form(app, '/token', { grant_type: 'refresh_token', refresh_token }, auth).then((r) => {
          assert.equal(r.statusCode, 200, r.body);
          return r.json();
        });
      const first = await refresh(tokens.refresh_token);
      assert.deepEqual((await verifyAccess(first.access_token, ORDERS)).roles, ['admin']);
      await ok(
        await api('DELETE', `/users/${aliceId}/app-roles?resource=${encodeURIComponent(ORDERS)}&role=admin`),
        204,
      );
      const second = await refresh(first.refresh_token);
      assert.equal((await verifyAccess(second.access_token, ORDERS)).roles, undefined, 'the role was taken away');
      await ok(await api('POST', `/users/${aliceId}/app-roles`, { resource: ORDERS, role: 'admin' }), 201);
      const cc = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'orders:read', resource: ORDERS },
        auth,
      );
      assert.equal(cc.statusCode, 200, cc.body);
      const payload = decodeJwt(cc.json().access_token);
      assert.equal(payload.roles, undefined);
      assert.equal(payload.groups, undefined);
    });

    it("a token exchanged for the user carries the audience's directory claims too (RFC 8693)", async () => {
      const { tokens } = await flow('openid profile orders:read', ORDERS);
      const res = await form(
        app,
        '/token',
        {
          grant_type: EXCHANGE,
          subject_token: tokens.access_token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          audience: ORDERS,
        },
        { authorization: basic('gateway', SHOP_SECRET) },
      );
      assert.equal(res.statusCode, 200, res.body);
      const at = await verifyAccess(res.json().access_token, ORDERS);
      assert.equal(at.client_id, 'gateway');
      assert.equal(at.scope, 'orders:read');
      assert.deepEqual(at.roles, ['admin']);
      assert.equal(at.groups, undefined, "the shop's own mappings are for its ID token and userinfo");
    });

    it('changes through the API apply to the next token: a mapping deleted, a group deleted', async () => {
      const mappings = (await ok(await api('GET', '/claim-mappings?client_id=shop'))).items as {
        id: string;
        claim: string;
      }[];
      const groups = mappings.find((m) => m.claim === 'groups')!;
      const read = await api('GET', `/claim-mappings/${groups.id}`);
      const etag = read.headers.etag as string;
      const stale = await app.server.inject({
        method: 'PATCH',
        url: `/admin/api/v1/claim-mappings/${groups.id}`,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': '"stale"' },
        payload: JSON.stringify({ type: 'string' }),
      });
      assert.equal(stale.statusCode, 412, stale.body);
      const patched = await app.server.inject({
        method: 'PATCH',
        url: `/admin/api/v1/claim-mappings/${groups.id}`,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': etag },
        payload: JSON.stringify({ type: 'string' }),
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal((await verifyId((await flow('openid profile')).tokens.id_token)).groups, 'ops staff');
      const ops = (await ok(await api('GET', '/groups?search=ops'))).items[0];
      await ok(await api('DELETE', `/groups/${ops.id}`), 204);
      assert.equal((await verifyId((await flow('openid profile')).tokens.id_token)).groups, 'staff');
      await ok(await api('DELETE', `/claim-mappings/${groups.id}`), 204);
      assert.equal((await verifyId((await flow('openid profile')).tokens.id_token)).groups, undefined);
      assert.equal((await api('DELETE', `/claim-mappings/${groups.id}`)).statusCode, 404);
    });

    it('the worked example: an API checks a role in the access token with jose', async () => {
      await app.server.listen({ port: 0, host: '127.0.0.1' });
      const tessera = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
      const orders = ordersApi(new URL(`${tessera}/jwks`), ISSUER);
      await new Promise<void>((r) => orders.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(orders.address() as AddressInfo).port}/orders`;
        const call = (token?: string) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        const withRole = (await flow('openid orders:read', ORDERS)).tokens;
        const res = await call(withRole.access_token);
        assert.equal(res.status, 200);
        assert.equal((await res.json()).for, aliceId);
        assert.equal((await call(withRole.id_token)).status, 401, 'an ID token is not an access token');
        assert.equal((await call()).status, 401);
        // Tessera's own audience: not for this API.
        assert.equal((await call((await flow('openid profile')).tokens.access_token)).status, 401);
        await ok(
          await api('DELETE', `/users/${aliceId}/app-roles?resource=${encodeURIComponent(ORDERS)}&role=admin`),
          204,
        );
        const without = (await flow('openid orders:read', ORDERS)).tokens;
        assert.equal((await call(without.access_token)).status, 403);
      } finally {
        await new Promise<void>((r) => orders.close(() => r()));
      }
    });
  });
}
