import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import { createUpstreamClient } from '../../src/adapters/upstream/client.ts';
import { outboundHttp } from '../../src/adapters/outbound/http-client.ts';
import type { UpstreamError } from '../../src/ports/upstream-client.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

// The upstream adapter against small upstreams started here on 127.0.0.1 that speak the shapes a
// preset expects (a plain OIDC provider, Microsoft's tenant template, GitHub's OAuth 2.0 profile and
// emails, Apple's form_post and client-secret JWT) and that can be told to misbehave: hang, answer
// too much, fail, sign a wrong nonce or another issuer. Everything goes over real HTTP through the
// SSRF-safe outbound client.

const KEK = 'upstream-client-test-kek-0123456789abcdef';
const CALLBACK = 'https://tessera.test/upstream/idp/callback';
const TENANT_A = '11111111-2222-4333-8444-555555555555';
const TENANT_B = '99999999-8888-4777-8666-555555555555';
const b64url = (b: Buffer) => b.toString('base64url');
const rand = () => b64url(randomBytes(32));
const s256 = (v: string) => b64url(createHash('sha256').update(v).digest());

interface Code {
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  nonce: string | null;
  claims: Record<string, unknown>;
  issuer: string;
}

/** A small upstream: OIDC (optionally Microsoft-shaped) or GitHub-shaped, with knobs to misbehave. */
async function startUpstream(shape: 'oidc' | 'microsoft' | 'github' | 'apple') {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' } as JWK;
  const codes = new Map<string, Code>();
  const tokens = new Map<string, Record<string, unknown>>();
  const seen: { path: string; body: string; auth?: string }[] = [];
  const knobs = {
    hang: '' as string, // a path that never answers
    big: '' as string, // a path that answers 1 MiB
    fail: '' as string, // a path that answers 503
    idTokenNonce: undefined as string | undefined, // sign this nonce instead
    idTokenIssuer: undefined as string | undefined, // sign this iss instead
    sendIss: true,
    appleSecretCheck: undefined as ((secret: string) => Promise<void>) | undefined,
    clientKey: undefined as CryptoKey | undefined, // private_key_jwt: the client's public key
  };
  let base = '';
  const issuer = () => (shape === 'microsoft' ? `${base}/{tenantid}/v2.0` : base);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      void handle(req, res, body).catch((e) => {
        res.writeHead(500).end(String(e));
      });
    });
  });
  const json = (res: ServerResponse, status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url!, base);
    seen.push({ path: url.pathname, body, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    if (knobs.hang && url.pathname === knobs.hang) return; // accepts, never answers
    if (knobs.big && url.pathname === knobs.big) return json(res, 200, { pad: 'x'.repeat(1024 * 1024) });
    if (knobs.fail && url.pathname === knobs.fail) return json(res, 503, { error: 'temporarily_unavailable' });
    const discovery =
      shape === 'microsoft' ? '/common/v2.0/.well-known/openid-configuration' : '/.well-known/openid-configuration';
    if (url.pathname === discovery && shape !== 'github')
      return json(res, 200, {
        issuer: issuer(),
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        ...(shape === 'apple' ? {} : { userinfo_endpoint: `${base}/userinfo` }),
        jwks_uri: `${base}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
        ...(shape === 'oidc' ? { authorization_response_iss_parameter_supported: true } : {}),
      });
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/token' || url.pathname === '/login/oauth/access_token') {
      const form = new URLSearchParams(body);
      let clientId = form.get('client_id');
      let secret = form.get('client_secret');
      if (req.headers.authorization?.startsWith('Basic ')) {
        const [id, pw] = Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':');
        clientId = decodeURIComponent(id!);
        secret = decodeURIComponent(pw!);
      }
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const assertion = form.get('client_assertion');
      if (assertion !== null) {
        // private_key_jwt (RFC 7523): signed by the client's key, for this server.
        try {
          const { payload } = await jwtVerify(assertion, knobs.clientKey!, { issuer: clientId!, subject: clientId! });
          const aud = [payload.aud].flat();
          if (!aud.includes(issuer()) && !aud.includes(`${base}/token`)) throw new Error('audience');
          if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
            throw new Error('type');
        } catch {
          return json(res, 401, { error: 'invalid_client' });
        }
        secret = 'the-secret';
      }
      if (shape === 'apple') {
        try {
          await knobs.appleSecretCheck?.(secret ?? '');
        } catch {
          return json(res, 400, { error: 'invalid_client' });
        }
      } else if (secret !== 'the-secret') return json(res, 401, { error: 'invalid_client' });
      if (!code || code.clientId !== clientId || code.redirectUri !== form.get('redirect_uri'))
        return json(res, 400, { error: 'invalid_grant' });
      // PKCE: a verifier must come and match the challenge (RFC 7636 4.6).
      const verifier = form.get('code_verifier');
      if (code.challenge && (!verifier || s256(verifier) !== code.challenge))
        return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      const access = rand();
      tokens.set(access, code.claims);
      if (shape === 'github') return json(res, 200, { access_token: access, token_type: 'bearer', scope: 'read:user' });
      const now = Math.floor(Date.now() / 1000);
      const claimsIss = knobs.idTokenIssuer ?? code.issuer;
      const idToken = await new SignJWT({
        ...code.claims,
        ...(knobs.idTokenNonce !== undefined ? { nonce: knobs.idTokenNonce } : code.nonce ? { nonce: code.nonce } : {}),
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(claimsIss)
        .setAudience(code.clientId)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return json(res, 200, { access_token: access, token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    const bearer = req.headers.authorization?.replace(/^Bearer /i, '') ?? '';
    const who = tokens.get(bearer);
    if (url.pathname === '/userinfo' || url.pathname === '/user') {
      if (!who) return json(res, 401, { message: 'Bad credentials' });
      if (shape === 'github') return json(res, 200, who.user);
      return json(res, 200, who.userinfo ?? { sub: who.sub });
    }
    if (url.pathname === '/user/emails') {
      if (!who) return json(res, 401, { message: 'Bad credentials' });
      if (who.emails === undefined) return json(res, 404, { message: 'Not Found' });
      return json(res, 200, who.emails);
    }
    res.writeHead(404).end();
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get base() {
      return base;
    },
    issuer,
    knobs,
    seen,
    privateKey,
    /** What the upstream answers to an authorization request after the person signed in (the callback's parameters). */
    authorize(location: string, claims: Record<string, unknown>, o: { tenant?: string } = {}): URLSearchParams {
      const u = new URL(location);
      const code = rand();
      const iss = shape === 'microsoft' ? issuer().replace('{tenantid}', o.tenant ?? TENANT_A) : issuer();
      codes.set(code, {
        clientId: u.searchParams.get('client_id')!,
        redirectUri: u.searchParams.get('redirect_uri')!,
        challenge: u.searchParams.get('code_challenge'),
        nonce: u.searchParams.get('nonce'),
        claims,
        issuer: iss,
      });
      const out = new URLSearchParams({ code, state: u.searchParams.get('state')! });
      if (knobs.sendIss && shape === 'oidc') out.set('iss', iss);
      return out;
    },
    /** A logout token signed with the upstream's key (claims as given, over sensible defaults). */
    async logoutToken(claims: Record<string, unknown>, header: Record<string, unknown> = { typ: 'logout+jwt' }) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer(),
        aud: 'tessera-client',
        iat: now,
        exp: now + 120,
        jti: rand(),
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        sub: 'alice-sub',
        ...claims,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header }).sign(privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

async function providerRecord(
  id: string,
  over: Partial<UpstreamProvider> & { secret?: string } = {},
): Promise<UpstreamProvider> {
  const { secret = 'the-secret', ...rest } = over;
  return upstreamRecord(id, {
    label: id,
    issuer: 'https://unset.test',
    clientId: 'tessera-client',
    secretWrapped: await wrapAccountSecret(KEK, `upstream:${id}`, secret),
    privateNetwork: true,
    ...rest,
  });
}

const reason = (r: UpstreamError['reason'], about?: RegExp) => (e: unknown) => {
  const err = e as UpstreamError;
  assert.equal(err.name, 'UpstreamError', String(e));
  assert.equal(err.reason, r, err.message);
  if (about) assert.match(err.message, about);
  return true;
};

const client = (o: { timeoutMs?: number; maxBytes?: number; allowLoopback?: boolean } = {}) =>
  createUpstreamClient({
    outbound: outboundHttp(),
    keks: { keyEncryptionKey: KEK },
    now: () => Math.floor(Date.now() / 1000),
    timeoutMs: o.timeoutMs ?? 2000,
    allowLoopback: o.allowLoopback ?? false,
    ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
  });

/** One sign-in: the authorization URL, the upstream's answer (changed by `tamper`), the callback. */
async function signIn(
  c: ReturnType<typeof client>,
  provider: UpstreamProvider,
  answer: (location: string) => URLSearchParams,
  tamper: (a: { state: string; nonce: string; codeVerifier: string; params: URLSearchParams }) => void = () => {},
) {
  const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
  const location = await c.authorizationUrl(provider, a);
  const call = { ...a, params: answer(location) };
  tamper(call);
  return { location: new URL(location), profile: await c.callback(provider, call) };
}

describe('upstream client: a generic OpenID Connect provider', () => {
  let idp: Awaited<ReturnType<typeof startUpstream>>;
  let provider: UpstreamProvider;
  const alice = {
    sub: 'alice-sub',
    email: 'alice@example.com',
    email_verified: true,
    preferred_username: 'alice',
    name: 'Alice Liddell',
    amr: ['pwd', 'otp'],
    acr: 'urn:example:mfa',
    sid: 'up-sid-1',
  };
  before(async () => {
    idp = await startUpstream('oidc');
    provider = await providerRecord('idp', { issuer: idp.issuer() });
  });
  after(() => idp.close());

  it('builds the authorization URL (PKCE S256, state, nonce, scope, login_hint) and completes the callback', async () => {
    const c = client();
    const a = {
      redirectUri: CALLBACK,
      state: rand(),
      nonce: rand(),
      codeVerifier: rand() + rand(),
      loginHint: 'a@x.test',
    };
    const url = new URL(await c.authorizationUrl(provider, a));
    assert.equal(url.origin + url.pathname, `${idp.base}/authorize`);
    const q = Object.fromEntries(url.searchParams);
    assert.deepEqual(q, {
      redirect_uri: CALLBACK,
      scope: 'openid email profile',
      state: a.state,
      code_challenge: s256(a.codeVerifier),
      code_challenge_method: 'S256',
      nonce: a.nonce,
      login_hint: 'a@x.test',
      client_id: 'tessera-client',
      response_type: 'code',
    });
    const profile = await c.callback(provider, { ...a, params: idp.authorize(url.href, alice) });
    assert.deepEqual(profile, {
      issuer: idp.base,
      subject: 'alice-sub',
      email: 'alice@example.com',
      emailVerified: true,
      username: 'alice',
      name: 'Alice Liddell',
      amr: ['pwd', 'otp'],
      acr: 'urn:example:mfa',
      sid: 'up-sid-1',
    });
    // The secret went by client_secret_basic; the code and verifier to the token endpoint only.
    const token = idp.seen.findLast((s) => s.path === '/token')!;
    assert.match(token.auth ?? '', /^Basic /);
    assert.match(token.body, /code_verifier=/);
  });
  it('reads userinfo when the ID token lacks a mapped claim; email_verified must be a boolean true', async () => {
    const c = client();
    const { profile } = await signIn(c, provider, (l) =>
      idp.authorize(l, {
        sub: 'bob-sub',
        userinfo: { sub: 'bob-sub', email: 'bob@example.com', email_verified: 'true', name: 'Bob' },
      }),
    );
    assert.equal(profile.subject, 'bob-sub');
    assert.equal(profile.email, 'bob@example.com');
    assert.equal(profile.emailVerified, false, 'the string "true" is not a verified email');
    assert.equal(profile.name, 'Bob');
    assert.ok(idp.seen.some((s) => s.path === '/userinfo'));
    // A userinfo answer about someone else is refused.
    await assert.rejects(
      signIn(c, provider, (l) => idp.authorize(l, { sub: 'bob-sub', userinfo: { sub: 'mallory', email: 'm@x.test' } })),
      reason('invalid'),
    );
  });
  it('the upstream refused (error in the callback): denied, with its code when it is a plain token', async () => {
    const c = client();
    await assert.rejects(
      signIn(c, provider, (l) => {
        const state = new URL(l).searchParams.get('state')!;
        return new URLSearchParams({
          error: 'access_denied',
          error_description: 'secret-ish text',
          state,
          iss: idp.issuer(),
        });
      }),
      (e: unknown) =>
        reason('denied')(e) &&
        (e as UpstreamError).upstreamError === 'access_denied' &&
        !/secret-ish/.test((e as Error).message),
    );
    await assert.rejects(
      signIn(c, provider, (l) => {
        const state = new URL(l).searchParams.get('state')!;
        return new URLSearchParams({ error: 'weird <script>', state, iss: idp.issuer() });
      }),
      (e: unknown) => reason('denied')(e) && (e as UpstreamError).upstreamError === undefined,
    );
  });
  it('mix-up: a callback carrying another issuer, or none where the upstream promises one, is refused before any code is redeemed', async () => {
    const c = client();
    const before = idp.seen.filter((s) => s.path === '/token').length;
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => idp.authorize(l, alice),
        (a) => a.params.set('iss', 'https://attacker.example'),
      ),
      reason('invalid'),
    );
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => idp.authorize(l, alice),
        (a) => a.params.delete('iss'),
      ),
      reason('invalid'),
    );
    assert.equal(idp.seen.filter((s) => s.path === '/token').length, before, 'no code went to the token endpoint');
  });
  it('a wrong state, a wrong nonce, an ID token of another issuer: invalid; messages never carry the code', async () => {
    const c = client();
    let code = '';
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => idp.authorize(l, alice),
        (a) => {
          code = a.params.get('code')!;
          a.state = rand();
        },
      ),
      (e: unknown) => reason('invalid')(e) && !(e as Error).message.includes(code),
    );
    idp.knobs.idTokenNonce = 'not-the-nonce';
    try {
      await assert.rejects(
        signIn(c, provider, (l) => idp.authorize(l, alice)),
        reason('invalid', /nonce/),
      );
    } finally {
      idp.knobs.idTokenNonce = undefined;
    }
    idp.knobs.idTokenIssuer = 'https://other.example';
    try {
      await assert.rejects(
        signIn(c, provider, (l) => idp.authorize(l, alice)),
        reason('invalid', /iss/),
      );
    } finally {
      idp.knobs.idTokenIssuer = undefined;
    }
  });
  it('PKCE: a missing or wrong verifier is refused by the upstream (invalid)', async () => {
    const c = client();
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => idp.authorize(l, alice),
        (a) => {
          a.codeVerifier = rand() + rand();
        },
      ),
      reason('invalid', /invalid_grant/),
    );
    // The upstream got no verifier at all when Tessera would send none: the same refusal.
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => idp.authorize(l, alice),
        (a) => {
          a.codeVerifier = '';
        },
      ),
      reason('invalid', /invalid_grant/),
    );
  });
  it('caches discovery per provider id and updatedAt, refetches after a change or forget()', async () => {
    const c = client();
    const discoveries = () => idp.seen.filter((s) => s.path === '/.well-known/openid-configuration').length;
    const n0 = discoveries();
    await signIn(c, provider, (l) => idp.authorize(l, alice));
    await signIn(c, provider, (l) => idp.authorize(l, alice));
    assert.equal(discoveries(), n0 + 1);
    await signIn(c, { ...provider, updatedAt: 2 }, (l) => idp.authorize(l, alice));
    assert.equal(discoveries(), n0 + 2);
    c.forget(provider.id);
    await signIn(c, { ...provider, updatedAt: 2 }, (l) => idp.authorize(l, alice));
    assert.equal(discoveries(), n0 + 3);
  });
  it('a provider that is down, hangs or answers too much: unavailable (discovery) within the timeout; failures are not cached', async () => {
    const c = client({ timeoutMs: 400 });
    const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
    for (const [knob, about] of [
      ['hang', /within 400 ms/],
      ['big', /larger than/],
      ['fail', /503/],
    ] as const) {
      idp.knobs[knob] = '/.well-known/openid-configuration';
      const t0 = Date.now();
      try {
        await assert.rejects(c.authorizationUrl(provider, a), reason('unavailable', about));
      } finally {
        idp.knobs[knob] = '';
      }
      assert.ok(Date.now() - t0 < 1500, knob);
    }
    // The same client works once the provider is back (nothing failed was kept).
    assert.match(await c.authorizationUrl(provider, a), /\/authorize\?/);
    // Nothing listening at all.
    const gone = await providerRecord('gone', { issuer: 'http://127.0.0.1:9' });
    await assert.rejects(c.authorizationUrl(gone, a), reason('unavailable'));
  });
  it('a token endpoint that hangs, fails or answers too much: unavailable, unavailable, invalid', async () => {
    const c = client({ timeoutMs: 400, maxBytes: 64 * 1024 });
    for (const [knob, r] of [
      ['hang', 'unavailable'],
      ['fail', 'unavailable'],
      ['big', 'invalid'],
    ] as const) {
      await c.authorizationUrl(provider, {
        redirectUri: CALLBACK,
        state: 's',
        nonce: 'n',
        codeVerifier: rand() + rand(),
      });
      idp.knobs[knob] = '/token';
      const t0 = Date.now();
      try {
        await assert.rejects(
          signIn(c, provider, (l) => idp.authorize(l, alice)),
          reason(r),
        );
      } finally {
        idp.knobs[knob] = '';
      }
      assert.ok(Date.now() - t0 < 1500, knob);
    }
  });
  it('http upstreams only with privateNetwork, or on loopback under the development allowance', async () => {
    const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
    const publicOnly = await providerRecord('pub', { issuer: idp.issuer(), privateNetwork: false });
    await assert.rejects(client().authorizationUrl(publicOnly, a), reason('unavailable', /https|public|refused/i));
    assert.match(await client({ allowLoopback: true }).authorizationUrl(publicOnly, a), /^http:\/\/127\.0\.0\.1/);
  });
});

describe('upstream client: client authentication, the clock, concurrency', () => {
  let idp: Awaited<ReturnType<typeof startUpstream>>;
  before(async () => {
    idp = await startUpstream('oidc');
  });
  after(() => idp.close());
  const alice = { sub: 'alice-sub', email: 'a@x.test', email_verified: true, preferred_username: 'a', name: 'A' };

  it('private_key_jwt: an assertion signed with the wrapped private key; another key is refused', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const provider = await providerRecord('pkj', {
      issuer: idp.issuer(),
      clientAuth: 'private_key_jwt',
      secret: JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'client-key-1' }),
    });
    idp.knobs.clientKey = publicKey;
    const { profile } = await signIn(client(), provider, (l) => idp.authorize(l, alice));
    assert.equal(profile.subject, 'alice-sub');
    const token = idp.seen.findLast((s) => s.path === '/token')!;
    assert.match(token.body, /client_assertion=/);
    assert.doesNotMatch(token.body, /client_secret/);
    const sent = new URLSearchParams(token.body).get('client_assertion')!;
    assert.equal(JSON.parse(Buffer.from(sent.split('.')[0]!, 'base64url').toString()).kid, 'client-key-1');
    idp.knobs.clientKey = (await generateKeyPair('ES256')).publicKey;
    await assert.rejects(
      signIn(client(), provider, (l) => idp.authorize(l, alice)),
      reason('invalid', /invalid_client/),
    );
  });
  it("ID tokens are judged by the provider's clock: an hour ahead, a fresh token has expired", async () => {
    const provider = await providerRecord('clock', { issuer: idp.issuer() });
    const ahead = createUpstreamClient({
      outbound: outboundHttp(),
      keks: { keyEncryptionKey: KEK },
      now: () => Math.floor(Date.now() / 1000) + 3600,
      timeoutMs: 2000,
      allowLoopback: false,
    });
    await assert.rejects(
      signIn(ahead, provider, (l) => idp.authorize(l, alice)),
      reason('invalid', /timestamp|exp/),
    );
  });
  it('concurrent sign-ins share one discovery', async () => {
    const provider = await providerRecord('many', { issuer: idp.issuer() });
    const c = client();
    const discoveries = () => idp.seen.filter((s) => s.path === '/.well-known/openid-configuration').length;
    const n0 = discoveries();
    const a = { redirectUri: CALLBACK, state: 's', nonce: 'n', codeVerifier: rand() + rand() };
    await Promise.all(Array.from({ length: 10 }, () => c.authorizationUrl(provider, a)));
    assert.equal(discoveries(), n0 + 1);
  });
  it('a secret wrapped for another provider id, or under another key, does not open: unavailable', async () => {
    const moved = { ...(await providerRecord('first', { issuer: idp.issuer() })), id: 'second' };
    const a = { redirectUri: CALLBACK, state: 's', nonce: 'n', codeVerifier: rand() + rand() };
    await assert.rejects(client().authorizationUrl(moved, a), reason('unavailable', /secret/));
  });
});

describe('upstream client: logout tokens (OIDC Back-Channel Logout 1.0 section 2.6)', () => {
  let idp: Awaited<ReturnType<typeof startUpstream>>;
  let provider: UpstreamProvider;
  before(async () => {
    idp = await startUpstream('oidc');
    provider = await providerRecord('idp', { issuer: idp.issuer() });
  });
  after(() => idp.close());

  it('accepts a good token: issuer, subject, sid, jti and until when to remember it', async () => {
    const c = client();
    const token = await idp.logoutToken({ sid: 'up-sid-1' });
    const claims = decodeJwt(token);
    assert.deepEqual(await c.verifyLogoutToken(provider, token), {
      issuer: idp.base,
      subject: 'alice-sub',
      sid: 'up-sid-1',
      jti: claims.jti,
      expiresAt: claims.exp,
    });
    // sid alone is enough; no typ header is fine.
    const sidOnly = await c.verifyLogoutToken(provider, await idp.logoutToken({ sub: undefined, sid: 's2' }, {}));
    assert.equal(sidOnly.subject, undefined);
    assert.equal(sidOnly.sid, 's2');
  });
  it('refuses each broken rule', async () => {
    const c = client();
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<string>][] = [
      ['another issuer', idp.logoutToken({ iss: 'https://other.example' })],
      ['another audience', idp.logoutToken({ aud: 'someone-else' })],
      ['expired', idp.logoutToken({ iat: now - 900, exp: now - 600 })],
      ['no exp', idp.logoutToken({ exp: undefined })],
      ['no iat', idp.logoutToken({ iat: undefined })],
      ['no jti', idp.logoutToken({ jti: undefined })],
      ['no events', idp.logoutToken({ events: undefined })],
      [
        'event not an object',
        idp.logoutToken({ events: { 'http://schemas.openid.net/event/backchannel-logout': 'yes' } }),
      ],
      ['other event', idp.logoutToken({ events: { 'http://example.com/other': {} } })],
      ['nonce', idp.logoutToken({ nonce: 'n' })],
      ['neither sub nor sid', idp.logoutToken({ sub: undefined })],
      ['wrong typ', idp.logoutToken({}, { typ: 'JWT' })],
      ['lives a year', idp.logoutToken({ exp: now + 365 * 86400 })],
      ['an ID token', idp.logoutToken({}, { typ: 'JWT' })],
    ];
    for (const [name, token] of cases)
      await assert.rejects(c.verifyLogoutToken(provider, await token), reason('invalid'), name);
    // Signed by a key the upstream does not publish; unsigned (alg none); not a JWT.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(await idp.logoutToken({})))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt' })
      .sign(privateKey);
    await assert.rejects(c.verifyLogoutToken(provider, forged), reason('invalid'));
    const [h, p] = (await idp.logoutToken({})).split('.');
    const none = `${b64url(Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })))}.${p}.`;
    await assert.rejects(c.verifyLogoutToken(provider, none), reason('invalid'));
    await assert.rejects(c.verifyLogoutToken(provider, `${h}.${p}`), reason('invalid'));
  });
  it('keys that cannot be fetched (an error status, no answer): unavailable, within the timeout', async () => {
    const token = await idp.logoutToken({});
    for (const knob of ['fail', 'hang'] as const) {
      const c = client({ timeoutMs: 400 });
      idp.knobs[knob] = '/jwks';
      const t0 = Date.now();
      try {
        await assert.rejects(c.verifyLogoutToken(provider, token), reason('unavailable'), knob);
      } finally {
        idp.knobs[knob] = '';
      }
      assert.ok(Date.now() - t0 < 2000, knob);
    }
    // An oversized token is refused before anything is fetched.
    await assert.rejects(client().verifyLogoutToken(provider, `${'a'.repeat(20000)}.b.c`), reason('invalid'));
  });
});

describe('upstream client: Microsoft Entra (tenant issuer template)', () => {
  let ms: Awaited<ReturnType<typeof startUpstream>>;
  let provider: UpstreamProvider;
  const person = (tid: string) => ({
    sub: 'pairwise-sub-xyz',
    oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    tid,
    email: 'alice@example.com',
    email_verified: true,
    preferred_username: 'alice@contoso.example',
    name: 'Alice',
  });
  before(async () => {
    ms = await startUpstream('microsoft');
    provider = await providerRecord('microsoft', {
      preset: 'microsoft',
      issuer: ms.issuer(),
      discoveryUrl: `${ms.base}/common/v2.0/.well-known/openid-configuration`,
      clientAuth: 'client_secret_post',
    });
  });
  after(() => ms.close());

  it('the tenant issuer, oid as subject, tid as tenant, and an email never taken as verified', async () => {
    const { profile } = await signIn(client(), provider, (l) =>
      ms.authorize(l, person(TENANT_A), { tenant: TENANT_A }),
    );
    assert.deepEqual(profile, {
      issuer: `${ms.base}/${TENANT_A}/v2.0`,
      subject: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      tenant: TENANT_A,
      email: 'alice@example.com',
      emailVerified: false,
      username: 'alice@contoso.example',
      name: 'Alice',
    });
    // Another tenant with the same email and oid is another identity (its issuer differs).
    const other = await signIn(client(), provider, (l) => ms.authorize(l, person(TENANT_B), { tenant: TENANT_B }));
    assert.equal(other.profile.issuer, `${ms.base}/${TENANT_B}/v2.0`);
    assert.equal(other.profile.tenant, TENANT_B);
  });
  it("logout tokens: iss must be the template with the token's own tid", async () => {
    const c = client();
    const good = await ms.logoutToken({
      iss: `${ms.base}/${TENANT_A}/v2.0`,
      tid: TENANT_A,
      oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    });
    const out = await c.verifyLogoutToken(provider, good);
    assert.equal(out.issuer, `${ms.base}/${TENANT_A}/v2.0`);
    for (const claims of [
      { iss: `${ms.base}/${TENANT_A}/v2.0`, tid: TENANT_B },
      { iss: `${ms.base}/${TENANT_A}/v2.0`, tid: undefined },
      { iss: ms.issuer(), tid: TENANT_A },
      { iss: 'https://other.example/x/v2.0', tid: TENANT_A },
    ])
      await assert.rejects(
        c.verifyLogoutToken(provider, await ms.logoutToken({ oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', ...claims })),
        reason('invalid', /issuer/),
        JSON.stringify(claims),
      );
  });
  it('refuses a token whose iss is not the template with its own tid, a tid that is not a GUID, a wrong nonce', async () => {
    const c = client();
    // Signed for tenant A but claiming tenant B.
    await assert.rejects(
      signIn(c, provider, (l) => ms.authorize(l, person(TENANT_B), { tenant: TENANT_A })),
      reason('invalid', /tenant/),
    );
    await assert.rejects(
      signIn(c, provider, (l) => ms.authorize(l, { ...person('x/../evil'), tid: 'x/../evil' }, { tenant: TENANT_A })),
      reason('invalid', /tenant/),
    );
    ms.knobs.idTokenNonce = 'nope';
    try {
      await assert.rejects(
        signIn(c, provider, (l) => ms.authorize(l, person(TENANT_A), { tenant: TENANT_A })),
        reason('invalid', /nonce/),
      );
    } finally {
      ms.knobs.idTokenNonce = undefined;
    }
    // An iss in the response must be a tenant of the template, and the ID token's.
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => ms.authorize(l, person(TENANT_A), { tenant: TENANT_A }),
        (a) => a.params.set('iss', `${ms.base}/${TENANT_B}/v2.0`),
      ),
      reason('invalid', /iss/),
    );
    await assert.rejects(
      signIn(
        c,
        provider,
        (l) => ms.authorize(l, person(TENANT_A), { tenant: TENANT_A }),
        (a) => a.params.set('iss', 'https://attacker.example'),
      ),
      reason('invalid', /iss/),
    );
  });
});

describe('upstream client: GitHub (OAuth 2.0, profile and verified emails)', () => {
  let gh: Awaited<ReturnType<typeof startUpstream>>;
  let provider: UpstreamProvider;
  before(async () => {
    gh = await startUpstream('github');
    provider = await providerRecord('github', {
      kind: 'oauth2',
      preset: 'github',
      issuer: 'https://github.com',
      authorizationEndpoint: `${gh.base}/login/oauth/authorize`,
      tokenEndpoint: `${gh.base}/login/oauth/access_token`,
      userinfoEndpoint: `${gh.base}/user`,
      emailsEndpoint: `${gh.base}/user/emails`,
      scopes: ['read:user', 'user:email'],
      clientAuth: 'client_secret_post',
      claims: { subject: 'id', username: 'login', name: 'name', email: 'email', emailVerified: 'email_verified' },
    });
  });
  after(() => gh.close());

  it('the numeric id as subject, the login, and the verified primary email from /user/emails', async () => {
    const { location, profile } = await signIn(client(), provider, (l) =>
      gh.authorize(l, {
        user: { id: 583231, login: 'octocat', name: 'The Octocat', email: 'public@example.com' },
        emails: [
          { email: 'public@example.com', primary: false, verified: true },
          { email: 'octo@example.com', primary: true, verified: true },
        ],
      }),
    );
    assert.equal(location.searchParams.get('nonce'), null, 'no nonce for OAuth 2.0');
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
    assert.deepEqual(profile, {
      issuer: 'https://github.com',
      subject: '583231',
      email: 'octo@example.com',
      emailVerified: true,
      username: 'octocat',
      name: 'The Octocat',
    });
  });
  it('an unverified primary email is not verified; a profile without a usable id is refused', async () => {
    const { profile } = await signIn(client(), provider, (l) =>
      gh.authorize(l, {
        user: { id: 7, login: 'newbie', name: null, email: null },
        emails: [{ email: 'victim@example.com', primary: true, verified: false }],
      }),
    );
    assert.equal(profile.email, 'victim@example.com');
    assert.equal(profile.emailVerified, false);
    // The emails refused to the token (no user:email scope): the public address, unverified.
    const noScope = await signIn(client(), provider, (l) =>
      gh.authorize(l, { user: { id: 8, login: 'private', email: 'pub@example.com' } }),
    );
    assert.equal(noScope.profile.email, 'pub@example.com');
    assert.equal(noScope.profile.emailVerified, false);
    await assert.rejects(
      signIn(client(), provider, (l) => gh.authorize(l, { user: { id: 1.5, login: 'odd' }, emails: [] })),
      reason('invalid', /subject/),
    );
  });
  it("a wrong PKCE verifier is refused by the upstream; an iss in the callback must be GitHub's (mix-up)", async () => {
    await assert.rejects(
      signIn(
        client(),
        provider,
        (l) => gh.authorize(l, { user: { id: 1, login: 'a' }, emails: [] }),
        (a) => {
          a.codeVerifier = rand() + rand();
        },
      ),
      reason('invalid'),
    );
    await assert.rejects(
      signIn(
        client(),
        provider,
        (l) => gh.authorize(l, { user: { id: 1, login: 'a' }, emails: [] }),
        (a) => a.params.set('iss', 'https://accounts.google.com'),
      ),
      reason('invalid'),
    );
  });
  it('the profile endpoint failing: unavailable; hanging: unavailable within the timeout', async () => {
    for (const knob of ['fail', 'hang'] as const) {
      gh.knobs[knob] = '/user';
      const t0 = Date.now();
      try {
        await assert.rejects(
          signIn(client({ timeoutMs: 400 }), provider, (l) =>
            gh.authorize(l, { user: { id: 1, login: 'a' }, emails: [] }),
          ),
          reason('unavailable'),
        );
      } finally {
        gh.knobs[knob] = '';
      }
      assert.ok(Date.now() - t0 < 1500);
    }
  });
});

describe('upstream client: Apple (form_post, client-secret JWT, the user field) and Google (hd)', () => {
  let apple: Awaited<ReturnType<typeof startUpstream>>;
  let google: Awaited<ReturnType<typeof startUpstream>>;
  before(async () => {
    apple = await startUpstream('apple');
    google = await startUpstream('oidc');
  });
  after(async () => {
    await apple.close();
    await google.close();
  });

  it('Apple: form_post, an ES256 client secret (team, service, kid, short-lived), the name from the user field', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const provider = await providerRecord('apple', {
      preset: 'apple',
      issuer: apple.issuer(),
      responseMode: 'form_post',
      clientAuth: 'client_secret_post',
      clientId: 'com.example.service',
      appleKeyId: 'KEY123',
      appleTeamId: 'TEAM456',
      scopes: ['name', 'email'],
      secret: JSON.stringify(await exportJWK(privateKey)),
    });
    const pub = await importJWK(await exportJWK(publicKey), 'ES256');
    let checked: Record<string, unknown> | undefined;
    apple.knobs.appleSecretCheck = async (secret) => {
      const { payload, protectedHeader } = await jwtVerify(secret, pub, {
        algorithms: ['ES256'],
        issuer: 'TEAM456',
        subject: 'com.example.service',
        audience: 'https://appleid.apple.com',
      });
      checked = { kid: protectedHeader.kid, life: payload.exp! - payload.iat! };
    };
    const { location, profile } = await signIn(client(), provider, (l) => {
      const p = apple.authorize(l, { sub: '000123.abc', email: 'x@privaterelay.appleid.com', email_verified: 'true' });
      p.set('user', JSON.stringify({ name: { firstName: 'Ada', lastName: 'Lovelace' }, email: 'spoofed@example.com' }));
      p.set('tessera_bounce', '1');
      return p;
    });
    assert.equal(location.searchParams.get('response_mode'), 'form_post');
    assert.equal(location.searchParams.get('scope'), 'openid name email');
    assert.deepEqual(checked, { kid: 'KEY123', life: 300 });
    assert.deepEqual(profile, {
      issuer: apple.base,
      subject: '000123.abc',
      email: 'x@privaterelay.appleid.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
    });
    // A secret the upstream refuses (another key): invalid.
    const other = await generateKeyPair('ES256');
    apple.knobs.appleSecretCheck = async (secret) => {
      await jwtVerify(secret, other.publicKey);
    };
    await assert.rejects(
      signIn(client(), { ...provider, updatedAt: 5 }, (l) => apple.authorize(l, { sub: 'z' })),
      reason('invalid'),
    );
  });
  it('Google: hd becomes the hosted domain', async () => {
    const provider = await providerRecord('google', { preset: 'google', issuer: google.issuer() });
    const { profile } = await signIn(client(), provider, (l) =>
      google.authorize(l, {
        sub: 'g1',
        email: 'a@corp.example',
        email_verified: true,
        hd: 'Corp.Example',
        name: 'A',
        preferred_username: 'a',
      }),
    );
    assert.equal(profile.hostedDomain, 'corp.example');
    assert.equal(profile.emailVerified, true);
  });
});
