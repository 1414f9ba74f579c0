// CORS for browser-based clients (issue 15), over real HTTP to the real server (src/main.ts): with
// TESSERA_CORS_ANY_ORIGIN, token, registration and revocation answer any origin with `*` and never
// with credentials, preflights included; discovery and JWKS always do; /authorize never does. Without
// it, registration answers only the configured origins (TESSERA_CORS_ORIGINS).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '../fixtures/server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body ? { ...headers, 'content-length': Buffer.byteLength(body) } : headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body || undefined);
  });
}

const ORIGIN = 'https://browser-client.example';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
const REGISTRATION = JSON.stringify({
  client_name: 'Browser MCP client',
  redirect_uris: [`${ORIGIN}/callback`],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
});

function preflight(port: number, path: string, method: string, requestHeaders: string, origin = ORIGIN) {
  return call(port, 'OPTIONS', path, {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': requestHeaders,
  });
}

const BOOTSTRAP = {
  clients: [
    {
      client_id: 'svc',
      client_secret: 'svc-secret-0123456789-abcdefghijklmnopq',
      grant_types: ['client_credentials'],
      scope: '',
      redirect_uris: [],
    },
  ],
};
const SVC = { authorization: `Basic ${Buffer.from('svc:svc-secret-0123456789-abcdefghijklmnopq').toString('base64')}` };

describe('CORS with TESSERA_CORS_ANY_ORIGIN (real server)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      bootstrap: BOOTSTRAP,
      env: { TESSERA_CORS_ANY_ORIGIN: 'true', TESSERA_REGISTRATION: 'open' },
    });
  });
  after(async () => {
    await server?.stop();
  });

  const noCredentials = (a: Answer, what: string) => {
    assert.equal(a.headers['access-control-allow-origin'], '*', what);
    assert.equal(a.headers['access-control-allow-credentials'], undefined, what);
  };

  it('token, registration and revocation: preflights for their methods and fields', async () => {
    for (const [path, method] of [
      ['/token', 'POST'],
      ['/revoke', 'POST'],
      ['/register', 'POST'],
    ] as const) {
      const p = await preflight(server.port, path, method, 'content-type, dpop, authorization');
      assert.equal(p.status, 204, path);
      noCredentials(p, path);
      assert.match(String(p.headers['access-control-allow-methods']), new RegExp(method), path);
      for (const field of ['Authorization', 'Content-Type', 'DPoP'])
        assert.match(String(p.headers['access-control-allow-headers']), new RegExp(field), `${path} ${field}`);
    }
    // The management endpoint of a registration (RFC 7592) takes GET, PUT and DELETE.
    const manage = await preflight(server.port, '/register/some-client', 'PUT', 'authorization, content-type');
    assert.equal(manage.status, 204);
    noCredentials(manage, 'manage');
    assert.equal(manage.headers['access-control-allow-methods'], 'GET, PUT, DELETE');
  });

  it('a browser client registers, and reads the token and revocation answers, errors included', async () => {
    const reg = await call(server.port, 'POST', '/register', { ...JSON_TYPE, origin: ORIGIN }, REGISTRATION);
    assert.equal(reg.status, 201, reg.body);
    noCredentials(reg, 'register');
    const client = JSON.parse(reg.body) as { client_id: string; registration_access_token: string };
    const info = await call(server.port, 'GET', `/register/${client.client_id}`, {
      origin: ORIGIN,
      authorization: `Bearer ${client.registration_access_token}`,
    });
    assert.equal(info.status, 200);
    noCredentials(info, 'register read');
    // A refused registration is readable too.
    const bad = await call(server.port, 'POST', '/register', { ...JSON_TYPE, origin: ORIGIN }, '{"redirect_uris":"x"}');
    assert.equal(bad.status, 400);
    noCredentials(bad, 'register refused');

    const refused = await call(
      server.port,
      'POST',
      '/token',
      { ...FORM, origin: ORIGIN },
      `grant_type=refresh_token&refresh_token=nope&client_id=${client.client_id}`,
    );
    assert.equal(refused.status, 400);
    noCredentials(refused, 'token refused');
    const ok = await call(
      server.port,
      'POST',
      '/token',
      { ...FORM, ...SVC, origin: ORIGIN },
      'grant_type=client_credentials',
    );
    assert.equal(ok.status, 200, ok.body);
    noCredentials(ok, 'token');
    const revoked = await call(
      server.port,
      'POST',
      '/revoke',
      { ...FORM, origin: ORIGIN },
      `token=whatever&client_id=${client.client_id}`,
    );
    assert.equal(revoked.status, 200, revoked.body);
    noCredentials(revoked, 'revoke');
  });

  it('discovery and JWKS: any origin, preflights included; never /authorize, /par or /userinfo from any origin', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks']) {
      const get = await call(server.port, 'GET', path, { origin: ORIGIN });
      assert.equal(get.status, 200, path);
      noCredentials(get, path);
      const p = await preflight(server.port, path, 'GET', 'mcp-protocol-version');
      assert.equal(p.status, 204, path);
      noCredentials(p, `${path} preflight`);
      assert.equal(p.headers['access-control-allow-headers'], '*');
    }
    const authorize = await call(server.port, 'GET', '/authorize?client_id=x', { origin: ORIGIN });
    assert.equal(authorize.headers['access-control-allow-origin'], undefined);
    const authorizePreflight = await preflight(server.port, '/authorize', 'POST', 'content-type');
    assert.equal(authorizePreflight.headers['access-control-allow-origin'], undefined);
    const par = await preflight(server.port, '/par', 'POST', 'content-type');
    assert.equal(par.headers['access-control-allow-origin'], undefined);
    // userinfo does not follow the setting: an origin of no registered client gets no CORS.
    const other = await preflight(server.port, '/userinfo', 'GET', 'authorization', 'https://unknown.example');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});

