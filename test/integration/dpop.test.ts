import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { App } from '../../src/app.ts';
import { saveClient } from '../../src/admin/clients.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';

const SPA = { client_id: 'spa', redirect_uri: 'https://spa.example/cb', response_type: 'code' };
const WEB = { client_id: 'web', redirect_uri: 'https://app.example/cb', response_type: 'code' };

interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** A DPoP proof as RFC 9449 section 4.2 describes it. */
function proof(key: DpopKey, htm: string, path: string, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ jti: randomUUID(), htm, htu: `${ISSUER}${path}`, iat: Math.floor(Date.now() / 1000), ...extra })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .sign(key.privateKey);
}
const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

for (const backend of await backends()) {
  describe(`DPoP (${backend.name})`, {
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

    async function codeFor(client: typeof SPA | typeof WEB, extra: Record<string, string> = {}) {
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        ...client,
        scope: client === SPA ? 'openid profile' : 'openid profile offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      });
      return { code: redirect.searchParams.get('code')!, verifier };
    }
    const redeem = async (
      client: typeof SPA | typeof WEB,
      code: string,
      verifier: string,
      key?: DpopKey,
      dpop?: string,
    ) =>
      form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: client.redirect_uri,
          ...(client === SPA ? { client_id: 'spa' } : {}),
        },
        {
          ...(client === WEB ? { authorization: basic('web') } : {}),
          ...((dpop ?? key) ? { dpop: dpop ?? (await proof(key!, 'POST', '/token')) } : {}),
        },
      );
    const userinfo = async (token: string, key?: DpopKey, proofClaims: Record<string, unknown> = {}) =>
      app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: key
          ? {
              authorization: `DPoP ${token}`,
              dpop: await proof(key, 'GET', '/userinfo', { ath: ath(token), ...proofClaims }),
            }
          : { authorization: `Bearer ${token}` },
      });

    it('binds the access token of a public client to the proof key; userinfo wants DPoP with ath; introspection shows cnf', async () => {
      const key = await dpopKey();
      const { code, verifier } = await codeFor(SPA);
      const res = await redeem(SPA, code, verifier, key);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.token_type, 'DPoP');
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      const { payload } = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, typ: 'at+jwt' });
      assert.deepEqual(payload.cnf, { jkt: key.jkt });

      const ok = await userinfo(body.access_token, key);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().sub, payload.sub);
      // Presented as a bearer token it is refused, with a DPoP challenge naming the algorithms.
      const bearer = await userinfo(body.access_token);
      assert.equal(bearer.statusCode, 401);
      assert.equal(bearer.json().error, 'invalid_token');
      assert.match(
        bearer.headers['www-authenticate'] as string,
        /^DPoP realm="tessera", error="invalid_token", .*algs="ES256 /,
      );
      // A proof by another key, without ath, with a wrong ath, for another URL or method, or none at all.
      const other = await dpopKey();
      assert.equal((await userinfo(body.access_token, other)).json().error, 'invalid_token');
      assert.equal((await userinfo(body.access_token, key, { ath: undefined })).json().error, 'invalid_dpop_proof');
      assert.equal(
        (await userinfo(body.access_token, key, { ath: ath('another token') })).json().error,
        'invalid_dpop_proof',
      );
      assert.equal(
        (await userinfo(body.access_token, key, { htu: `${ISSUER}/token` })).json().error,
        'invalid_dpop_proof',
      );
      assert.equal((await userinfo(body.access_token, key, { htm: 'POST' })).json().error, 'invalid_dpop_proof');
      const noProof = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `DPoP ${body.access_token}` },
      });
      assert.equal(noProof.statusCode, 401);
      assert.match(noProof.headers['www-authenticate'] as string, /^DPoP .*error="invalid_dpop_proof"/);
      // The same proof twice: the replay is refused.
      const once = await proof(key, 'GET', '/userinfo', { ath: ath(body.access_token) });
      const first = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `DPoP ${body.access_token}`, dpop: once },
      });
      assert.equal(first.statusCode, 200);
      const second = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `DPoP ${body.access_token}`, dpop: once },
      });
      assert.equal(second.statusCode, 401);
      assert.equal(second.json().error, 'invalid_dpop_proof');

      const intro = (
        await form(app, '/introspect', { token: body.access_token }, { authorization: basic('rs') })
      ).json();
      assert.equal(intro.active, true);
      assert.equal(intro.token_type, 'DPoP');
      assert.deepEqual(intro.cnf, { jkt: key.jkt });
    });

    it('refuses a proof for another URL, a replayed proof and a proof by a refused algorithm at the token endpoint, leaving the code usable', async () => {
      const key = await dpopKey();
      const { code, verifier } = await codeFor(SPA);
      const wrongUrl = await redeem(SPA, code, verifier, undefined, await proof(key, 'POST', '/userinfo'));
      assert.equal(wrongUrl.statusCode, 400);
      assert.equal(wrongUrl.json().error, 'invalid_dpop_proof');
      assert.equal(wrongUrl.headers['cache-control'], 'no-store');
      const used = await proof(key, 'POST', '/token');
      const first = await redeem(SPA, code, verifier, undefined, used);
      assert.equal(first.statusCode, 200, first.body);
      const { code: code2, verifier: verifier2 } = await codeFor(SPA);
      const replay = await redeem(SPA, code2, verifier2, undefined, used);
      assert.equal(replay.statusCode, 400);
      assert.equal(replay.json().error, 'invalid_dpop_proof');
      const none = `${Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk })).toString('base64url')}.${Buffer.from(JSON.stringify({ jti: 'x', htm: 'POST', htu: `${ISSUER}/token`, iat: Math.floor(Date.now() / 1000) })).toString('base64url')}.`;
      assert.equal((await redeem(SPA, code2, verifier2, undefined, none)).json().error, 'invalid_dpop_proof');
      assert.equal(
        (await redeem(SPA, code2, verifier2, undefined, 'x'.repeat(9000))).json().error,
        'invalid_dpop_proof',
      );
      // The refusals happened before the code was touched.
      assert.equal((await redeem(SPA, code2, verifier2, key)).statusCode, 200);
      const metrics = await app.metrics.registry.getSingleMetricAsString('tessera_dpop_proofs_refused_total');
      assert.match(metrics, /reason="htu"/);
      assert.match(
        await app.metrics.registry.getSingleMetricAsString('tessera_reuse_detected_total'),
        /artifact="dpop_proof"} [1-9]/,
      );
      await app.audit.flush();
      const records = await app.stores.audit.query({ from: Date.now() - 60_000 });
      assert.ok(records.some((r) => r.type === 'dpop_replay' && r.outcome === 'failure' && r.clientId === 'spa'));
      assert.ok(records.some((r) => r.type === 'dpop_proof_refused' && r.details.reason === 'htu'));
    });

    it('binds the refresh tokens of a public client: refused without a proof or with another key, accepted with the same key', async () => {
      const key = await dpopKey();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'spa-rt',
          token_endpoint_auth_method: 'none',
          redirect_uris: ['https://spa.example/cb'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid',
        },
        app.provider.now(),
      );
      const { code: c2, verifier: v2 } = await (async () => {
        const { verifier: v, challenge } = pkce();
        const r = await authorizeWithLogin(app, new Jar(), {
          client_id: 'spa-rt',
          redirect_uri: 'https://spa.example/cb',
          response_type: 'code',
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
        return { code: r.searchParams.get('code')!, verifier: v };
      })();
      const tokens = (
        await form(
          app,
          '/token',
          {
            grant_type: 'authorization_code',
            code: c2,
            code_verifier: v2,
            redirect_uri: 'https://spa.example/cb',
            client_id: 'spa-rt',
          },
          { dpop: await proof(key, 'POST', '/token') },
        )
      ).json();
      assert.ok(tokens.refresh_token, JSON.stringify(tokens));
      const rt = async (token: string, k?: DpopKey) =>
        form(
          app,
          '/token',
          { grant_type: 'refresh_token', refresh_token: token, client_id: 'spa-rt' },
          k ? { dpop: await proof(k, 'POST', '/token') } : {},
        );
      const without = await rt(tokens.refresh_token);
      assert.equal(without.statusCode, 400);
      assert.equal(without.json().error, 'invalid_grant');
      const otherKey = await rt(tokens.refresh_token, await dpopKey());
      assert.equal(otherKey.json().error, 'invalid_grant');
      const same = await rt(tokens.refresh_token, key);
      assert.equal(same.statusCode, 200, same.body);
      assert.equal(same.json().token_type, 'DPoP');
      assert.deepEqual(decodeJwt(same.json().access_token).cnf, { jkt: key.jkt });
      // The successor stays bound too.
      assert.equal((await rt(same.json().refresh_token)).json().error, 'invalid_grant');
      assert.equal((await rt(same.json().refresh_token, key)).statusCode, 200);
    });

    it('does not bind the refresh tokens of a confidential client, only its access tokens', async () => {
      const key = await dpopKey();
      const { code, verifier } = await codeFor(WEB);
      const tokens = (await redeem(WEB, code, verifier, key)).json();
      assert.equal(tokens.token_type, 'DPoP');
      const plain = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(plain.statusCode, 200, plain.body);
      assert.equal(plain.json().token_type, 'Bearer');
      assert.equal(decodeJwt(plain.json().access_token).cnf, undefined);
    });

    it('dpop_jkt at /authorize and a proof at /par bind the code to that key', async () => {
      const key = await dpopKey();
      const other = await dpopKey();
      const bound = await codeFor(SPA, { dpop_jkt: key.jkt });
      const refused = await redeem(SPA, bound.code, bound.verifier, other);
      assert.equal(refused.json().error, 'invalid_grant');
      const bound2 = await codeFor(SPA, { dpop_jkt: key.jkt });
      assert.equal((await redeem(SPA, bound2.code, bound2.verifier)).json().error, 'invalid_grant');
      const bound3 = await codeFor(SPA, { dpop_jkt: key.jkt });
      const ok = await redeem(SPA, bound3.code, bound3.verifier, key);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().token_type, 'DPoP');

      const { verifier, challenge } = pkce();
      const pushedParams = { ...SPA, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' };
      const pushed = await form(app, '/par', pushedParams, { dpop: await proof(key, 'POST', '/par') });
      assert.equal(pushed.statusCode, 201, pushed.body);
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'spa',
        request_uri: pushed.json().request_uri,
      });
      const parCode = redirect.searchParams.get('code')!;
      assert.equal((await redeem(SPA, parCode, verifier, other)).json().error, 'invalid_grant');
      // A proof at /par must agree with dpop_jkt, and a proof for another URL is refused there too.
      const mismatch = await form(
        app,
        '/par',
        { ...pushedParams, dpop_jkt: other.jkt },
        { dpop: await proof(key, 'POST', '/par') },
      );
      assert.equal(mismatch.json().error, 'invalid_dpop_proof');
      const wrongUrl = await form(app, '/par', pushedParams, { dpop: await proof(key, 'POST', '/token') });
      assert.equal(wrongUrl.json().error, 'invalid_dpop_proof');
    });

    it('client_credentials tokens are bound too; dpop_bound_access_tokens makes proofs mandatory for a client', async () => {
      const key = await dpopKey();
      const cc = await form(
        app,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('svc'), dpop: await proof(key, 'POST', '/token') },
      );
      assert.equal(cc.statusCode, 200, cc.body);
      assert.equal(cc.json().token_type, 'DPoP');
      assert.deepEqual(decodeJwt(cc.json().access_token).cnf, { jkt: key.jkt });
      const intro = (
        await form(app, '/introspect', { token: cc.json().access_token }, { authorization: basic('rs') })
      ).json();
      assert.equal(intro.token_type, 'DPoP');
      // Without openid the token is no good at userinfo, and the answer keeps to the DPoP scheme.
      const token = cc.json().access_token;
      const ui = await app.server.inject({
        method: 'GET',
        url: '/userinfo',
        headers: { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', '/userinfo', { ath: ath(token) }) },
      });
      assert.equal(ui.statusCode, 403);
      assert.match(ui.headers['www-authenticate'] as string, /^DPoP .*error="insufficient_scope"/);

      const secret = 'bound-svc-secret-0123456789-abcdefgh';
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'bound-svc',
          client_secret: secret,
          grant_types: ['client_credentials'],
          scope: 'api:read',
          redirect_uris: [],
          dpop_bound_access_tokens: true,
        },
        app.provider.now(),
      );
      const refused = await form(
        app,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('bound-svc', secret) },
      );
      assert.equal(refused.statusCode, 400);
      assert.equal(refused.json().error, 'invalid_dpop_proof');
      const ok = await form(
        app,
        '/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('bound-svc', secret), dpop: await proof(key, 'POST', '/token') },
      );
      assert.equal(ok.json().token_type, 'DPoP');
    });

    it('discovery advertises the proof algorithms', async () => {
      const doc = (await app.server.inject('/.well-known/openid-configuration')).json();
      assert.ok(doc.dpop_signing_alg_values_supported.includes('ES256'));
      assert.ok(!doc.dpop_signing_alg_values_supported.some((a: string) => a.startsWith('HS') || a === 'none'));
    });
  });
}

