/**
 * Discovery and JWKS, as a relying party fetches them from the running server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef-0123456789';

/** The tessera_http_requests_total count of one route, method and status class. */
async function requestCount(issuer: string, route: string, method: string, status: string): Promise<number> {
  const text = await (
    await fetch(`${issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  ).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('tessera_http_requests_total{') &&
        l.includes(`route="${route}"`) &&
        l.includes(`method="${method}"`) &&
        l.includes(`status="${status}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('discovery', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      env: { TESSERA_METRICS_TOKEN: METRICS_TOKEN },
      bootstrap: {
        clients: [{ client_id: 'rp', client_secret: 'rp-secret-0123456789', redirect_uris: ['http://127.0.0.1/cb'] }],
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('serves the same metadata at both well-known URLs, for this issuer, with reachable endpoints', async () => {
    const oidcRes = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    const oauthRes = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(oidcRes.status, 200);
    assert.equal(oauthRes.status, 200);
    assert.match(oidcRes.headers.get('content-type') ?? '', /^application\/json/);
    const oidc = (await oidcRes.json()) as Record<string, unknown>;
    const oauth = (await oauthRes.json()) as Record<string, unknown>;
    assert.deepEqual(oauth, oidc);
    assert.equal(oidc.issuer, server.issuer);
    assert.deepEqual(oidc.response_types_supported, ['code']);
    assert.deepEqual(oidc.code_challenge_methods_supported, ['S256']);
    assert.equal(oidc.authorization_response_iss_parameter_supported, true);

    // Every advertised endpoint is under the issuer and answers (not 404 / 5xx).
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'end_session_endpoint',
      'introspection_endpoint',
      'revocation_endpoint',
      'pushed_authorization_request_endpoint',
    ]) {
      const url = oidc[key];
      assert.equal(typeof url, 'string', key);
      assert.ok((url as string).startsWith(`${server.issuer}/`), `${key} ${url} is under the issuer`);
      const method = [
        'token_endpoint',
        'introspection_endpoint',
        'revocation_endpoint',
        'pushed_authorization_request_endpoint',
      ].includes(key)
        ? 'POST'
        : 'GET';
      const res = await fetch(url as string, { method, redirect: 'manual' });
      await res.body?.cancel();
      assert.ok(res.status !== 404 && res.status < 500, `${key} answered ${res.status}`);
    }

    // openid-client accepts the document (issuer check included).
    const config = await client.discovery(new URL(server.issuer), 'rp', 'rp-secret-0123456789', undefined, {
      execute: [client.allowInsecureRequests],
    });
    assert.equal(config.serverMetadata().issuer, server.issuer);
    assert.ok(config.serverMetadata().supportsPKCE());
  });

  it('publishes signing keys with kid, use and alg', async () => {
    const meta = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
      id_token_signing_alg_values_supported: string[];
    };
    const res = await fetch(meta.jwks_uri);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwk-set\+json/);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    assert.ok(keys.length >= 1);
    for (const k of keys) {
      assert.equal(typeof k.kid, 'string');
      assert.equal(k.use, 'sig');
      assert.ok(meta.id_token_signing_alg_values_supported.includes(k.alg as string), `alg ${k.alg} is advertised`);
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
        assert.equal(k[priv], undefined, `no private member ${priv}`);
    }
  });

  it('answers 304 to a matching If-None-Match, for discovery and JWKS', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks']) {
      const first = await fetch(server.issuer + path);
      await first.arrayBuffer();
      const etag = first.headers.get('etag');
      assert.ok(etag, `${path} has an ETag`);
      assert.match(first.headers.get('cache-control') ?? '', /max-age=\d+/);
      const again = await fetch(server.issuer + path, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, path);
      assert.equal((await again.arrayBuffer()).byteLength, 0);
      const other = await fetch(server.issuer + path, { headers: { 'if-none-match': '"something-else"' } });
      assert.equal(other.status, 200, path);
      await other.arrayBuffer();
    }
  });

  // A GET of exactly the path is answered before Fastify routes the request; HEAD, a query string
  // or a trailing segment go through the routes. Both ways must look the same to a client.
  it('answers the same bytes and headers on the direct path and through the routes, and counts both in the metrics', async () => {
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const before = await requestCount(server.issuer, path, 'GET', '2xx');
      const direct = await fetch(server.issuer + path);
      const routed = await fetch(`${server.issuer}${path}?via=router`);
      const head = await fetch(server.issuer + path, { method: 'HEAD' });
      const directBody = await direct.text();
      assert.equal(await routed.text(), directBody);
      assert.equal(await head.text(), '');
      for (const res of [direct, routed, head]) {
        assert.equal(res.status, 200, path);
        for (const name of [
          'content-type',
          'content-length',
          'etag',
          'cache-control',
          'access-control-allow-origin',
          'x-content-type-options',
          'x-frame-options',
          'referrer-policy',
          'content-security-policy',
        ]) {
          assert.equal(res.headers.get(name), direct.headers.get(name), `${path} ${name}`);
        }
      }
      assert.equal(Number(direct.headers.get('content-length')), Buffer.byteLength(directBody));
      assert.equal(direct.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(await requestCount(server.issuer, path, 'GET', '2xx'), before + 2);
      // Other methods still get the routes' answers.
      const post = await fetch(server.issuer + path, { method: 'POST' });
      await post.arrayBuffer();
      assert.equal(post.status, 404, `${path} POST`);
    }
  });
});
