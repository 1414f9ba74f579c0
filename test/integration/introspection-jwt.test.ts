import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { App } from '../../src/app.ts';
import { backends, basic, form, ISSUER, testApp } from '../fixtures/app.ts';

const JWT_TYPE = 'application/token-introspection+jwt';

for (const backend of await backends()) {
  describe(`JWT introspection responses, RFC 9701 (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    before(async () => {
      app = await testApp(backend.url!);
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const jwks = async () => createLocalJWKSet((await app.server.inject('/jwks')).json());
    const serviceToken = async () =>
      (
        await form(
          app,
          '/token',
          { grant_type: 'client_credentials', scope: 'api:read' },
          { authorization: basic('svc') },
        )
      ).json().access_token as string;
    const introspect = (token: string, accept?: string, client = 'rs') =>
      form(app, '/introspect', { token }, { authorization: basic(client), ...(accept ? { accept } : {}) });

    it('answers a signed JWT for the calling client, verifiable against the JWKS', async () => {
      const token = await serviceToken();
      const res = await introspect(token, JWT_TYPE);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], JWT_TYPE);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(decodeProtectedHeader(res.body).typ, 'token-introspection+jwt');
      const { payload } = await jwtVerify(res.body, await jwks(), {
        issuer: ISSUER,
        audience: 'rs',
        typ: 'token-introspection+jwt',
        maxTokenAge: 60,
      });
      assert.ok(typeof payload.iat === 'number');
      const inner = payload.token_introspection as Record<string, unknown>;
      // The same content as the JSON answer.
      const plain = (await introspect(token)).json();
      assert.deepEqual(inner, plain);
      assert.equal(inner.active, true);
      assert.equal(inner.client_id, 'svc');
      assert.equal(inner.scope, 'api:read');
      // Nothing of the introspected token at the top level, so the response cannot pass for it.
      assert.deepEqual(Object.keys(payload).sort(), ['aud', 'iat', 'iss', 'token_introspection']);
      // ... nor be used as one: introspection and userinfo refuse it (typ is not at+jwt).
      assert.equal((await introspect(res.body)).json().active, false);
      assert.equal(
        (await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${res.body}` } })).statusCode,
        401,
      );
    });

    it('inactive and unknown tokens: a signed {active: false}', async () => {
      const res = await introspect('not-a-token', `application/json;q=0.5, ${JWT_TYPE}`);
      assert.equal(res.headers['content-type'], JWT_TYPE);
      const { payload } = await jwtVerify(res.body, await jwks(), {
        issuer: ISSUER,
        audience: 'rs',
        typ: 'token-introspection+jwt',
      });
      assert.deepEqual(payload.token_introspection, { active: false });
    });

    it('a signature checked against another audience or a changed payload fails', async () => {
      const res = await introspect(await serviceToken(), JWT_TYPE);
      await assert.rejects(jwtVerify(res.body, await jwks(), { issuer: ISSUER, audience: 'svc' }));
      const [h, p, s] = res.body.split('.');
      const changed = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), aud: 'rs2' }),
      ).toString('base64url');
      await assert.rejects(jwtVerify(`${h}.${changed}.${s}`, await jwks(), { issuer: ISSUER }));
    });

    it('stays plain JSON without the Accept type, with q=0, and for errors', async () => {
      const token = await serviceToken();
      for (const accept of [undefined, 'application/json', `${JWT_TYPE};q=0`]) {
        const res = await introspect(token, accept);
        assert.match(res.headers['content-type'] as string, /^application\/json/);
        assert.equal(res.json().active, true);
      }
      const bad = await form(
        app,
        '/introspect',
        { token },
        { authorization: basic('rs', 'wrong-secret'), accept: JWT_TYPE },
      );
      assert.equal(bad.statusCode, 401);
      assert.equal(bad.json().error, 'invalid_client');
      const missing = await form(app, '/introspect', {}, { authorization: basic('rs'), accept: JWT_TYPE });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error, 'invalid_request');
    });

    it('advertises the signing algorithms in discovery', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.deepEqual(doc.introspection_signing_alg_values_supported, doc.id_token_signing_alg_values_supported);
      assert.ok(doc.introspection_signing_alg_values_supported.length >= 1);
    });
  });
}
