// TESSERA_REGISTRATION_RESOURCE_SCOPES (issue 15): the scopes of registry resources join the ceiling
// of self-registered clients, each only in tokens for the resource that declares it, without
// TESSERA_EXTRA_SCOPES or TESSERA_REGISTRATION_SCOPES. Through the real endpoints on SQLite and
// PostgreSQL: registration, authorization and token for the resource, the scope refused for another
// resource and for the default audience, a token for another resource of the same grant without
// it, refresh, discovery; and with the setting off, today's behaviour.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import type { App } from '../../src/app.ts';
import { saveResourceServer } from '../../src/admin/resources.ts';
import { authorizeUrl, backends, csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const JSON_TYPE = { 'content-type': 'application/json' };
const A = 'https://a.example/mcp';
const B = 'https://b.example/mcp';
const NOW = () => Math.floor(Date.now() / 1000);
const ALICE = { username: 'alice', password: 'correct horse battery' };
const REDIRECT = 'http://127.0.0.1:33418/callback';

function register(app: App, body: unknown): Promise<LightMyRequestResponse> {
  return app.server.inject({ method: 'POST', url: '/register', payload: JSON.stringify(body), headers: JSON_TYPE });
}

async function mcpClient(app: App, scope: string): Promise<string> {
  const res = await register(app, {
    client_name: 'An MCP client',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope,
  });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json() as { client_id: string; scope: string };
  assert.deepEqual(body.scope.split(' ').sort(), scope.split(' ').sort());
  return body.client_id;
}

/**
 * Runs /authorize as a browser would (alice signs in, allows the consent) and answers where it ends:
 * the client's redirect URI with its parameters.
 */
async function authorizeFlow(app: App, url: string): Promise<URL> {
  const jar = new Jar();
  let res = await app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  jar.take(res);
  for (let i = 0; i < 5; i++) {
    if (res.statusCode !== 303)
      throw new Error(`expected a redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
    const location = new URL(res.headers.location as string);
    if (!location.href.startsWith(`${ISSUER}/interaction/`)) return location;
    const page = await app.server.inject({ method: 'GET', url: location.pathname, headers: { cookie: jar.header() } });
    const csrf = csrfOf(page.body);
    res = page.body.includes('name="password"')
      ? await form(app, `${location.pathname}/login`, { ...ALICE, csrf }, { cookie: jar.header() })
      : await form(app, `${location.pathname}/consent`, { decision: 'allow', csrf }, { cookie: jar.header() });
    jar.take(res);
  }
  throw new Error('too many interaction steps');
}

function codeParams(clientId: string, scope: string, resources: string[], challenge: string): Record<string, string> {
  const params: Record<string, string> = {
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope,
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };
  // authorizeUrl takes one value per name: repeated resources are appended below.
  return resources.length ? { ...params, resource: resources[0]! } : params;
}

async function codeFor(app: App, clientId: string, scope: string, resources: string[]) {
  const { verifier, challenge } = pkce();
  const params = codeParams(clientId, scope, resources, challenge);
  let url = authorizeUrl(params);
  for (const r of resources.slice(1)) url += `&resource=${encodeURIComponent(r)}`;
  const location = await authorizeFlow(app, url);
  return { location, verifier };
}

for (const backend of await backends()) {
  describe(`registry scopes for self-registered clients (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let off: App;
    before(async () => {
      app = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
        TESSERA_REGISTRATION_RESOURCE_SCOPES: 'true',
      });
      // Neither in TESSERA_EXTRA_SCOPES nor in TESSERA_REGISTRATION_SCOPES: the registry offers them.
      await saveResourceServer(
        app.stores,
        app.provider.config,
        {
          identifier: A,
          display_name: 'Server A',
          scopes: {
            'mcp:tools': 'Use the tools of A',
            'mcp:tools:write': { description: 'Change things with the tools of A', parent: 'mcp:tools' },
          },
        },
        NOW(),
      );
      await saveResourceServer(
        app.stores,
        app.provider.config,
        { identifier: B, display_name: 'Server B', scopes: { 'b:read': 'Read B' } },
        NOW(),
      );
    });
    after(async () => {
      await app?.close();
      await off?.close();
      await backend.drop?.();
    });

    it('registers a registry scope, and lists the registry scopes in scopes_supported', async () => {
      await mcpClient(app, 'mcp:tools mcp:tools:write b:read offline_access');
      const bad = await register(app, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'x:y' });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(bad.json().error, 'invalid_client_metadata');
      const meta = await app.server.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
      const supported = meta.json().scopes_supported as string[];
      for (const s of ['mcp:tools', 'mcp:tools:write', 'b:read', 'openid']) assert.ok(supported.includes(s), s);
    });

    it('authorizes and issues the scope for the resource that declares it; refresh keeps it there', async () => {
      const clientId = await mcpClient(app, 'mcp:tools mcp:tools:write offline_access');
      const { location, verifier } = await codeFor(app, clientId, 'mcp:tools mcp:tools:write offline_access', [A]);
      assert.equal(location.searchParams.get('state'), 'st');
      const code = location.searchParams.get('code');
      assert.ok(code, location.href);
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: clientId,
        resource: A,
      });
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json() as { access_token: string; refresh_token: string; scope: string };
      const claims = decodeJwt(tokens.access_token);
      assert.equal(claims.aud, A);
      assert.deepEqual(String(claims.scope).split(' ').sort(), ['mcp:tools', 'mcp:tools:write', 'offline_access']);
      const refreshed = await form(app, '/token', {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: clientId,
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const again = decodeJwt((refreshed.json() as { access_token: string }).access_token);
      assert.equal(again.aud, A);
      assert.ok(String(again.scope).split(' ').includes('mcp:tools'));
    });

    it('refuses the scope of A for B and for the default audience (the error reaches the loopback callback)', async () => {
      const clientId = await mcpClient(app, 'mcp:tools b:read');
      for (const resources of [[B], []]) {
        const { location } = await codeFor(app, clientId, 'mcp:tools', resources);
        assert.equal(location.origin + location.pathname, REDIRECT, location.href);
        assert.equal(location.searchParams.get('error'), 'invalid_scope', `${resources}: ${location.href}`);
        assert.equal(location.searchParams.get('state'), 'st');
        assert.equal(location.searchParams.get('iss'), ISSUER);
      }
    });

    it('a grant for A and B: the token for B never carries the scope of A, nor the one for A that of B', async () => {
      const clientId = await mcpClient(app, 'mcp:tools b:read offline_access');
      const { location, verifier } = await codeFor(app, clientId, 'mcp:tools b:read offline_access', [A, B]);
      const code = location.searchParams.get('code');
      assert.ok(code, location.href);
      const res = await form(app, '/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        client_id: clientId,
        resource: B,
      });
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json() as { access_token: string; refresh_token: string };
      const forB = decodeJwt(tokens.access_token);
      assert.equal(forB.aud, B);
      assert.deepEqual(String(forB.scope).split(' ').sort(), ['b:read', 'offline_access']);
      const refreshed = await form(app, '/token', {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: clientId,
        resource: A,
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const forA = decodeJwt((refreshed.json() as { access_token: string }).access_token);
      assert.equal(forA.aud, A);
      assert.deepEqual(String(forA.scope).split(' ').sort(), ['mcp:tools', 'offline_access']);
    });

    it("setting off: today's behaviour (registry scopes need TESSERA_EXTRA_SCOPES and TESSERA_REGISTRATION_SCOPES)", async () => {
      off = await testApp(backend.url!, {
        TESSERA_RATE_LIMITING: 'false',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_APPLICATION_TYPE: 'infer',
        TESSERA_EXTRA_SCOPES: 'mcp:tools',
      });
      const res = await register(off, {
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        scope: 'mcp:tools',
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error_description, /scope mcp:tools is not offered to dynamically registered clients/);
      const meta = await off.server.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
      assert.ok(!(meta.json().scopes_supported as string[]).includes('b:read'));
    });
  });
}