describe('DPoP server nonces (TESSERA_DPOP_REQUIRE_NONCE)', () => {
  let app: App;
  let other: App;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_DPOP_REQUIRE_NONCE: 'true' });
    // A second instance with the same secret and no shared state accepts the first one's nonces.
    other = await testApp('sqlite::memory:', { TESSERA_DPOP_REQUIRE_NONCE: 'true' });
  });
  after(async () => {
    await app?.close();
    await other?.close();
  });

  it('asks for a nonce with use_dpop_nonce and DPoP-Nonce, then accepts it on every instance', async () => {
    const key = await dpopKey();
    const first = await form(
      app,
      '/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('svc'), dpop: await proof(key, 'POST', '/token') },
    );
    assert.equal(first.statusCode, 400);
    assert.equal(first.json().error, 'use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'] as string;
    assert.ok(nonce);
    const ok = await form(
      other,
      '/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('svc'), dpop: await proof(key, 'POST', '/token', { nonce }) },
    );
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers['dpop-nonce'], nonce);
    // At userinfo the nonce error is a 401 with a DPoP challenge.
    const { access_token: token } = ok.json();
    const ui = await other.server.inject({
      method: 'GET',
      url: '/userinfo',
      headers: { authorization: `DPoP ${token}`, dpop: await proof(key, 'GET', '/userinfo', { ath: ath(token) }) },
    });
    assert.equal(ui.statusCode, 401);
    assert.match(ui.headers['www-authenticate'] as string, /^DPoP .*error="use_dpop_nonce"/);
    assert.ok(ui.headers['dpop-nonce']);
  });
});
