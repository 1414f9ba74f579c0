/**
 * Discovery and JWKS, as a relying party fetches them from the running server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { startServer, type RunningServer } from '../fixtures/server.ts';

describe('discovery', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      bootstrap: { clients: [{ client_id: 'rp', client_secret: 'rp-secret-0123456789', redirect_uris: ['http://127.0.0.1/cb'] }] },
    });
  });
  after(async () => { await server?.stop(); });

  it('serves the same metadata at both well-known URLs, for this issuer, with reachable endpoints', async () => {
    const oidcRes = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    const oauthRes = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(oidcRes.status, 200);
    assert.equal(oauthRes.status, 200);
    assert.match(oidcRes.headers.get('content-type') ?? '', /^application\/json/);
    const oidc = await oidcRes.json() as Record<string, unknown>;
    const oauth = await oauthRes.json() as Record<string, unknown>;
    assert.deepEqual(oauth, oidc);
    assert.equal(oidc.issuer, server.issuer);
    assert.deepEqual(oidc.response_types_supported, ['code']);
    assert.deepEqual(oidc.code_challenge_methods_supported, ['S256']);
    assert.equal(oidc.authorization_response_iss_parameter_supported, true);

    // Every advertised endpoint is under the issuer and answers (not 404 / 5xx).
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'pushed_authorization_request_endpoint']) {
      const url = oidc[key];
      assert.equal(typeof url, 'string', key);
      assert.ok((url as string).startsWith(`${server.issuer}/`), `${key} ${url} is under the issuer`);
      const method = ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'pushed_authorization_request_endpoint'].includes(key) ? 'POST' : 'GET';
      const res = await fetch(url as string, { method, redirect: 'manual' });
      await res.body?.cancel();
      assert.ok(res.status !== 404 && res.status < 500, `${key} answered ${res.status}`);
    }

    // openid-client accepts the document (issuer check included).
    const config = await client.discovery(new URL(server.issuer), 'rp', 'rp-secret-0123456789', undefined, { execute: [client.allowInsecureRequests] });
    assert.equal(config.serverMetadata().issuer, server.issuer);
    assert.ok(config.serverMetadata().supportsPKCE());
  });

  it('publishes signing keys with kid, use and alg', async () => {
    const meta = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json() as { jwks_uri: string; id_token_signing_alg_values_supported: string[] };
    const res = await fetch(meta.jwks_uri);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwk-set\+json/);
    const { keys } = await res.json() as { keys: Record<string, unknown>[] };
    assert.ok(keys.length >= 1);
    for (const k of keys) {
      assert.equal(typeof k.kid, 'string');
      assert.equal(k.use, 'sig');
      assert.ok(meta.id_token_signing_alg_values_supported.includes(k.alg as string), `alg ${k.alg} is advertised`);
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[priv], undefined, `no private member ${priv}`);
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
});
