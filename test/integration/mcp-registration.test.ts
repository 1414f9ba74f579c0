// Dynamic registration for MCP clients (issue 15), through the real endpoints on SQLite and
// PostgreSQL: application_type inferred and honoured (a native client's loopback redirect on
// another port, through a whole authorization-code flow), step-up (the registered scope is a hint:
// the union asked for gets a consent for the new scopes only, within the ceiling), and the
// per-address rate limit of anonymous registration, and unused registrations expiring.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { sweepUnusedRegistrations } from '../../src/protocol/clients/usage.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const MCP = 'https://mcp.example/mcp';
const NOW = () => Math.floor(Date.now() / 1000);
const ALICE = { username: 'alice', password: 'correct horse battery' };

function register(app: App, body: unknown, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method: 'POST',
    url: '/register',
    payload: JSON.stringify(body),
    headers: JSON_TYPE,
    remoteAddress,
  });
}

/** Where an authorization ends for now: the consent page (its scopes and form), or a redirect to the client. */
type Step = { consent: { path: string; csrf: string; scopes: string[] } } | { location: URL };

/** Runs /authorize as a browser would, signing alice in when asked, up to the consent page or the client. */
async function authorizeStep(app: App, jar: Jar, params: Record<string, string>): Promise<Step> {
  let res = await app.server.inject({ method: 'GET', url: authorizeUrl(params), headers: { cookie: jar.header() } });
  jar.take(res);
  for (let i = 0; i < 4; i++) {
    if (res.statusCode !== 303)
      throw new Error(`expected a redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
    const location = new URL(res.headers.location as string);
    if (!location.href.startsWith(`${ISSUER}/interaction/`)) return { location };
    const page = await app.server.inject({ method: 'GET', url: location.pathname, headers: { cookie: jar.header() } });
    const csrf = csrfOf(page.body);
    if (!page.body.includes('name="password"')) {
      const scopes = [...page.body.matchAll(/class="scope-name small">([^<]+)</g)].map((m) => m[1]!);
      return { consent: { path: location.pathname, csrf, scopes } };
    }
    res = await form(app, `${location.pathname}/login`, { ...ALICE, csrf }, { cookie: jar.header() });
    jar.take(res);
  }
  throw new Error('too many interaction steps');
}

async function decide(app: App, jar: Jar, step: Step, decision = 'allow'): Promise<LightMyRequestResponse> {
  assert.ok('consent' in step, 'a consent page');
  const res = await form(
    app,
    `${step.consent.path}/consent`,
    { decision, csrf: step.consent.csrf },
    { cookie: jar.header() },
  );
  jar.take(res);
  return res;
}

for (const backend of await backends()) {
  describe(`dynamic registration for MCP clients (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
        TESSERA_EXTRA_SCOPES: 'api:read api:write mcp:read mcp:write mcp:admin',
        TESSERA_REGISTRATION_SCOPES: 'openid profile email offline_access mcp:read mcp:write api:read',
        TESSERA_REGISTRATION_GRANT_TYPES: 'authorization_code refresh_token',
      });
      await saveResourceServer(
        app.stores,
        app.provider.config,
        {
          identifier: MCP,
          display_name: 'MCP server',
          scopes: { 'mcp:read': 'Use the read-only tools', 'mcp:write': 'Use the tools that change things' },
        },
        NOW(),
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    /** Registers a public MCP client the way the MCP SDK does (no application_type). */
    async function mcpClient(body: Record<string, unknown> = {}) {
      const res = await register(app, {
        client_name: 'An MCP client',
        redirect_uris: ['http://127.0.0.1:33418/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...body,
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { client_id: string; application_type: string; scope: string; redirect_uris: string[] };
    }

    /** The code of a finished authorization, exchanged at the token endpoint. */
    async function exchange(clientId: string, location: URL, verifier: string, redirectUri: string) {
      const code = location.searchParams.get('code');
      assert.ok(code, `no code: ${location}`);
      assert.equal(location.searchParams.get('iss'), ISSUER);
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        client_id: clientId,
        resource: MCP,
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { access_token: string; scope: string };
    }

    it('infers native for loopback redirect URIs, says so, and takes the loopback redirect on any port', async () => {
      const client = await mcpClient({ scope: 'mcp:read' });
      assert.equal(client.application_type, 'native');
      const { verifier, challenge } = pkce();
      // The client listens on a port of the moment, not the one it registered.
      const redirectUri = 'http://127.0.0.1:51873/callback';
      const params = {
        client_id: client.client_id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'mcp:read',
        resource: MCP,
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      const jar = new Jar();
      const step = await authorizeStep(app, jar, params);
      const res = await decide(app, jar, step);
      const location = new URL(res.headers.location as string);
      assert.equal(`${location.origin}${location.pathname}`, redirectUri);
      assert.equal(location.searchParams.get('state'), 'st');
      const tokens = await exchange(client.client_id, location, verifier, redirectUri);
      assert.equal(tokens.scope, 'mcp:read');
      // Another path, or https, on the loopback host is not the registered URI.
      for (const other of ['http://127.0.0.1:51873/other', 'https://127.0.0.1:51873/callback']) {
        const page = await app.server.inject({ url: authorizeUrl({ ...params, redirect_uri: other }) });
        assert.equal(page.statusCode, 400, other);
        assert.match(page.body, /Unregistered redirect address/);
      }
    });

    it('a web client (named, or a redirect URI that is not loopback) keeps an exact port', async () => {
      const named = await mcpClient({ application_type: 'web' });
      const mixed = await mcpClient({
        redirect_uris: ['http://127.0.0.1:33418/callback', 'https://client.example/callback'],
      });
      for (const client of [named, mixed]) {
        assert.equal(client.application_type, 'web');
        const page = await app.server.inject({
          url: authorizeUrl({
            client_id: client.client_id,
            redirect_uri: 'http://127.0.0.1:51873/callback',
            response_type: 'code',
            scope: 'mcp:read',
            code_challenge: pkce().challenge,
            code_challenge_method: 'S256',
          }),
        });
        assert.equal(page.statusCode, 400);
        assert.match(page.body, /Unregistered redirect address/);
      }
      // A private-use scheme makes a native client too.
      const app2 = await mcpClient({ redirect_uris: ['com.example.mcp:/callback'] });
      assert.equal(app2.application_type, 'native');
    });

    it('step-up: the union is asked for, the consent page lists only the new scope, the token has both', async () => {
      const client = await mcpClient({ scope: 'mcp:read' });
      const redirectUri = 'http://127.0.0.1:40001/callback';
      const jar = new Jar();
      const start = (scope: string) => {
        const { verifier, challenge } = pkce();
        return {
          verifier,
          params: {
            client_id: client.client_id,
            redirect_uri: redirectUri,
            response_type: 'code',
            scope,
            resource: MCP,
            code_challenge: challenge,
            code_challenge_method: 'S256',
          },
        };
      };
      const first = start('mcp:read');
      const step1 = await authorizeStep(app, jar, first.params);
      assert.ok('consent' in step1);
      assert.deepEqual(step1.consent.scopes, ['mcp:read']);
      const tokens1 = await exchange(
        client.client_id,
        new URL((await decide(app, jar, step1)).headers.location as string),
        first.verifier,
        redirectUri,
      );
      assert.equal(tokens1.scope, 'mcp:read');

      // The MCP server answered insufficient_scope with scope="mcp:write": the client asks for the
      // union, beyond its registered scope (a hint, not a ceiling).
      const second = start('mcp:read mcp:write');
      const step2 = await authorizeStep(app, jar, second.params);
      assert.ok('consent' in step2, 'the new scope needs a consent');
      assert.deepEqual(step2.consent.scopes, ['mcp:write']);
      const tokens2 = await exchange(
        client.client_id,
        new URL((await decide(app, jar, step2)).headers.location as string),
        second.verifier,
        redirectUri,
      );
      assert.deepEqual(tokens2.scope.split(' ').sort(), ['mcp:read', 'mcp:write']);
      // The consent covers the union now: the same request again goes straight back to the client.
      const third = start('mcp:write mcp:read');
      const step3 = await authorizeStep(app, jar, third.params);
      assert.ok('location' in step3, 'no consent page the third time');
      const tokens3 = await exchange(client.client_id, step3.location, third.verifier, redirectUri);
      assert.deepEqual(tokens3.scope.split(' ').sort(), ['mcp:read', 'mcp:write']);
      const consent = await app.stores.consents.get((await userId(app))!, client.client_id);
      assert.deepEqual(consent?.resources[MCP]?.sort(), ['mcp:read', 'mcp:write']);
    });

    it('step-up: outside the ceiling or the resource, invalid_scope; operator clients keep their registered scope', async () => {
      const client = await mcpClient({ scope: 'mcp:read' });
      const redirectUri = 'http://127.0.0.1:40002/callback';
      const refused = async (scope: string, extra: Record<string, string> = { resource: MCP }) => {
        const res = await app.server.inject({
          url: authorizeUrl({
            client_id: client.client_id,
            redirect_uri: redirectUri,
            response_type: 'code',
            scope,
            state: 's',
            code_challenge: pkce().challenge,
            code_challenge_method: 'S256',
            ...extra,
          }),
        });
        // A loopback redirect URI cannot lead to another site, so the error goes to it (RFC 6749
        // section 4.1.2.1) even for a self-registered client: the MCP client's callback hears of it.
        assert.equal(res.statusCode, 303, res.body);
        const location = new URL(res.headers.location as string);
        assert.equal(`${location.origin}${location.pathname}`, redirectUri);
        assert.equal(location.searchParams.get('state'), 's');
        return location.searchParams.get('error');
      };
      // mcp:admin is offered by the server but not to self-registered clients (TESSERA_REGISTRATION_SCOPES).
      assert.equal(await refused('mcp:read mcp:admin'), 'invalid_scope');
      // api:read is within the ceiling, but the MCP server does not offer it.
      assert.equal(await refused('mcp:read api:read'), 'invalid_scope');
      // A scope no one offers.
      assert.equal(await refused('mcp:read mcp:root'), 'invalid_scope');
      // An operator-made client's registered scope stays its ceiling (spa: openid profile).
      const spa = await app.server.inject({
        url: authorizeUrl({
          client_id: 'spa',
          redirect_uri: 'https://spa.example/cb',
          response_type: 'code',
          scope: 'openid profile email',
          state: 's',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        }),
      });
      assert.equal(new URL(spa.headers.location as string).searchParams.get('error'), 'invalid_scope');
    });

    it('step-up: a consent page that asked for the new scope only is void once the earlier consent is revoked', async () => {
      const client = await mcpClient({ scope: 'mcp:read' });
      const redirectUri = 'http://127.0.0.1:40003/callback';
      const jar = new Jar();
      const params = (scope: string) => ({
        client_id: client.client_id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope,
        resource: MCP,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      });
      await decide(app, jar, await authorizeStep(app, jar, params('mcp:read')));
      const step = await authorizeStep(app, jar, params('mcp:read mcp:write'));
      assert.ok('consent' in step);
      assert.deepEqual(step.consent.scopes, ['mcp:write']);
      // Meanwhile (another tab, the account page), the user takes back the consent the page relied on.
      const alice = (await userId(app))!;
      assert.ok(await app.stores.consents.revoke(alice, client.client_id));
      const res = await decide(app, jar, step);
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /Form expired/);
      assert.equal(await app.stores.consents.get(alice, client.client_id), undefined);
    });
  });
}

/** alice's user id. */
async function userId(app: App): Promise<string | undefined> {
  return (await app.stores.users.list()).find((u) => u.username === 'alice')?.id;
}

describe('anonymous registration is rate-limited per source address (default limits)', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_REGISTRATION: 'open' });
  });
  after(async () => {
    await app?.close();
  });

  it('the 21st registration in a minute from one address gets 429; another address is not affected', async () => {
    const body = { redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' };
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await register(app, body, '198.51.100.7')).statusCode);
    assert.deepEqual(statuses, [...Array(20).fill(201), 429]);
    const limited = await register(app, body, '198.51.100.7');
    assert.equal(limited.json().error, 'temporarily_unavailable');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.match(String(limited.headers['ratelimit-policy']), /registration\.ip/);
    assert.equal((await register(app, body, '198.51.100.8')).statusCode, 201);
    // An IPv6 client is counted by its /64 (rate-limit.ts): another address of the same prefix shares the count.
    for (let i = 0; i < 20; i++) assert.equal((await register(app, body, `2001:db8:1:2::${i + 1}`)).statusCode, 201);
    assert.equal((await register(app, body, '2001:db8:1:2::ffff')).statusCode, 429);
    assert.equal((await register(app, body, '2001:db8:1:3::1')).statusCode, 201);
  });
});

