/**
 * The resource server against a small authorization server of the test's own (a real HTTP server on
 * 127.0.0.1), for what Tessera cannot be made to do on demand: count the JWKS and metadata fetches
 * when tokens name unknown kids (the refetch is rate-limited), rotate keys, and answer introspection
 * with chosen answers (cache bound, coalescing, failures).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  type AuthenticateOptions,
  createResourceServer,
  InsufficientUserAuthenticationError,
  InvalidTokenError,
  type ResourceServer,
  ServiceUnavailableError,
} from '../src/index.ts';
import { sleep } from './support.ts';

const RESOURCE = 'https://api.example/';

interface LocalAs {
  issuer: string;
  hits: Record<string, number>;
  keys: { kid: string; privateKey: CryptoKey; jwk: JWK }[];
  introspection: (body: URLSearchParams) => { status: number; body: string };
  metadataStatus: number;
  oidcStatus: number;
  lastAuthorization?: string;
  close(): Promise<void>;
}

async function startAs(): Promise<LocalAs> {
  const as = {
    hits: {} as Record<string, number>,
    keys: [] as LocalAs['keys'],
    metadataStatus: 200,
    oidcStatus: 404,
    introspection: (_: URLSearchParams) => ({ status: 200, body: '{"active":false}' }),
  } as LocalAs;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    as.hits[path] = (as.hits[path] ?? 0) + 1;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
        const status = path === '/.well-known/openid-configuration' ? as.oidcStatus : as.metadataStatus;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: as.issuer,
            jwks_uri: `${as.issuer}/jwks`,
            introspection_endpoint: `${as.issuer}/introspect`,
          }),
        );
      } else if (path === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: as.keys.map((k) => ({ ...k.jwk, kid: k.kid, alg: 'ES256', use: 'sig' })) }));
      } else if (path === '/introspect') {
        as.lastAuthorization = req.headers.authorization;
        const a = as.introspection(new URLSearchParams(body));
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  as.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  as.close = () => new Promise<void>((r) => server.close(() => r()));
  return as;
}

async function addKey(as: LocalAs) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const k = { kid: randomUUID(), privateKey, jwk: await exportJWK(publicKey) };
  as.keys.push(k);
  return k;
}

function jwt(as: LocalAs, kid: string, privateKey: CryptoKey, claims: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'u', client_id: 'c', jti: randomUUID(), scope: 'a b', ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(as.issuer)
    .setAudience(RESOURCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
}

const get = (token: string) => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } });

describe('keys from a local authorization server', () => {
  let as: LocalAs;
  before(async () => {
    as = await startAs();
  });
  after(async () => {
    await as?.close();
  });

  it('fetches metadata and JWKS once; tokens with random kids do not make it refetch within the cooldown', async () => {
    as.hits = {};
    const k = await addKey(as);
    const rs = createResourceServer({ issuer: as.issuer, resource: RESOURCE, jwksCooldown: 30 });
    for (let i = 0; i < 5; i++) await rs.authenticate(get(await jwt(as, k.kid, k.privateKey)));
    const attacks = await Promise.allSettled(
      Array.from({ length: 50 }, async () => rs.authenticate(get(await jwt(as, randomUUID(), k.privateKey)))),
    );
    assert.ok(attacks.every((r) => r.status === 'rejected' && r.reason instanceof InvalidTokenError));
    assert.equal(as.hits['/.well-known/oauth-authorization-server'], 1);
    assert.equal(as.hits['/jwks'], 1);
  });

  it('picks up a new signing key on its first unknown kid once the cooldown has passed', async () => {
    as.hits = {};
    const old = await addKey(as);
    const rs = createResourceServer({ issuer: as.issuer, resource: RESOURCE, jwksCooldown: 1 });
    await rs.authenticate(get(await jwt(as, old.kid, old.privateKey)));
    const next = await addKey(as);
    const token = await jwt(as, next.kid, next.privateKey);
    await assert.rejects(rs.authenticate(get(token)), InvalidTokenError);
    await sleep(1100);
    assert.equal((await rs.authenticate(get(token))).subject, 'u');
    assert.equal(as.hits['/jwks'], 2);
  });

  it('refuses tokens that are not access tokens or miss a required claim', async () => {
    const k = await addKey(as);
    const rs = createResourceServer({ issuer: as.issuer, resource: RESOURCE });
    const idToken = await new SignJWT({ sub: 'u', client_id: 'c', jti: 'j' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: k.kid })
      .setIssuer(as.issuer)
      .setAudience(RESOURCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(k.privateKey);
    await assert.rejects(rs.authenticate(get(idToken)), /typ at\+jwt/);
    await assert.rejects(
      rs.authenticate(get(await jwt(as, k.kid, k.privateKey, { client_id: undefined }))),
      /client_id/,
    );
    await assert.rejects(rs.authenticate(get(await jwt(as, k.kid, k.privateKey, { scope: 7 }))), /scope/);
    await assert.rejects(rs.authenticate(get(await jwt(as, k.kid, k.privateKey, { cnf: 'x' }))), /cnf/);
    // application/at+jwt is the same type (RFC 9068 section 2.1).
    const long = await new SignJWT({ sub: 'u', client_id: 'c', jti: 'j' })
      .setProtectedHeader({ alg: 'ES256', typ: 'application/at+jwt', kid: k.kid })
      .setIssuer(as.issuer)
      .setAudience(['https://x.example/', RESOURCE])
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(k.privateKey);
    assert.deepEqual((await rs.authenticate(get(long))).audience, ['https://x.example/', RESOURCE]);
  });

  it('falls back to OpenID Connect discovery when there is no RFC 8414 document', async () => {
    const oidc = await startAs();
    oidc.metadataStatus = 404;
    oidc.oidcStatus = 200;
    const k = await addKey(oidc);
    const rs = createResourceServer({ issuer: oidc.issuer, resource: RESOURCE });
    assert.equal((await rs.authenticate(get(await jwt(oidc, k.kid, k.privateKey)))).subject, 'u');
    assert.equal(oidc.hits['/.well-known/openid-configuration'], 1);
    await oidc.close();
  });

  it('does not refetch failing metadata on every request', async () => {
    const down = await startAs();
    down.metadataStatus = 500;
    const rs = createResourceServer({ issuer: down.issuer, resource: RESOURCE });
    const k = await addKey(down);
    const token = await jwt(down, k.kid, k.privateKey);
    for (let i = 0; i < 5; i++) await assert.rejects(rs.authenticate(get(token)), ServiceUnavailableError);
    // RFC 8414 location, then the OpenID Connect one: two requests for the first failure, none for the next four.
    assert.equal(down.hits['/.well-known/oauth-authorization-server'], 1);
    await down.close();
  });
});

describe('introspection answers from a local authorization server', () => {
  let as: LocalAs;
  before(async () => {
    as = await startAs();
  });
  after(async () => {
    await as?.close();
  });
  const now = () => Math.floor(Date.now() / 1000);
  const active = (extra: Record<string, unknown> = {}) => ({
    status: 200,
    body: JSON.stringify({ active: true, client_id: 'c', aud: RESOURCE, exp: now() + 300, scope: 'a', ...extra }),
  });

  it('authenticates with Basic, coalesces concurrent requests and caches within the bound', async () => {
    let calls = 0;
    as.introspection = (body) => {
      calls++;
      assert.equal(body.get('token'), 'opaque-1');
      assert.equal(body.get('token_type_hint'), 'access_token');
      return active();
    };
    const rs = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      introspection: { clientId: 'r s', clientSecret: 'p:w' },
    });
    const all = await Promise.all(Array.from({ length: 10 }, () => rs.authenticate(get('opaque-1'))));
    assert.ok(all.every((i) => i.clientId === 'c' && i.source === 'introspection'));
    await rs.authenticate(get('opaque-1'));
    assert.equal(calls, 1);
    // RFC 6749 section 2.3.1: form-urlencoded, then Basic.
    assert.equal(as.lastAuthorization, `Basic ${Buffer.from('r+s:p%3Aw').toString('base64')}`);
  });

  it('never caches past the token exp nor the configured bound', async () => {
    let calls = 0;
    const exp = now() + 2;
    as.introspection = () => {
      calls++;
      return active({ exp });
    };
    const rs = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      clockSkew: 0,
      introspection: { clientId: 'r', clientSecret: 's', cacheSeconds: 60 },
    });
    await rs.authenticate(get('opaque-2'));
    await rs.authenticate(get('opaque-2'));
    assert.equal(calls, 1);
    await sleep(2100);
    await assert.rejects(rs.authenticate(get('opaque-2')), InvalidTokenError);
    assert.equal(calls, 2);
    const zero = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      introspection: { clientId: 'r', clientSecret: 's', cacheSeconds: 0 },
    });
    as.introspection = () => {
      calls++;
      return active();
    };
    await zero.authenticate(get('opaque-3'));
    await zero.authenticate(get('opaque-3'));
    assert.equal(calls, 4);
    assert.throws(() =>
      createResourceServer({
        issuer: as.issuer,
        resource: RESOURCE,
        introspection: { clientId: 'r', clientSecret: 's', cacheSeconds: 61 },
      }),
    );
  });

  it('refuses inactive, foreign, refresh and expired answers; a failing endpoint is a 503', async () => {
    const rs = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      introspection: { clientId: 'r', clientSecret: 's', cacheSeconds: 0 },
    });
    const refused: [string, { status: number; body: string }][] = [
      ['inactive', { status: 200, body: '{"active":false}' }],
      ['other audience', active({ aud: 'https://other.example/' })],
      ['no audience', active({ aud: undefined })],
      ['other issuer', active({ iss: 'https://evil.example' })],
      ['refresh token', active({ token_type: 'refresh_token' })],
      ['expired', active({ exp: now() - 100 })],
      ['no exp', active({ exp: undefined })],
      ['not yet', active({ nbf: now() + 100 })],
    ];
    for (const [name, answer] of refused) {
      as.introspection = () => answer;
      await assert.rejects(rs.authenticate(get(`opaque-${name.replace(/ /g, '-')}`)), InvalidTokenError, name);
    }
    const failing: [string, { status: number; body: string }][] = [
      ['500', { status: 500, body: '{}' }],
      ['401', { status: 401, body: '{"error":"invalid_client"}' }],
      ['not JSON', { status: 200, body: '<html>' }],
      ['no active', { status: 200, body: '{"client_id":"c"}' }],
      ['array', { status: 200, body: '[]' }],
    ];
    for (const [name, answer] of failing) {
      as.introspection = () => answer;
      await assert.rejects(rs.authenticate(get(`opaque-f-${name.replace(/ /g, '-')}`)), ServiceUnavailableError, name);
    }
  });
});

describe('step-up (RFC 9470): tokens signed by a local authorization server with acr and auth_time', () => {
  let as: LocalAs;
  let k: Awaited<ReturnType<typeof addKey>>;
  before(async () => {
    as = await startAs();
    k = await addKey(as);
  });
  after(async () => {
    await as?.close();
  });
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (claims: Record<string, unknown>) => jwt(as, k.kid, k.privateKey, claims);
  /** The refusal a request with this token gets (status, challenge), or 'ok'. */
  const outcome = async (rs: ResourceServer, token: string, options: AuthenticateOptions = {}) => {
    const req = get(token);
    try {
      await rs.authenticate(req, options);
      return 'ok';
    } catch (err) {
      const r = rs.refusal(err, req, options.scopes);
      return { status: r.status, challenge: r.headers['www-authenticate'], body: r.body };
    }
  };

  it('a route demanding a level accepts it and every stronger one; a weaker one or none gets 401 insufficient_user_authentication with acr_values', async () => {
    const rs = createResourceServer({ issuer: as.issuer, resource: RESOURCE });
    const levels = ['urn:tessera:acr:password', 'urn:tessera:acr:mfa', 'phr', 'phrh'];
    for (const [i, have] of levels.entries())
      for (const [j, want] of levels.entries()) {
        const r = await outcome(rs, await signed({ acr: have, auth_time: now() - 5 }), { acr: want });
        if (i >= j) assert.equal(r, 'ok', `${have} satisfies ${want}`);
        else {
          assert.notEqual(r, 'ok', `${have} does not satisfy ${want}`);
          if (r === 'ok') continue;
          assert.equal(r.status, 401);
          assert.equal(r.body.error, 'insufficient_user_authentication');
          // The error goes in the challenge of the scheme used (Bearer); the DPoP challenge offers the scheme only.
          const [bearer, dpop] = r.challenge.split(', DPoP ');
          assert.equal(
            bearer,
            'Bearer error="insufficient_user_authentication", ' +
              'error_description="A stronger authentication of the user is required.", ' +
              `acr_values="${levels.slice(j).join(' ')}", ` +
              'resource_metadata="https://api.example/.well-known/oauth-protected-resource"',
          );
          assert.doesNotMatch(dpop!, /error|acr_values/);
        }
      }
    // No acr at all (a client's own token), or a value not in the order: refused unless it is the one asked for.
    const none = await outcome(rs, await signed({}), { acr: 'urn:tessera:acr:password' });
    assert.ok(none !== 'ok' && /does not say how the user authenticated/.test(none.body.error_description));
    assert.notEqual(await outcome(rs, await signed({ acr: 'urn:other:gold' }), { acr: 'phr' }), 'ok');
    assert.equal(await outcome(rs, await signed({ acr: 'urn:other:gold' }), { acr: 'urn:other:gold' }), 'ok');
    // Nothing demanded: any token passes, and the verified token says how and when the user signed in.
    const t = now() - 30;
    const info = await rs.authenticate(get(await signed({ acr: 'phr', auth_time: t })));
    assert.equal(info.acr, 'phr');
    assert.equal(info.authTime, t);
  });

  it('maxAge: an authentication older than it (beyond the clock skew) or without auth_time gets max_age in the challenge', async () => {
    const rs = createResourceServer({ issuer: as.issuer, resource: RESOURCE, clockSkew: 0, dpop: { mode: 'off' } });
    assert.equal(await outcome(rs, await signed({ auth_time: now() - 100 }), { maxAge: 300 }), 'ok');
    for (const claims of [{ auth_time: now() - 400 }, {}, { auth_time: 'yesterday' }]) {
      const r = await outcome(rs, await signed(claims), { maxAge: 300 });
      assert.ok(r !== 'ok', JSON.stringify(claims));
      assert.equal(r.status, 401);
      assert.match(
        r.challenge,
        /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age="300", resource_metadata=/,
      );
      assert.doesNotMatch(r.challenge, /acr_values/);
    }
    // Both demanded, both missed: both named; only one missed: only that one.
    const both = await outcome(rs, await signed({ acr: 'urn:tessera:acr:password', auth_time: now() - 400 }), {
      acr: 'urn:tessera:acr:mfa',
      maxAge: 60,
    });
    assert.ok(both !== 'ok');
    assert.match(both.challenge, /acr_values="urn:tessera:acr:mfa phr phrh", max_age="60"/);
    const recentWeak = await outcome(rs, await signed({ acr: 'urn:tessera:acr:password', auth_time: now() }), {
      acr: 'phr',
      maxAge: 60,
    });
    assert.ok(recentWeak !== 'ok');
    assert.match(recentWeak.challenge, /acr_values="phr phrh", resource_metadata/);
  });

  it('a demand for every request in the options; a route overrides it', async () => {
    const rs = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      acr: 'urn:tessera:acr:mfa',
      maxAge: 3600,
    });
    const mfa = await signed({ acr: 'urn:tessera:acr:mfa', auth_time: now() - 10 });
    const pwd = await signed({ acr: 'urn:tessera:acr:password', auth_time: now() - 10 });
    assert.equal(await outcome(rs, mfa), 'ok');
    assert.notEqual(await outcome(rs, pwd), 'ok');
    assert.equal(await outcome(rs, pwd, { acr: 'urn:tessera:acr:password' }), 'ok');
    assert.notEqual(await outcome(rs, mfa, { acr: 'phrh' }), 'ok');
    assert.throws(() => createResourceServer({ issuer: as.issuer, resource: RESOURCE, maxAge: -1 }), /maxAge/);
    assert.throws(() => createResourceServer({ issuer: as.issuer, resource: RESOURCE, acr: 'a "b"' }), /acr/);
    // A bad demand in a route is a bug: answered 503, never a pass.
    const bad = await outcome(rs, mfa, { maxAge: 1.5 });
    assert.ok(bad !== 'ok' && bad.status === 503);
  });

  it('introspected tokens are held to the same demand (acr and auth_time of the introspection answer)', async () => {
    const rs = createResourceServer({
      issuer: as.issuer,
      resource: RESOURCE,
      introspection: { clientId: 'r', clientSecret: 's', cacheSeconds: 0 },
    });
    const answer = (extra: Record<string, unknown>) => ({
      status: 200,
      body: JSON.stringify({ active: true, client_id: 'c', sub: 'u', aud: RESOURCE, exp: now() + 300, ...extra }),
    });
    as.introspection = () => answer({ acr: 'phrh', auth_time: now() - 5 });
    const info = await rs.authenticate(get('opaque-strong'), { acr: 'phr', maxAge: 60 });
    assert.equal(info.acr, 'phrh');
    as.introspection = () => answer({ acr: 'urn:tessera:acr:mfa', auth_time: now() - 5 });
    await assert.rejects(rs.authenticate(get('opaque-mfa'), { acr: 'phr' }), InsufficientUserAuthenticationError);
  });
});