describe('CORS without TESSERA_CORS_ANY_ORIGIN (real server)', () => {
  let server: RunningServer;
  const CONFIGURED = 'https://console.example';
  before(async () => {
    server = await startServer({
      bootstrap: BOOTSTRAP,
      env: { TESSERA_REGISTRATION: 'open', TESSERA_CORS_ORIGINS: CONFIGURED },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('registration answers the configured origins only; token keeps its origins', async () => {
    const p = await preflight(server.port, '/register', 'POST', 'content-type', CONFIGURED);
    assert.equal(p.status, 204);
    assert.equal(p.headers['access-control-allow-origin'], CONFIGURED);
    assert.equal(p.headers['access-control-allow-credentials'], undefined);
    const reg = await call(server.port, 'POST', '/register', { ...JSON_TYPE, origin: CONFIGURED }, REGISTRATION);
    assert.equal(reg.status, 201, reg.body);
    assert.equal(reg.headers['access-control-allow-origin'], CONFIGURED);
    // Any other origin: no CORS, even the origin of a redirect URI just registered (anyone can register one).
    for (const origin of [ORIGIN, 'https://evil.example']) {
      const other = await call(server.port, 'POST', '/register', { ...JSON_TYPE, origin }, REGISTRATION);
      assert.equal(other.status, 201);
      assert.equal(other.headers['access-control-allow-origin'], undefined, origin);
      const otherPreflight = await preflight(server.port, '/register', 'POST', 'content-type', origin);
      assert.equal(otherPreflight.headers['access-control-allow-origin'], undefined, origin);
    }
    const token = await call(
      server.port,
      'POST',
      '/token',
      { ...FORM, ...SVC, origin: 'https://evil.example' },
      'grant_type=client_credentials',
    );
    assert.equal(token.status, 200);
    assert.equal(token.headers['access-control-allow-origin'], undefined);
  });
});
