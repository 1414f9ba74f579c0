/**
 * Tokens for the admin API (issue 20), on SQLite and PostgreSQL: openid-client as the caller (its
 * requests reach the app through inject(), by its customFetch hook), for an admin client's
 * client_credentials (Bearer and DPoP) and the CLI's device flow for a person (tessera-cli, with a
 * second factor; only the role's scopes; a role lowered or removed, a user disabled count at the next
 * call); and every way an ordinary, self-registered or Client ID Metadata Document client might try
 * to get admin scopes or the admin audience, refused. The break-glass TESSERA_ADMIN_TOKEN still works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import { beginTotp, confirmTotp } from '../../src/accounts/totp.ts';
import { createUser } from '../../src/accounts/users.ts';
import { applyBootstrap } from '../../src/admin/bootstrap.ts';
import { CLI_CLIENT_ID, ensureCliClient } from '../../src/admin/cli-client.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { setDisabled } from '../../src/admin/users.ts';
import { outboundHttp } from '../../src/adapters/outbound/http-client.ts';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { UserRecord } from '../../src/ports/users.ts';
import { ADMIN_SCOPES, ROLE_SCOPES } from '../../src/protocol/admin-scopes.ts';
import { authorizeUrl, backends, basic, csrfOf, FIXTURE, form, ISSUER, Jar, pkce } from '../fixtures/app.ts';
import { hasOpenssl, makePki, type TestPki } from '../fixtures/certs.ts';
import { startCimdDocumentServer, type CimdDocumentServer } from '../fixtures/mcp-cimd.ts';

const BREAK_GLASS = 'break-glass-token-0123456789-abcdefghijklmnop';
const OPS_SECRET = 'ops-secret-0123456789-abcdefghijklmnopqrs';
const PASSWORD = 'correct horse battery staple';
const AUDIENCE = `${ISSUER}/admin/api`;
const API = `${ISSUER}/admin/api/v1`;
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

/** A fetch that hands the request to the app (inject) and answers with a real Response: openid-client's customFetch. */
function viaInject(app: App): oidc.CustomFetch {
  return async (url, options) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    new Headers(options.headers as HeadersInit).forEach((v, k) => {
      headers[k] = v;
    });
    const body = options.body;
    const res = await app.server.inject({
      method: (options.method ?? 'GET') as InjectOptions['method'],
      url: u.pathname + u.search,
      headers,
      ...(body !== undefined && body !== null ? { payload: String(body) } : {}),
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) out.append(k, String(x));
    }
    const empty = res.statusCode === 204 || res.statusCode === 304;
    return new Response(empty ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers: out });
  };
}