describe('unused registrations expire (TESSERA_REGISTRATION_UNUSED_TTL)', () => {
  let app: App;
  let offset = 0;
  const clock = () => NOW() + offset;
  before(async () => {
    app = await testApp(
      'sqlite::memory:',
      { TESSERA_REGISTRATION: 'open', TESSERA_RATE_LIMITING: 'false', TESSERA_REGISTRATION_UNUSED_TTL: '600' },
      { now: clock },
    );
  });
  after(async () => {
    await app?.close();
  });

  const body = {
    client_name: 'MCP client',
    redirect_uris: ['http://127.0.0.1:4100/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid offline_access',
  };

  /** A whole code flow for a public client; returns the token response. */
  async function codeFlow(clientId: string): Promise<LightMyRequestResponse> {
    const { verifier, challenge } = pkce();
    const jar = new Jar();
    const params = {
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:4100/callback',
      response_type: 'code',
      scope: 'openid offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const step = await authorizeStep(app, jar, params);
    const location =
      'consent' in step ? new URL((await decide(app, jar, step)).headers.location as string) : step.location;
    return form(app, '/token', {
      grant_type: 'authorization_code',
      code: location.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: params.redirect_uri,
      client_id: clientId,
    });
  }

  it('a client with no token within the TTL is refused, then deleted by the sweep; a used one stays', async () => {
    const unusedReg = (await register(app, body)).json() as { client_id: string; registration_access_token: string };
    const unused = unusedReg.client_id;
    const used = (await register(app, body)).json().client_id as string;
    const first = await codeFlow(used);
    assert.equal(first.statusCode, 200, first.body);
    const marked = (await app.stores.clients.get(used))!.firstUsedAt;
    assert.ok(marked !== undefined && marked >= clock() - 1, 'the first token marked the client');
    // Later tokens write nothing: the mark stays the first one.
    offset += 5;
    const refreshed = await form(app, '/token', {
      grant_type: 'refresh_token',
      refresh_token: first.json().refresh_token,
      client_id: used,
    });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    assert.equal((await app.stores.clients.get(used))!.firstUsedAt, marked);
    assert.equal((await app.stores.clients.get(unused))!.firstUsedAt, undefined);
    assert.equal(await sweepUnusedRegistrations(app.provider), 0, 'nothing is due yet');

    offset += 600;
    // Expired but not swept yet: refused at /authorize and at the token endpoint.
    const page = await app.server.inject({
      url: authorizeUrl({
        client_id: unused,
        redirect_uri: 'http://127.0.0.1:4100/callback',
        response_type: 'code',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    });
    assert.equal(page.statusCode, 400);
    assert.match(page.body, /Unknown application/);
    const token = await form(app, '/token', {
      grant_type: 'refresh_token',
      refresh_token: 'whatever',
      client_id: unused,
    });
    assert.equal(token.statusCode, 401);
    assert.equal(token.json().error, 'invalid_client');
    // Nor can its registrant read it or bring it back with an update (RFC 7592).
    for (const method of ['GET', 'PUT'] as const) {
      const manage = await app.server.inject({
        method,
        url: `/register/${unused}`,
        ...(method === 'PUT' ? { payload: JSON.stringify({ ...body, client_id: unused }) } : {}),
        headers: { ...JSON_TYPE, authorization: `Bearer ${unusedReg.registration_access_token}` },
      });
      assert.equal(manage.statusCode, 401, method);
    }

    assert.equal(await sweepUnusedRegistrations(app.provider), 1);
    assert.equal(await app.stores.clients.get(unused), undefined);
    // The used client, and the operator-made clients that never had a token, stay.
    assert.ok(await app.stores.clients.get(used));
    assert.ok(await app.stores.clients.get('spa'));
    assert.equal((await codeFlow(used)).statusCode, 200);
    await app.audit.flush();
    const deleted = await app.stores.audit.query({ type: 'client_deleted' });
    assert.deepEqual(
      deleted.map((e) => e.clientId),
      [unused],
    );
  });

  it('an RFC 7592 update restarts the time', async () => {
    const reg = (await register(app, body)).json() as { client_id: string; registration_access_token: string };
    offset += 500;
    const update = await app.server.inject({
      method: 'PUT',
      url: `/register/${reg.client_id}`,
      payload: JSON.stringify({ ...body, client_id: reg.client_id }),
      headers: { ...JSON_TYPE, authorization: `Bearer ${reg.registration_access_token}` },
    });
    assert.equal(update.statusCode, 200, update.body);
    offset += 500;
    assert.equal(await sweepUnusedRegistrations(app.provider), 0);
    assert.equal((await codeFlow(reg.client_id)).statusCode, 200);
    offset += 1000;
    assert.equal(await sweepUnusedRegistrations(app.provider), 0);
    assert.ok(await app.stores.clients.get(reg.client_id));
  });
});
