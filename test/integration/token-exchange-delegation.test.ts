/**
 * Token exchange (RFC 8693) beyond impersonation: delegation with the `act` chain and may_act,
 * refresh tokens, ID tokens and external JWTs (trusted issuers, inline keys and a jwks_uri) as
 * subject and actor tokens, the policy's scopes, and every class of bad token.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { AdminError, saveClient } from '../../src/admin/clients.ts';
import type { App } from '../../src/app.ts';
import type { ProtocolEvent } from '../../src/protocol/events.ts';
import { authorizeWithLogin, backends, basic, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const T = (t: string) => `urn:ietf:params:oauth:token-type:${t}`;
const AT = T('access_token'),
  RT = T('refresh_token'),
  IDT = T('id_token'),
  JWT = T('jwt');
const ORDERS = 'https://orders.example/';
const SECRET = 'broker-secret-0123456789-abcdefghijklmnop';
const EXT = 'https://idp.partner.example';
const EXT_URI = 'https://keys.partner.example';

function assertOAuthError(res: LightMyRequestResponse, status: number, error: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error, error, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
}

const ext = await generateKeyPair('ES256', { extractable: true });
const extOther = await generateKeyPair('ES256', { extractable: true });
const uriKey = await generateKeyPair('ES256', { extractable: true });
const publicJwk = async (k: CryptoKey, kid: string): Promise<JWK> => ({
  ...(await exportJWK(k)),
  kid,
  alg: 'ES256',
  use: 'sig',
});
const extJwks = { keys: [await publicJwk(ext.publicKey, 'ext-1')] };

/** A JWT of the external issuer (or of whoever holds `key`), audience Tessera, with a fresh jti. */
function externalJwt(
  claims: JWTPayload = {},
  opts: { key?: CryptoKey; kid?: string; iss?: string; exp?: number; iat?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'partner-user-7', aud: ISSUER, jti: randomUUID(), scope: 'api:read api:write', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? 'ext-1', typ: 'JWT' })
    .setIssuer(opts.iss ?? EXT)
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 300)
    .sign(opts.key ?? ext.privateKey);
}

