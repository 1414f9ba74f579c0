/**
 * Each framework adapter (Fastify, Express, Hono), listening for real, against a real Tessera: the
 * metadata document, the challenges, Bearer and DPoP-bound client_credentials tokens, scopes and
 * step-up, tokens for another resource, replayed and mismatched proofs, malformed credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../../test/fixtures/server.ts';
import { createResourceServer, type ResourceServer } from '../src/index.ts';
import { FRAMEWORKS, type Served } from './frameworks.ts';
import { dpopKey, OTHER, proof, RESOURCE, startTessera, token } from './support.ts';

const METADATA_PATH = '/.well-known/oauth-protected-resource/v1';
const METADATA_URL = `https://api.example${METADATA_PATH}`;
const ITEMS = `${RESOURCE}/items`;

let tessera: RunningServer;
before(async () => {
  tessera = await startTessera();
});
after(async () => {
  await tessera?.stop();
});

for (const framework of FRAMEWORKS) {
  describe(`${framework.name} adapter`, () => {
    let rs: ResourceServer;
    let served: Served;
    before(async () => {
      rs = createResourceServer({
        issuer: tessera.issuer,
        resource: RESOURCE,
        scopesSupported: ['api:read', 'api:write'],
      });
      served = await framework.start(rs);
    });
    after(async () => {
      await served?.close();
    });
    const call = (method: string, headers: Record<string, string> = {}) =>
      fetch(`${served.origin}/v1/items`, { method, headers });

    it('serves the RFC 9728 metadata document at the path of the resource', async () => {
      const res = await fetch(`${served.origin}${METADATA_PATH}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const doc = (await res.json()) as Record<string, unknown>;
      assert.equal(doc.resource, RESOURCE);
      assert.deepEqual(doc.authorization_servers, [tessera.issuer]);
      assert.deepEqual(doc.scopes_supported, ['api:read', 'api:write']);
      assert.deepEqual(doc.bearer_methods_supported, ['header']);
    });

    it('answers a request without a token with 401 and Bearer and DPoP challenges naming the metadata', async () => {
      const res = await call('GET');
      assert.equal(res.status, 401);
      const challenge = res.headers.get('www-authenticate')!;
      assert.match(challenge, /^Bearer /);
      assert.ok(challenge.includes(`resource_metadata="${METADATA_URL}"`), challenge);
      assert.ok(challenge.includes('scope="api:read"'), challenge);
      assert.match(challenge, /DPoP .*algs="ES256/);
      assert.ok(!challenge.includes('error='), 'no error code without credentials (RFC 6750 section 3.1)');
    });

    it('accepts a Bearer token for the resource with the scope the route needs', async () => {
      const { access_token } = await token(tessera);
      const res = await call('GET', { authorization: `Bearer ${access_token}` });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        client: 'svc',
        scopes: ['api:read', 'api:write'],
        scheme: 'Bearer',
        sub: 'svc',
      });
    });

    it('answers a token without the route scope with 403 insufficient_scope naming the scopes (step-up)', async () => {
      const { access_token } = await token(tessera, { scope: 'api:read' });
      assert.equal((await call('GET', { authorization: `Bearer ${access_token}` })).status, 200);
      const res = await call('POST', { authorization: `Bearer ${access_token}` });
      assert.equal(res.status, 403);
      const challenge = res.headers.get('www-authenticate')!;
      assert.match(challenge, /^Bearer error="insufficient_scope"/);
      assert.ok(challenge.includes('scope="api:read api:write"'), challenge);
      assert.ok(challenge.includes(`resource_metadata="${METADATA_URL}"`), challenge);
      assert.equal(((await res.json()) as { error: string }).error, 'insufficient_scope');
    });

    it('refuses a token issued for another resource', async () => {
      const { access_token } = await token(tessera, { resource: OTHER, scope: 'api:read' });
      const res = await call('GET', { authorization: `Bearer ${access_token}` });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, /^Bearer error="invalid_token"/);
    });

    it('refuses forged, tampered and malformed tokens with 401 or 400, never a 5xx', async () => {
      const { access_token } = await token(tessera);
      const [h, p, s] = access_token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'api:admin' })).toString('base64url')}.${s}`;
      const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`;
      for (const t of [tampered, none, 'abc.def.ghi', 'opaque-token-value', `${h}.${p}.${'A'.repeat(86)}`]) {
        const res = await call('GET', { authorization: `Bearer ${t}` });
        assert.equal(res.status, 401, t.slice(0, 20));
        assert.match(res.headers.get('www-authenticate')!, /error="invalid_token"/);
      }
      for (const header of ['Bearer a b', 'Bearer ', `Bearer ${'a'.repeat(9000)}`, 'Bearer tok"en']) {
        const res = await call('GET', { authorization: header });
        assert.ok(res.status === 400 || res.status === 401, `${header.slice(0, 20)}: ${res.status}`);
      }
      assert.equal((await call('GET', { authorization: 'Basic dXNlcjpwYXNz' })).status, 401);
    });

    it('accepts a DPoP-bound token with its proof, once; refuses it as Bearer and with a wrong or replayed proof', async () => {
      const key = await dpopKey();
      const { access_token, token_type } = await token(tessera, { key });
      assert.equal(token_type, 'DPoP');
      const good = await proof(key, 'GET', ITEMS, access_token);
      const ok = await call('GET', { authorization: `DPoP ${access_token}`, dpop: good });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { scheme: string }).scheme, 'DPoP');

      const replay = await call('GET', { authorization: `DPoP ${access_token}`, dpop: good });
      assert.equal(replay.status, 401);
      assert.match(replay.headers.get('www-authenticate')!, /^DPoP error="invalid_dpop_proof"/);

      const asBearer = await call('GET', { authorization: `Bearer ${access_token}` });
      assert.equal(asBearer.status, 401);

      const other = await dpopKey();
      const cases: [string, Promise<string>][] = [
        ['no proof', Promise.resolve('')],
        ['another method', proof(key, 'POST', ITEMS, access_token)],
        ['another URL', proof(key, 'GET', `${RESOURCE}/other`, access_token)],
        ['another origin', proof(key, 'GET', 'https://evil.example/v1/items', access_token)],
        ['no ath', proof(key, 'GET', ITEMS)],
        ['another key', proof(other, 'GET', ITEMS, access_token)],
        ['too old', proof(key, 'GET', ITEMS, access_token, { iat: Math.floor(Date.now() / 1000) - 600 })],
        ['from the future', proof(key, 'GET', ITEMS, access_token, { iat: Math.floor(Date.now() / 1000) + 600 })],
      ];
      for (const [name, p] of cases) {
        const value = await p;
        const res = await call('GET', { authorization: `DPoP ${access_token}`, ...(value ? { dpop: value } : {}) });
        assert.equal(res.status, 401, name);
        assert.match(res.headers.get('www-authenticate')!, /error="invalid_dpop_proof"/, name);
      }
      // A query string is not part of htu (RFC 9449 section 4.3).
      const q = await fetch(`${served.origin}/v1/items?page=2`, {
        headers: { authorization: `DPoP ${access_token}`, dpop: await proof(key, 'GET', ITEMS, access_token) },
      });
      assert.equal(q.status, 200);
    });

    it('refuses a plain Bearer token presented with the DPoP scheme', async () => {
      const { access_token } = await token(tessera);
      const key = await dpopKey();
      const res = await call('GET', {
        authorization: `DPoP ${access_token}`,
        dpop: await proof(key, 'GET', ITEMS, access_token),
      });
      assert.equal(res.status, 401);
    });
  });
}