for (const backend of await backends()) {
  describe(`tokens for the admin API (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let pki: TestPki | undefined;
    let docs: CimdDocumentServer | undefined;
    // The provider's clock: real time plus an offset the tests move (TOTP periods, expired tokens).
    let offset = 0;
    const clock = () => Math.floor(Date.now() / 1000) + offset;

    before(async () => {
      pki = hasOpenssl() ? makePki() : undefined;
      docs = pki ? await startCimdDocumentServer(pki) : undefined;
      const config = loadConfig({
        TESSERA_ENV: 'development',
        TESSERA_ISSUER: ISSUER,
        DATABASE_URL: backend.url!,
        TESSERA_SEED_DEMO: 'false',
        TESSERA_ADMIN_TOKEN: BREAK_GLASS,
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_DPOP_PROOF_WINDOW: '600',
        // Whatever the operator lists here, admin scopes are never offered to self-registered clients.
        TESSERA_EXTRA_SCOPES: 'api:read api:write admin:keys:read',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_SCOPES: 'openid api:read admin:keys:read',
        TESSERA_REGISTRATION_GRANT_TYPES: `authorization_code,client_credentials,${DEVICE}`,
        TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      });
      app = await buildApp(config, {
        logger: pino({ level: 'silent' }),
        now: clock,
        ...(pki ? { outbound: outboundHttp({ ca: pki.ca.certPem }) } : {}),
      });
      await applyBootstrap(app.stores, config, FIXTURE, clock());
      await saveClient(
        app.stores,
        config,
        {
          client_id: 'ops',
          client_name: 'Ops automation',
          client_secret: OPS_SECRET,
          grant_types: ['client_credentials'],
          scope: 'admin:keys:read admin:audit:read',
          redirect_uris: [],
          admin_client: true,
        },
        clock(),
      );
    });
    after(async () => {
      await app?.close();
      await docs?.close();
      pki?.cleanup();
      await backend.drop?.();
    });

    const discover = async (clientId: string, auth: oidc.ClientAuth) => {
      const config = await oidc.discovery(new URL(ISSUER), clientId, undefined, auth, {
        execute: [oidc.allowInsecureRequests],
        [oidc.customFetch]: viaInject(app),
      });
      config[oidc.customFetch] = viaInject(app);
      return config;
    };
    const ops = () => discover('ops', oidc.ClientSecretBasic(OPS_SECRET));
    const call = (token: string, path = '/keys', method: 'GET' | 'POST' = 'GET', scheme = 'Bearer') =>
      app.server.inject({ method, url: `/admin/api/v1${path}`, headers: { authorization: `${scheme} ${token}` } });
    const token = (client: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
      form(app, '/token', { grant_type: 'client_credentials', ...body }, { authorization: basic(client), ...headers });
    const expectOAuth = (res: LightMyRequestResponse, status: number, error: string) => {
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().error, error, res.body);
    };
    const expectProblem = (res: LightMyRequestResponse, status: number, code: string) => {
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
      const p = res.json();
      assert.equal(p.status, status);
      assert.equal(p.code, code);
      return p;
    };

    it('provisions the CLI client once: public, the device flow only, an admin client with every admin scope', async () => {
      const cli = await app.stores.clients.get(CLI_CLIENT_ID);
      assert.ok(cli);
      assert.equal(cli.tokenEndpointAuthMethod, 'none');
      assert.deepEqual(cli.grantTypes, [DEVICE]);
      assert.deepEqual(cli.redirectUris, []);
      assert.deepEqual(cli.scopes, [...ADMIN_SCOPES]);
      assert.equal(cli.metadata.admin_client, true);
      await app.audit.flush();
      const made = await app.stores.audit.query({ type: 'cli_client_provisioned', from: 0 });
      assert.deepEqual(
        made.map((r) => [r.actor, r.clientId]),
        [['system', CLI_CLIENT_ID]],
      );
      // Again (another start, or instances starting together): nothing changes.
      assert.equal(await ensureCliClient(app.stores, app.provider.config, clock()), 'present');
      assert.deepEqual(await app.stores.clients.get(CLI_CLIENT_ID), cli);
    });

    it('an admin client gets a token by client_credentials: admin audience, TESSERA_ADMIN_TOKEN_TTL, no refresh', async () => {
      const config = await ops();
      const t = await oidc.clientCredentialsGrant(config);
      assert.equal(t.token_type.toLowerCase(), 'bearer');
      assert.equal(t.refresh_token, undefined);
      assert.equal(t.scope, 'admin:keys:read admin:audit:read');
      assert.equal(t.expires_in, app.provider.config.adminTokenTtl);
      const claims = decodeJwt(t.access_token);
      assert.equal(claims.aud, AUDIENCE);
      assert.equal(claims.sub, 'ops');
      assert.equal(claims.exp! - claims.iat!, app.provider.config.adminTokenTtl);

      const keys = await oidc.fetchProtectedResource(config, t.access_token, new URL(`${API}/keys`), 'GET');
      assert.equal(keys.status, 200);
      assert.ok(Array.isArray(((await keys.json()) as { keys: unknown[] }).keys));
      // Beyond its scopes: a 403 problem, nothing rotated.
      const before = (await call(t.access_token)).json().keys.length;
      const p = expectProblem(await call(t.access_token, '/keys/rotate', 'POST'), 403, 'forbidden');
      assert.match(p.detail, /admin:keys:write/);
      assert.equal((await call(t.access_token)).json().keys.length, before);

      // Fewer scopes, named; the admin audience named: fine.
      const narrow = await oidc.clientCredentialsGrant(config, { scope: 'admin:keys:read', resource: AUDIENCE });
      assert.equal(narrow.scope, 'admin:keys:read');
      expectProblem(await call(narrow.access_token, '/keys/rotate', 'POST'), 403, 'forbidden');
    });

    it("refuses an admin client's request beyond the rules: other scopes, offline_access, another resource", async () => {
      expectOAuth(
        await token('ops', { scope: 'admin:keys:write' }, { authorization: basic('ops', OPS_SECRET) }),
        400,
        'invalid_scope',
      );
      for (const scope of ['admin:keys:read offline_access', 'admin:keys:read api:read', 'api:read', 'admin:nope'])
        expectOAuth(await token('ops', { scope }, { authorization: basic('ops', OPS_SECRET) }), 400, 'invalid_scope');
      for (const resource of ['https://api.example/', `${AUDIENCE}/`, ISSUER])
        expectOAuth(
          await token('ops', { resource }, { authorization: basic('ops', OPS_SECRET) }),
          400,
          'invalid_target',
        );
    });

    it('ordinary clients never get admin scopes nor the admin audience; discovery lists no admin scope', async () => {
      // client_credentials of an ordinary client.
      expectOAuth(await token('svc', { scope: 'admin:keys:read' }), 400, 'invalid_scope');
      expectOAuth(await token('svc', { scope: 'api:read', resource: AUDIENCE }), 400, 'invalid_target');
      // /authorize of an ordinary client: the error goes back to it, no login page.
      const { challenge } = pkce();
      const asks: Record<string, string>[] = [
        { scope: 'openid admin:keys:read' },
        { scope: 'openid', resource: AUDIENCE },
      ];
      for (const extra of asks) {
        const res = await app.server.inject({
          url: authorizeUrl({
            client_id: 'web',
            redirect_uri: 'https://app.example/cb',
            response_type: 'code',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            ...extra,
          }),
        });
        assert.equal(res.statusCode, 303, res.body);
        const error = new URL(res.headers.location as string).searchParams.get('error');
        assert.equal(error, extra.resource ? 'invalid_target' : 'invalid_scope');
      }
      // An operator cannot give an ordinary client an admin scope either.
      await assert.rejects(
        saveClient(
          app.stores,
          app.provider.config,
          { client_id: 'sneaky', grant_types: ['client_credentials'], scope: 'admin:keys:read', redirect_uris: [] },
          clock(),
        ),
        /only an admin client/,
      );
      const discovery = (await app.server.inject({ url: '/.well-known/openid-configuration' })).json();
      assert.ok(discovery.scopes_supported.includes('api:read'));
      assert.ok(!discovery.scopes_supported.some((s: string) => s.startsWith('admin:')));
    });

    it('a self-registered client can neither register nor obtain admin scopes, whatever TESSERA_REGISTRATION_* say', async () => {
      const register = (body: Record<string, unknown>) =>
        app.server.inject({
          method: 'POST',
          url: '/register',
          payload: body,
          headers: { 'content-type': 'application/json' },
        });
      expectOAuth(
        await register({ grant_types: ['client_credentials'], scope: 'admin:keys:read' }),
        400,
        'invalid_client_metadata',
      );
      expectOAuth(
        await register({ grant_types: ['client_credentials'], scope: 'api:read', admin_client: true }),
        400,
        'invalid_client_metadata',
      );
      const made = await register({ grant_types: ['client_credentials'], scope: 'api:read' });
      assert.equal(made.statusCode, 201, made.body);
      const { client_id: id, client_secret: secret } = made.json();
      const auth = { authorization: basic(id, secret) };
      expectOAuth(await token(id, { scope: 'admin:keys:read' }, auth), 400, 'invalid_scope');
      expectOAuth(await token(id, { scope: 'api:read', resource: AUDIENCE }, auth), 400, 'invalid_target');
      assert.equal((await token(id, { scope: 'api:read' }, auth)).statusCode, 200);
      // Its registration management (RFC 7592) cannot make it one either.
      const stored = await app.stores.clients.get(id);
      assert.equal(stored?.metadata.admin_client, undefined);
      await assert.rejects(
        saveClient(
          app.stores,
          app.provider.config,
          { client_id: id, scope: 'admin:keys:read', grant_types: ['client_credentials'], admin_client: true },
          clock(),
        ),
        /dynamically registered client cannot be an admin client/,
      );
      // Nor its device flow.
      const device = await register({ grant_types: [DEVICE], scope: 'api:read', token_endpoint_auth_method: 'none' });
      assert.equal(device.statusCode, 201, device.body);
      expectOAuth(
        await form(app, '/device_authorization', { client_id: device.json().client_id, scope: 'admin:keys:read' }),
        400,
        'invalid_scope',
      );
    });

    it('a Client ID Metadata Document client cannot hold or obtain admin scopes', {
      skip: hasOpenssl() ? false : 'openssl not found',
    }, async () => {
      const base = {
        client_name: 'Agent',
        redirect_uris: ['http://127.0.0.1:33418/callback'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'none',
      };
      const { challenge } = pkce();
      const authorize = (clientId: string, extra: Record<string, string>) =>
        app.server.inject({
          url: authorizeUrl({
            client_id: clientId,
            redirect_uri: 'http://127.0.0.1:33418/callback',
            response_type: 'code',
            code_challenge: challenge,
            code_challenge_method: 'S256',
            ...extra,
          }),
        });
      const refused = (res: LightMyRequestResponse, error: string) => {
        // A self-registered client's errors are shown on a page (RFC 9700 section 4.11.2), or sent back: never a login.
        if (res.statusCode === 303)
          assert.equal(new URL(res.headers.location as string).searchParams.get('error'), error);
        else assert.equal(res.statusCode, 400, res.body);
        assert.ok(!String(res.headers.location ?? '').includes('/interaction/'));
      };
      const plain = docs!.serve(`/plain-${backend.name}.json`, { ...base, scope: 'openid api:read' });
      refused(await authorize(plain, { scope: 'openid admin:keys:read' }), 'invalid_scope');
      refused(await authorize(plain, { scope: 'openid', resource: AUDIENCE }), 'invalid_target');
      // A document that lists an admin scope (or claims to be an admin client) is not a client at all.
      const greedy = docs!.serve(`/greedy-${backend.name}.json`, {
        ...base,
        scope: 'openid admin:keys:read',
        admin_client: true,
      });
      const res = await authorize(greedy, { scope: 'openid' });
      assert.equal(res.statusCode, 400, res.body);
      assert.ok(!String(res.headers.location ?? '').includes('/interaction/'));
    });

    it('an ordinary access token is refused by the admin API (401), as is no token or a forged one', async () => {
      const svc = await token('svc', { scope: 'api:read' });
      assert.equal(svc.statusCode, 200, svc.body);
      const res = await call(svc.json().access_token);
      expectProblem(res, 401, 'invalid_token');
      assert.match(res.headers['www-authenticate'] as string, /^Bearer realm="tessera-admin", error="invalid_token"/);
      expectProblem(await call('not.a.token'), 401, 'invalid_token');
      const missing = await app.server.inject({ url: '/admin/api/v1/keys' });
      expectProblem(missing, 401, 'invalid_token');
      // Cookies are never read, whatever they hold.
      const withCookie = await app.server.inject({
        url: '/admin/api/v1/keys',
        headers: { cookie: `__Host-tessera_session=${svc.json().access_token}` },
      });
      expectProblem(withCookie, 401, 'invalid_token');
    });

    it('a DPoP-bound admin token works with a proof of its key, and is refused as a Bearer token or with another key', async () => {
      const config = await ops();
      const key = await oidc.randomDPoPKeyPair('ES256');
      const DPoP = oidc.getDPoPHandle(config, key);
      const t = await oidc.clientCredentialsGrant(config, { scope: 'admin:keys:read' }, { DPoP });
      assert.equal(t.token_type.toLowerCase(), 'dpop');
      assert.ok((decodeJwt(t.access_token).cnf as { jkt?: string }).jkt);
      const ok = await oidc.fetchProtectedResource(
        config,
        t.access_token,
        new URL(`${API}/keys`),
        'GET',
        undefined,
        undefined,
        { DPoP },
      );
      assert.equal(ok.status, 200);
      // As a bearer token (RFC 9449 section 7.2), or with the DPoP scheme and no proof: refused.
      const bearer = await call(t.access_token);
      expectProblem(bearer, 401, 'invalid_token');
      expectProblem(await call(t.access_token, '/keys', 'GET', 'DPoP'), 401, 'invalid_dpop_proof');
      // A proof of another key.
      const other = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
      await assert.rejects(
        oidc.fetchProtectedResource(config, t.access_token, new URL(`${API}/keys`), 'GET', undefined, undefined, {
          DPoP: other,
        }),
        (e: oidc.WWWAuthenticateChallengeError) =>
          e.status === 401 && e.cause[0]?.scheme === 'dpop' && e.cause[0]?.parameters.error === 'invalid_token',
      );
    });

    it('an expired admin token is refused; a client no longer an admin client, or disabled, loses its tokens at once', async () => {
      offset = -(app.provider.config.adminTokenTtl + 120);
      const old = await token('ops', {}, { authorization: basic('ops', OPS_SECRET) });
      offset = 0;
      assert.equal(old.statusCode, 200, old.body);
      expectProblem(await call(old.json().access_token), 401, 'invalid_token');

      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'ops2',
          client_secret: OPS_SECRET,
          grant_types: ['client_credentials'],
          scope: 'admin:keys:read',
          redirect_uris: [],
          admin_client: true,
        },
        clock(),
      );
      const t = (await token('ops2', {}, { authorization: basic('ops2', OPS_SECRET) })).json().access_token as string;
      assert.equal((await call(t)).statusCode, 200);
      await saveClient(
        app.stores,
        app.provider.config,
        { client_id: 'ops2', scope: 'api:read', admin_client: false },
        clock(),
      );
      expectProblem(await call(t), 401, 'invalid_token');
    });

    it('the break-glass TESSERA_ADMIN_TOKEN still works', async () => {
      const res = await call(BREAK_GLASS);
      assert.equal(res.statusCode, 200, res.body);
      // Operators see which clients are admin clients.
      const cli = await call(BREAK_GLASS, `/clients/${CLI_CLIENT_ID}`);
      assert.equal(cli.statusCode, 200, cli.body);
      assert.equal(cli.json().admin_client, true);
      expectProblem(await call(`${BREAK_GLASS}x`), 401, 'invalid_token');
    });

    describe('the device flow for a person (tessera login --remote)', () => {
      const newUser = async (username: string): Promise<UserRecord> => {
        const made = await createUser(app.stores, { username, password: PASSWORD }, clock(), { origin: 'operator' });
        assert.ok('user' in made);
        return made.user;
      };
      const enrolTotp = async (user: UserRecord): Promise<string> => {
        const cfg = app.provider.config;
        const e = await beginTotp(app.stores, cfg, user, 'Tessera', clock());
        assert.equal(await confirmTotp(app.stores, cfg, user.id, e.factor.id, codeOf(e.secret), clock()), 'ok');
        offset += 30; // the next code is another period's
        return e.secret;
      };
      const codeOf = (secret: string) =>
        new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
          timestamp: clock() * 1000,
        });
      const setRole = (userId: string, role: 'owner' | 'admin' | 'support' | 'auditor') =>
        app.stores.adminRoles.set({ userId, role, grantedAt: clock(), grantedBy: 'admin' });

      const get = (jar: Jar, url: string) =>
        app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } }).then((r) => {
          jar.take(r);
          return r;
        });
      const post = (jar: Jar, url: string, body: Record<string, string>) =>
        form(app, url, body, { cookie: jar.header() }).then((r) => {
          jar.take(r);
          return r;
        });

      /**
       * The CLI starts the device flow; the person enters the code, signs in (password, then the code
       * of `totp` when asked) and allows. Returns the steps seen, the consent page, and the CLI's poll.
       */
      async function deviceLogin(username: string, totp: string | undefined, scope: string) {
        const cli = await discover(CLI_CLIENT_ID, oidc.None());
        const started = await oidc.initiateDeviceAuthorization(cli, { scope, resource: AUDIENCE });
        const jar = new Jar();
        const entry = await get(jar, '/device');
        let res = await post(jar, '/device', { user_code: started.user_code, csrf: csrfOf(entry.body) });
        const steps: string[] = [];
        let consent = '';
        for (let i = 0; i < 8 && res.statusCode === 303; i++) {
          const location = new URL(res.headers.location as string);
          // Sent to enrol a factor in the account area (no grace period, no "skip for now"): the device waits.
          if (location.pathname.startsWith('/account/security/')) {
            steps.push('enrol');
            break;
          }
          const page = await get(jar, location.pathname + location.search);
          if (page.statusCode === 303) {
            res = page;
            continue;
          }
          if (page.body.includes('name="password"')) {
            steps.push('login');
            res = await post(jar, `${location.pathname}/login`, {
              username,
              password: PASSWORD,
              csrf: csrfOf(page.body),
            });
          } else if (location.pathname.endsWith('/mfa')) {
            if (page.body.includes('name="code"') && totp) {
              steps.push('mfa');
              res = await post(jar, location.pathname, { code: codeOf(totp), csrf: csrfOf(page.body) });
            } else {
              steps.push(page.body.includes('value="skip"') ? 'enrol-skippable' : 'mfa-unanswered');
              break;
            }
          } else {
            steps.push('consent');
            consent = page.body;
            res = await post(jar, `${location.pathname}/consent`, { decision: 'allow', csrf: csrfOf(page.body) });
          }
        }
        const poll = () => oidc.genericGrantRequest(cli, DEVICE, { device_code: started.device_code });
        return { steps, consent, done: res, poll };
      }

      it("a person with the support role: a second factor first, then only support's scopes, for the admin API", async () => {
        const sam = await newUser('sam');
        await setRole(sam.id, 'support');
        const asked = 'admin:users:read admin:sessions:read admin:keys:read admin:keys:write';
        // No factor yet: the sign-in stops at enrolment, which cannot be skipped; the device gets nothing.
        const first = await deviceLogin('sam', undefined, asked);
        assert.deepEqual(first.steps, ['login', 'enrol']);
        await assert.rejects(first.poll(), (e: oidc.ResponseBodyError) => e.error === 'authorization_pending');

        const secret = await enrolTotp(sam);
        const second = await deviceLogin('sam', secret, asked);
        assert.deepEqual(second.steps, ['login', 'mfa', 'consent']);
        // The consent page names the admin API and says plainly what each scope allows.
        assert.match(second.consent, /Tessera administration/);
        assert.match(second.consent, /Administer Tessera: see every user account/);
        assert.match(second.consent, /Administer Tessera: rotate and retire the signing keys/);
        assert.equal(second.done.statusCode, 200, second.done.body);
        const t = await second.poll();
        assert.equal(t.refresh_token, undefined);
        assert.equal(t.id_token, undefined);
        assert.equal(t.scope, 'admin:users:read admin:sessions:read');
        assert.ok(t.scope!.split(' ').every((s) => ROLE_SCOPES.support.includes(s as never)));
        const claims = decodeJwt(t.access_token);
        assert.equal(claims.aud, AUDIENCE);
        assert.equal(claims.client_id, CLI_CLIENT_ID);
        assert.ok((claims.amr as string[]).includes('mfa'));
        assert.equal(claims.exp! - claims.iat!, app.provider.config.adminTokenTtl);
        // Support holds no key scope: the keys are out of reach.
        expectProblem(await call(t.access_token), 403, 'forbidden');

        // Every sign-in of a person with an admin role asks the second factor, an ordinary application's too.
        const { challenge } = pkce();
        const jar = new Jar();
        const start = await get(
          jar,
          authorizeUrl({
            client_id: 'web',
            redirect_uri: 'https://app.example/cb',
            response_type: 'code',
            scope: 'openid',
            code_challenge: challenge,
            code_challenge_method: 'S256',
          }),
        );
        const uid = new URL(start.headers.location as string).pathname;
        const login = await get(jar, uid);
        const after = await post(jar, `${uid}/login`, {
          username: 'sam',
          password: PASSWORD,
          csrf: csrfOf(login.body),
        });
        assert.equal(after.headers.location, `${ISSUER}${uid}/mfa`);
      });

      it('a role lowered or removed, or the user disabled, counts at the next call', async () => {
        const ada = await newUser('ada');
        await setRole(ada.id, 'auditor');
        const secret = await enrolTotp(ada);
        const login = await deviceLogin('ada', secret, 'admin:keys:read admin:audit:read');
        assert.deepEqual(login.steps, ['login', 'mfa', 'consent']);
        const t = (await login.poll()).access_token;
        assert.equal((await call(t)).statusCode, 200);
        // Lowered to support (no keys:read): 403 at once.
        await setRole(ada.id, 'support');
        expectProblem(await call(t), 403, 'forbidden');
        // Back to auditor, then the role removed: the token speaks for nobody with a role.
        await setRole(ada.id, 'auditor');
        assert.equal((await call(t)).statusCode, 200);
        assert.equal(await app.stores.adminRoles.remove(ada.id), true);
        expectProblem(await call(t), 401, 'invalid_token');

        await setRole(ada.id, 'auditor');
        offset += 30;
        const again = await deviceLogin('ada', secret, 'admin:keys:read');
        const t2 = (await again.poll()).access_token;
        assert.equal((await call(t2)).statusCode, 200);
        await setDisabled(app.stores, 'ada', true, clock());
        expectProblem(await call(t2), 401, 'invalid_token');
      });

      it('a person without an admin role is told so at approval, and the device gets access_denied', async () => {
        const nia = await newUser('nia');
        const secret = await enrolTotp(nia);
        const login = await deviceLogin('nia', secret, 'admin:keys:read');
        assert.deepEqual(login.steps, ['login', 'mfa', 'consent']);
        // The approval page says it, rather than "approved" and then a refusal at the CLI.
        assert.equal(login.done.statusCode, 403, login.done.body);
        assert.match(login.done.body, /No admin access/);
        await assert.rejects(login.poll(), (e: oidc.ResponseBodyError) => e.error === 'access_denied');
        // A role held but with none of the scopes asked: the same.
        await setRole(nia.id, 'support');
        offset += 30;
        const again = await deviceLogin('nia', secret, 'admin:keys:write');
        assert.equal(again.done.statusCode, 403, again.done.body);
        await assert.rejects(again.poll(), (e: oidc.ResponseBodyError) => e.error === 'access_denied');
      });

      it('the CLI cannot ask for other scopes, refresh tokens or another resource', async () => {
        const cli = await discover(CLI_CLIENT_ID, oidc.None());
        for (const [params, error] of [
          [{ scope: 'admin:keys:read offline_access' }, 'invalid_scope'],
          [{ scope: 'openid admin:keys:read' }, 'invalid_scope'],
          [{ scope: 'openid' }, 'invalid_scope'],
          [{ scope: 'admin:keys:read', resource: 'https://api.example/' }, 'invalid_target'],
        ] as const) {
          await assert.rejects(
            oidc.initiateDeviceAuthorization(cli, params),
            (e: oidc.ResponseBodyError) => e.error === error,
          );
        }
        // No resource named: the admin API is the audience all the same.
        const started = await oidc.initiateDeviceAuthorization(cli, { scope: 'admin:keys:read' });
        assert.ok(started.device_code);
        // Nor use another grant.
        expectOAuth(
          await form(app, '/token', {
            grant_type: 'client_credentials',
            client_id: CLI_CLIENT_ID,
            scope: 'admin:keys:read',
          }),
          400,
          'unauthorized_client',
        );
      });
    });
  });
}