// The jwks_uri issuer's key set, served on loopback (development allows http to loopback hosts).
let keyServer: Server;
let keyServerUrl = '';
before(async () => {
  const body = JSON.stringify({ keys: [await publicJwk(uriKey.publicKey, 'uri-1')] });
  keyServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  keyServerUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks`;
});
after(() => new Promise<void>((r) => keyServer.close(() => r())));

for (const backend of await backends()) {
  describe(`token exchange: delegation and token types, RFC 8693 (${backend.name})`, {
    skip: backend.url ? false : 'PostgreSQL unreachable (set CI=true to require it)',
  }, () => {
    let app: App;
    let offset = 0;
    const events: ProtocolEvent[] = [];
    before(async () => {
      app = await testApp(backend.url!, {}, { now: () => Math.floor(Date.now() / 1000) + offset });
      const sink = app.provider.events;
      (app.provider as { events: (e: ProtocolEvent) => void }).events = (e) => {
        events.push(e);
        sink(e);
      };
      const now = app.provider.now();
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'broker',
          client_secret: SECRET,
          grant_types: [GRANT, 'client_credentials'],
          scope: 'openid profile api:read api:write',
          redirect_uris: [],
          token_exchange: {
            audiences: [ORDERS],
            subject_clients: ['web', 'svc', 'broker'],
            token_types: ['access_token', 'refresh_token', 'id_token', 'jwt'],
            scopes: ['openid', 'profile', 'api:read'],
            delegation: true,
            actor_clients: ['broker', 'svc'],
            trusted_issuers: [
              { issuer: EXT, jwks: extJwks, algorithms: ['ES256'] },
              { issuer: EXT_URI, jwks_uri: keyServerUrl },
            ],
          },
        },
        now,
      );
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'pw',
          client_secret: SECRET,
          subject_type: 'pairwise',
          redirect_uris: ['https://pw.example/cb'],
          grant_types: ['authorization_code'],
          scope: 'openid',
        },
        now,
      );
    });
    after(async () => {
      await app?.close();
      await backend.drop?.();
    });

    const exchange = (subject: string, subjectType: string, extra: Record<string, string> = {}) =>
      form(
        app,
        '/token',
        { grant_type: GRANT, subject_token: subject, subject_token_type: subjectType, audience: ORDERS, ...extra },
        { authorization: basic('broker', SECRET) },
      );
    /** The refusal is invalid_request for the expected reason (the token_exchange_refused event). */
    const refused = (res: LightMyRequestResponse, role: 'subject' | 'actor', reason: string) => {
      assertOAuthError(res, 400, 'invalid_request');
      const last = events.findLast((e) => e.type === 'token_exchange_refused' || e.type === 'token_exchanged');
      assert.deepEqual(
        last && last.type === 'token_exchange_refused' ? [last.role, last.reason] : last?.type,
        [role, reason],
        res.body,
      );
      events.length = 0;
    };
    const introspect = async (token: string) =>
      (await form(app, '/introspect', { token }, { authorization: basic('rs') })).json();
    const verify = async (token: string) => {
      const jwks = createLocalJWKSet((await app.server.inject('/jwks')).json());
      return (await jwtVerify(token, jwks, { issuer: ISSUER, audience: ORDERS, typ: 'at+jwt' })).payload;
    };
    const serviceToken = async (id: 'svc' | 'broker') =>
      (
        await form(
          app,
          '/token',
          { grant_type: 'client_credentials', scope: 'api:read' },
          { authorization: id === 'svc' ? basic('svc') : basic('broker', SECRET) },
        )
      ).json().access_token as string;

    async function userTokens(clientId = 'web') {
      const { verifier, challenge } = pkce();
      const redirectUri = clientId === 'web' ? 'https://app.example/cb' : 'https://spa.example/cb';
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: clientId === 'web' ? 'openid profile offline_access' : 'openid profile',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const body = {
        grant_type: 'authorization_code',
        code: redirect.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      };
      const res =
        clientId === 'web'
          ? await form(app, '/token', body, { authorization: basic('web') })
          : await form(app, '/token', { ...body, client_id: clientId });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { access_token: string; refresh_token: string; id_token: string };
    }

    it("delegation: the new token names the actor in act; a second exchange nests the chain; introspection shows it; the user's grant revokes it", async () => {
      const user = await userTokens();
      const brokerToken = await serviceToken('broker');
      const res = await exchange(user.access_token, AT, { actor_token: brokerToken, actor_token_type: AT });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.issued_token_type, AT);
      assert.equal(body.scope, 'openid profile');
      const claims = await verify(body.access_token);
      assert.equal(claims.sub, decodeJwt(user.access_token).sub);
      assert.equal(claims.client_id, 'broker');
      assert.deepEqual(claims.act, { sub: 'broker', client_id: 'broker' });
      assert.deepEqual((await introspect(body.access_token)).act, { sub: 'broker', client_id: 'broker' });
      // The delegated token exchanged once more, with svc acting: svc outermost, broker inside.
      const again = await exchange(body.access_token, AT, {
        actor_token: await serviceToken('svc'),
        actor_token_type: AT,
        scope: 'openid',
      });
      assert.equal(again.statusCode, 200, again.body);
      const chained = await verify(again.json().access_token);
      assert.deepEqual(chained.act, { sub: 'svc', client_id: 'svc', act: { sub: 'broker', client_id: 'broker' } });
      assert.equal(again.json().scope, 'openid');
      // Impersonation of a delegated token keeps its chain.
      const imp = await exchange(body.access_token, AT);
      assert.deepEqual((await verify(imp.json().access_token)).act, { sub: 'broker', client_id: 'broker' });
      // Revoking the user's grant revokes every token exchanged from it.
      assert.equal(
        (await form(app, '/revoke', { token: user.refresh_token }, { authorization: basic('web') })).statusCode,
        200,
      );
      for (const t of [body.access_token, again.json().access_token, imp.json().access_token])
        assert.equal((await introspect(t)).active, false);
    });

    it('refuses actors the policy does not name, bad actor tokens and mismatched actor parameters', async () => {
      const user = await userTokens();
      const other = await userTokens();
      // web is not in actor_clients.
      refused(
        await exchange(user.access_token, AT, { actor_token: other.access_token, actor_token_type: AT }),
        'actor',
        'client_not_allowed',
      );
      refused(
        await exchange(user.access_token, AT, { actor_token: 'not-a-token', actor_token_type: AT }),
        'actor',
        'invalid_access_token',
      );
      assertOAuthError(
        await exchange(user.access_token, AT, { actor_token: await serviceToken('svc') }),
        400,
        'invalid_request',
      );
      assertOAuthError(await exchange(user.access_token, AT, { actor_token_type: AT }), 400, 'invalid_request');
      assertOAuthError(
        await exchange(user.access_token, AT, { actor_token: await serviceToken('svc'), actor_token_type: T('saml2') }),
        400,
        'invalid_request',
      );
      assertOAuthError(
        await exchange(user.access_token, AT, { actor_token: 'x'.repeat(9000), actor_token_type: AT }),
        400,
        'invalid_request',
      );
      // A revoked actor token.
      const svc = await serviceToken('svc');
      assert.equal((await form(app, '/revoke', { token: svc }, { authorization: basic('svc') })).statusCode, 200);
      refused(await exchange(user.access_token, AT, { actor_token: svc, actor_token_type: AT }), 'actor', 'revoked');
    });

    it('refresh token as subject: read, never rotated or consumed; a rotated-out one is refused; the grant revokes the result', async () => {
      const user = await userTokens();
      const res = await exchange(user.refresh_token, RT, { requested_token_type: JWT });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().issued_token_type, JWT);
      assert.equal(res.json().scope, 'openid profile');
      const claims = await verify(res.json().access_token);
      assert.equal(claims.sub, decodeJwt(user.access_token).sub);
      assert.equal(claims.auth_time, decodeJwt(user.access_token).auth_time);
      // The refresh token still works for its own client: the exchange did not consume it.
      const rotated = await form(
        app,
        '/token',
        { grant_type: 'refresh_token', refresh_token: user.refresh_token },
        { authorization: basic('web') },
      );
      assert.equal(rotated.statusCode, 200, rotated.body);
      refused(await exchange(user.refresh_token, RT), 'subject', 'rotated');
      refused(await exchange('r'.repeat(43), RT), 'subject', 'invalid_refresh_token');
      refused(await exchange(user.access_token, RT), 'subject', 'invalid_refresh_token');
      assert.equal(
        (await form(app, '/revoke', { token: rotated.json().refresh_token }, { authorization: basic('web') }))
          .statusCode,
        200,
      );
      assert.equal((await introspect(res.json().access_token)).active, false);
      refused(await exchange(rotated.json().refresh_token, RT), 'subject', 'revoked');
    });

    it("ID token as subject or actor: Tessera's own, of a client the policy allows; forged, alg none and foreign audiences refused", async () => {
      const user = await userTokens();
      const res = await exchange(user.id_token, IDT);
      assert.equal(res.statusCode, 200, res.body);
      const claims = await verify(res.json().access_token);
      assert.equal(claims.sub, decodeJwt(user.id_token).sub);
      // An ID token carries no scope, so neither does the token exchanged for it.
      assert.equal(res.json().scope, undefined);
      assertOAuthError(await exchange(user.id_token, IDT, { scope: 'openid' }), 400, 'invalid_scope');
      // ID token as actor: the user acts for the service.
      const svc = await serviceToken('svc');
      refused(
        await exchange(svc, AT, { actor_token: user.id_token, actor_token_type: IDT }),
        'actor',
        'client_not_allowed',
      ); // web is no actor client
      // An ID token of spa, a client the policy does not name.
      const spa = await userTokens('spa');
      refused(await exchange(spa.id_token, IDT), 'subject', 'client_not_allowed');
      // A pairwise client's ID token: its sub is never mapped back to the user.
      const p = pkce();
      const pw = await authorizeWithLogin(app, new Jar(), {
        client_id: 'pw',
        redirect_uri: 'https://pw.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
      });
      const pwTokens = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: pw.searchParams.get('code')!,
          code_verifier: p.verifier,
          redirect_uri: 'https://pw.example/cb',
        },
        { authorization: basic('pw', SECRET) },
      );
      assert.equal(pwTokens.statusCode, 200, pwTokens.body);
      assert.notEqual(decodeJwt(pwTokens.json().id_token).sub, decodeJwt(user.id_token).sub);
      refused(await exchange(pwTokens.json().id_token, IDT), 'subject', 'pairwise_subject');
      // Forged: the same claims signed by another key, and unsigned (alg none).
      const payload = decodeJwt(user.id_token);
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: decodeProtectedHeader(user.id_token).kid!, typ: 'JWT' })
        .sign(extOther.privateKey);
      refused(await exchange(forged, IDT), 'subject', 'invalid_id_token');
      refused(await exchange(new UnsecuredJWT(payload).encode(), IDT), 'subject', 'invalid_id_token');
      const [h, , s] = user.id_token.split('.');
      assertOAuthError(
        await exchange(
          `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url')}.${s}`,
          IDT,
        ),
        400,
        'invalid_request',
      );
      // An access token is not an ID token, nor the reverse.
      refused(await exchange(user.access_token, IDT), 'subject', 'invalid_id_token');
      refused(await exchange(user.id_token, AT), 'subject', 'invalid_access_token');
    });

    it('external JWT of a trusted issuer: verified, single use, scope within the policy; may_act and act chains honoured', async () => {
      const jwt = await externalJwt();
      const res = await exchange(jwt, JWT);
      assert.equal(res.statusCode, 200, res.body);
      const claims = await verify(res.json().access_token);
      assert.equal(claims.sub, 'partner-user-7');
      // api:write was in the JWT but is outside the policy's scopes.
      assert.equal(res.json().scope, 'api:read');
      assertOAuthError(await exchange(await externalJwt(), JWT, { scope: 'api:write' }), 400, 'invalid_scope');
      // Replayed jti.
      refused(await exchange(jwt, JWT), 'subject', 'replayed');
      // A key set by jwks_uri.
      const viaUri = await externalJwt({}, { key: uriKey.privateKey, kid: 'uri-1', iss: EXT_URI });
      const r2 = await exchange(viaUri, JWT);
      assert.equal(r2.statusCode, 200, r2.body);
      // may_act names the broker: the broker may act; svc may not.
      const mayAct = { may_act: { sub: 'broker', client_id: 'broker' } };
      const delegated = await exchange(await externalJwt(mayAct), JWT, {
        actor_token: await serviceToken('broker'),
        actor_token_type: AT,
      });
      assert.equal(delegated.statusCode, 200, delegated.body);
      assert.deepEqual((await verify(delegated.json().access_token)).act, { sub: 'broker', client_id: 'broker' });
      refused(
        await exchange(await externalJwt(mayAct), JWT, {
          actor_token: await serviceToken('svc'),
          actor_token_type: AT,
        }),
        'actor',
        'may_act',
      );
      // A subject JWT with its own chain: the new actor goes outside it. An external actor carries its issuer.
      const chained = await exchange(await externalJwt({ act: { sub: 'upstream-svc', extra: 'dropped' } }), JWT, {
        actor_token: await externalJwt({ sub: 'partner-agent' }),
        actor_token_type: JWT,
      });
      assert.equal(chained.statusCode, 200, chained.body);
      assert.deepEqual((await verify(chained.json().access_token)).act, {
        sub: 'partner-agent',
        iss: EXT,
        act: { sub: 'upstream-svc' },
      });
    });

    it('refuses external JWTs that are untrusted, wrongly signed, unsigned, expired, not yet valid, for another audience, or malformed', async () => {
      const now = Math.floor(Date.now() / 1000);
      const skew = app.provider.config.clockSkew;
      const bad: [string, string][] = [
        [await externalJwt({}, { iss: 'https://evil.example' }), 'untrusted_issuer'],
        [await externalJwt({}, { key: extOther.privateKey }), 'invalid_jwt'],
        [await externalJwt({}, { key: uriKey.privateKey, kid: 'uri-1' }), 'invalid_jwt'],
        [
          new UnsecuredJWT({ sub: 'partner-user-7', aud: ISSUER, jti: randomUUID() })
            .setIssuer(EXT)
            .setIssuedAt()
            .setExpirationTime('5m')
            .encode(),
          'invalid_jwt',
        ],
        [await externalJwt({}, { exp: now - skew - 5, iat: now - 600 }), 'expired'],
        [await externalJwt({ nbf: now + skew + 60 }), 'invalid_jwt'],
        [await externalJwt({}, { iat: now + skew + 60, exp: now + 600 }), 'invalid_jwt'],
        [await externalJwt({ aud: 'https://someone-else.example' }), 'invalid_jwt'],
        [await externalJwt({ jti: undefined }), 'invalid_jwt'],
        [await externalJwt({ act: 'not-an-object' }), 'malformed_act'],
        [await externalJwt({ sub: 'x'.repeat(300) }), 'invalid_jwt'],
        ['not.a.jwt', 'malformed'],
      ];
      for (const [token, reason] of bad) refused(await exchange(token, JWT), 'subject', reason);
      assertOAuthError(await exchange('x'.repeat(9000), JWT), 400, 'invalid_request');
      // A chain of five actors may be exchanged by impersonation, but one more actor makes it too long.
      let deep: Record<string, unknown> = { sub: 'a0' };
      for (let i = 1; i < 5; i++) deep = { sub: `a${i}`, act: deep };
      assert.equal((await exchange(await externalJwt({ act: deep }), JWT)).statusCode, 200);
      assertOAuthError(
        await exchange(await externalJwt({ act: deep }), JWT, {
          actor_token: await serviceToken('broker'),
          actor_token_type: AT,
        }),
        400,
        'invalid_request',
      );
      refused(await exchange(await externalJwt({ act: { sub: 'a5', act: deep } }), JWT), 'subject', 'malformed_act');
      // HS256 with the public key's bytes as the secret: not an allowed algorithm.
      const hs = await new SignJWT({ sub: 'partner-user-7', aud: ISSUER, jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', kid: 'ext-1' })
        .setIssuer(EXT)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JSON.stringify(extJwks.keys[0])));
      refused(await exchange(hs, JWT), 'subject', 'invalid_jwt');
      // Nothing was recorded for a refused token: a good JWT with a jti a refused one had still works once.
      const jti = randomUUID();
      refused(await exchange(await externalJwt({ jti }, { key: extOther.privateKey }), JWT), 'subject', 'invalid_jwt');
      assert.equal((await exchange(await externalJwt({ jti }), JWT)).statusCode, 200);
    });

    it('refuses upscoping, other audiences and token types the policy lacks', async () => {
      const user = await userTokens();
      assertOAuthError(await exchange(user.access_token, AT, { scope: 'openid email' }), 400, 'invalid_scope');
      const svc = await serviceToken('svc');
      assertOAuthError(await exchange(svc, AT, { scope: 'api:write' }), 400, 'invalid_scope');
      assertOAuthError(
        await exchange(user.access_token, AT, { audience: 'https://evil.example/' }),
        400,
        'invalid_target',
      );
      assertOAuthError(
        await exchange(user.access_token, AT, { audience: ORDERS, resource: ORDERS }),
        400,
        'invalid_request',
      );
      assertOAuthError(await exchange(user.access_token, T('saml2')), 400, 'invalid_request');
      assertOAuthError(await exchange(user.access_token, AT, { requested_token_type: RT }), 400, 'invalid_request');
      assertOAuthError(await exchange(user.access_token, AT, { requested_token_type: IDT }), 400, 'invalid_request');
      const twice = await app.server.inject({
        method: 'POST',
        url: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('broker', SECRET) },
        payload: new URLSearchParams([
          ['grant_type', GRANT],
          ['subject_token', user.access_token],
          ['subject_token_type', AT],
          ['audience', ORDERS],
          ['audience', 'x'],
        ]).toString(),
      });
      assertOAuthError(twice, 400, 'invalid_request');
      // resource may repeat (RFC 8707), but an exchange issues one token for one audience.
      const resources = await app.server.inject({
        method: 'POST',
        url: '/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('broker', SECRET) },
        payload: new URLSearchParams([
          ['grant_type', GRANT],
          ['subject_token', user.access_token],
          ['subject_token_type', AT],
          ['resource', ORDERS],
          ['resource', ORDERS],
        ]).toString(),
      });
      assertOAuthError(resources, 400, 'invalid_request');
      assert.match(resources.json().error_description, /one audience/);
    });

    it('DPoP-bound subject and actor tokens need a proof of their key in the exchange request (RFC 9449)', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = await exportJWK(publicKey);
      const dpop = (path: string) =>
        new SignJWT({ jti: randomUUID(), htm: 'POST', htu: `${ISSUER}${path}`, iat: Math.floor(Date.now() / 1000) })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
          .sign(privateKey);
      const bound = await form(
        app,
        '/token',
        { grant_type: 'client_credentials', scope: 'api:read' },
        { authorization: basic('svc'), dpop: await dpop('/token') },
      );
      assert.equal(bound.statusCode, 200, bound.body);
      assert.equal(
        decodeJwt(bound.json().access_token).cnf && (decodeJwt(bound.json().access_token).cnf as { jkt: string }).jkt,
        await calculateJwkThumbprint(jwk),
      );
      refused(await exchange(bound.json().access_token, AT), 'subject', 'sender_constrained');
      const user = await userTokens();
      refused(
        await exchange(user.access_token, AT, { actor_token: bound.json().access_token, actor_token_type: AT }),
        'actor',
        'sender_constrained',
      );
      // With a DPoP proof of that key the exchange goes through, and the new token is bound to the same key.
      const proven = await form(
        app,
        '/token',
        { grant_type: GRANT, subject_token: bound.json().access_token, subject_token_type: AT, audience: ORDERS },
        { authorization: basic('broker', SECRET), dpop: await dpop('/token') },
      );
      assert.equal(proven.statusCode, 200, proven.body);
      assert.equal(proven.json().token_type, 'DPoP');
      assert.deepEqual((await verify(proven.json().access_token)).cnf, { jkt: await calculateJwkThumbprint(jwk) });
      // A proof of another key does not do.
      const { privateKey: otherKey, publicKey: otherPub } = await generateKeyPair('ES256');
      const otherProof = await new SignJWT({
        jti: randomUUID(),
        htm: 'POST',
        htu: `${ISSUER}/token`,
        iat: Math.floor(Date.now() / 1000),
      })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(otherPub) })
        .sign(otherKey);
      refused(
        await form(
          app,
          '/token',
          { grant_type: GRANT, subject_token: bound.json().access_token, subject_token_type: AT, audience: ORDERS },
          { authorization: basic('broker', SECRET), dpop: otherProof },
        ),
        'subject',
        'sender_constrained',
      );
      // A public client's refresh token bound to its DPoP key (spa).
      const { verifier, challenge } = pkce();
      const redirect = await authorizeWithLogin(app, new Jar(), {
        client_id: 'spa',
        redirect_uri: 'https://spa.example/cb',
        response_type: 'code',
        scope: 'openid profile',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const spa = await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          client_id: 'spa',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://spa.example/cb',
        },
        { dpop: await dpop('/token') },
      );
      assert.equal(spa.statusCode, 200, spa.body);
      assert.ok(spa.json().refresh_token, spa.body);
      refused(await exchange(spa.json().refresh_token, RT), 'subject', 'sender_constrained');
      // With the proof, the binding passes and the policy decides (spa is not a subject client).
      refused(
        await form(
          app,
          '/token',
          { grant_type: GRANT, subject_token: spa.json().refresh_token, subject_token_type: RT, audience: ORDERS },
          { authorization: basic('broker', SECRET), dpop: await dpop('/token') },
        ),
        'subject',
        'client_not_allowed',
      );
    });

    it('audits exchanges and refusals, without token values', async () => {
      const started = Date.now();
      const user = await userTokens();
      const ok = await exchange(user.access_token, AT, {
        actor_token: await serviceToken('svc'),
        actor_token_type: AT,
      });
      assert.equal(ok.statusCode, 200, ok.body);
      refused(
        await exchange(user.access_token, AT, { actor_token: user.access_token, actor_token_type: AT }),
        'actor',
        'client_not_allowed',
      );
      await app.audit.flush();
      const records = await app.stores.audit.query({ from: started });
      const done = records.findLast((r) => r.type === 'token_exchanged');
      assert.deepEqual(done && [done.clientId, done.outcome, done.details], [
        'broker',
        'success',
        { subject_token_type: 'access_token', actor_token_type: 'access_token', audience: ORDERS },
      ]);
      // This refusal's record (a record of an earlier test's refusals, folded with their count, may be
      // written by the same flush: observability/audit.ts).
      const no = records.findLast((r) => r.type === 'token_exchange_refused' && r.details.role === 'actor');
      // Repeated failures of one kind are folded into a record with their count (observability/audit.ts).
      const { repeated: _, ...refusal } = no?.details ?? {};
      assert.deepEqual(no && [no.clientId, no.outcome, refusal], [
        'broker',
        'failure',
        { role: 'actor', reason: 'client_not_allowed' },
      ]);
      const text = JSON.stringify(records);
      for (const secret of [user.access_token, user.refresh_token, ok.json().access_token])
        assert.ok(!text.includes(secret.slice(-20)));
    });

    it('registration validates the delegation, token type and trusted issuer parts of the policy', async () => {
      const now = app.provider.now();
      const config = app.provider.config;
      const base = { client_secret: SECRET, grant_types: [GRANT], redirect_uris: [] };
      const te = { audiences: [ORDERS], subject_clients: ['*'] };
      const policies: unknown[] = [
        { ...te, token_types: ['saml2'] },
        { ...te, token_types: [] },
        { ...te, delegation: 'yes' },
        { ...te, delegation: true },
        { ...te, actor_clients: ['svc'] },
        { ...te, scopes: ['bad scope'] },
        { ...te, token_types: ['jwt'] },
        { ...te, trusted_issuers: [{ issuer: EXT, jwks: extJwks }] },
        { ...te, token_types: ['jwt'], trusted_issuers: [{ issuer: EXT }] },
        { ...te, token_types: ['jwt'], trusted_issuers: [{ issuer: EXT, jwks: extJwks, jwks_uri: keyServerUrl }] },
        {
          ...te,
          token_types: ['jwt'],
          trusted_issuers: [{ issuer: EXT, jwks: { keys: [{ ...(await exportJWK(ext.privateKey)), kid: 'p' }] } }],
        },
        { ...te, token_types: ['jwt'], trusted_issuers: [{ issuer: EXT, jwks_uri: 'http://keys.example/jwks' }] },
        {
          ...te,
          token_types: ['jwt'],
          trusted_issuers: [
            {
              issuer: EXT,
              jwks: {
                keys: [{ kty: 'RSA', kid: 'big', e: 'AQAB', n: Buffer.alloc(2048, 0xff).toString('base64url') }],
              },
            },
          ],
        },
        { ...te, token_types: ['jwt'], trusted_issuers: [{ issuer: EXT, jwks: extJwks, algorithms: ['HS256'] }] },
        { ...te, token_types: ['jwt'], trusted_issuers: [{ issuer: EXT, jwks: extJwks, extra: 1 }] },
      ];
      for (const [i, token_exchange] of policies.entries()) {
        await assert.rejects(
          saveClient(
            app.stores,
            config,
            { client_id: `bad-te-${i}`, ...base, token_exchange } as Parameters<typeof saveClient>[2],
            now,
          ),
          AdminError,
          JSON.stringify(token_exchange),
        );
      }
      const good = {
        ...te,
        token_types: ['access_token', 'jwt'],
        delegation: true,
        actor_clients: ['*'],
        scopes: ['api:read'],
        trusted_issuers: [{ issuer: EXT, jwks: extJwks, algorithms: ['ES256'] }],
      };
      const ok = await saveClient(
        app.stores,
        config,
        { client_id: 'good-te', ...base, token_exchange: good } as Parameters<typeof saveClient>[2],
        now,
      );
      assert.deepEqual(ok.client.metadata.token_exchange, good);
    });

    // Last: moves the server's clock past the lifetime of the tokens issued before.
    it('refuses expired subject and actor tokens (ID token, access token)', async () => {
      const user = await userTokens();
      const svc = await serviceToken('svc');
      offset = Math.max(app.provider.config.idTokenTtl, app.provider.config.accessTokenTtl) + 120;
      try {
        refused(await exchange(user.id_token, IDT), 'subject', 'expired');
        refused(await exchange(user.access_token, AT), 'subject', 'expired');
        refused(await exchange(user.refresh_token, RT, { actor_token: svc, actor_token_type: AT }), 'actor', 'expired');
      } finally {
        offset = 0;
      }
    });
  });
}

const redisUrl = await sharedRedis();
describe('token exchange: external JWTs single use across instances sharing Redis', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('te');
  let a: App;
  let b: App;
  before(async () => {
    const env = { REDIS_URL: redisUrl!, TESSERA_REDIS_PREFIX: prefix };
    [a, b] = [await testApp('sqlite::memory:', env), await testApp('sqlite::memory:', env)];
    for (const app of [a, b]) {
      await saveClient(
        app.stores,
        app.provider.config,
        {
          client_id: 'broker',
          client_secret: SECRET,
          grant_types: [GRANT],
          scope: 'api:read',
          redirect_uris: [],
          token_exchange: {
            audiences: [ORDERS],
            subject_clients: ['svc'],
            token_types: ['jwt'],
            trusted_issuers: [{ issuer: EXT, jwks: extJwks, algorithms: ['ES256'] }],
          },
        },
        app.provider.now(),
      );
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await deletePrefix(redisUrl!, prefix);
  });

  it('a JWT (with the longest jti accepted) exchanged at one instance is refused at the other', async () => {
    const jwt = await externalJwt({ jti: 'j'.repeat(255) });
    const send = (app: App) =>
      form(
        app,
        '/token',
        { grant_type: GRANT, subject_token: jwt, subject_token_type: JWT, audience: ORDERS },
        { authorization: basic('broker', SECRET) },
      );
    const first = await send(a);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal((await a.redis!.client.keys(`${prefix}replay:{b*}:token-exchange:*`)).length, 1);
    assertOAuthError(await send(b), 400, 'invalid_request');
    assertOAuthError(await send(a), 400, 'invalid_request');
  });
});
