import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import { outboundHttp } from '../../src/adapters/outbound/http-client.ts';
import { OutboundError } from '../../src/ports/outbound.ts';
import { createUpstreamClient } from '../../src/adapters/upstream/client.ts';
import type { UpstreamError } from '../../src/ports/upstream-client.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

// Adversarial review of the upstream adapter (issue 17): a small upstream on 127.0.0.1 whose ID
// token, userinfo answer and token answer a test chooses claim by claim, to see what the adapter
// makes of answers a real provider could give (an email in the ID token and another, verified, in
// userinfo; a Microsoft tenant token whose tid is not its issuer's; a token answer that is not JSON).

const KEK = 'upstream-adapter-review-kek-0123456789';
const CALLBACK = 'https://tessera.test/upstream/idp/callback';
const TENANT_A = '11111111-2222-4333-8444-555555555555';
const TENANT_B = '99999999-8888-4777-8666-555555555555';
const rand = () => randomBytes(32).toString('base64url');

interface Grant {
  clientId: string;
  nonce: string | null;
  idToken: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
}

/** An OIDC upstream (for Microsoft: one tenant's issuer `<base>/<tenant>/v2.0`) signing what a test asks. */
async function startIdp(o: { tenant?: string } = {}) {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' } as JWK;
  const grants = new Map<string, Grant>();
  const access = new Map<string, Grant>();
  const knobs = { tokenBody: undefined as string | undefined };
  let base = '';
  // Microsoft's common endpoint (tenant 'common') names the template as its issuer.
  const issuer = () => (o.tenant ? `${base}/${o.tenant === 'common' ? '{tenantid}' : o.tenant}/v2.0` : base);
  const json = (res: ServerResponse, status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url!, base);
    if (url.pathname === `${o.tenant ? `/${o.tenant}/v2.0` : ''}/.well-known/openid-configuration`)
      return json(res, 200, {
        issuer: issuer(),
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: `${base}/token`,
        userinfo_endpoint: `${base}/userinfo`,
        jwks_uri: `${base}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      });
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/token') {
      if (knobs.tokenBody !== undefined)
        return res.writeHead(200, { 'content-type': 'application/json' }).end(knobs.tokenBody);
      const form = new URLSearchParams(body);
      const grant = grants.get(form.get('code') ?? '');
      grants.delete(form.get('code') ?? '');
      if (!grant) return json(res, 400, { error: 'invalid_grant' });
      const token = rand();
      access.set(token, grant);
      const now = Math.floor(Date.now() / 1000);
      const idToken = await new SignJWT({ ...(grant.nonce ? { nonce: grant.nonce } : {}), ...grant.idToken })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(issuer())
        .setAudience(grant.clientId)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    if (url.pathname === '/userinfo') {
      const grant = access.get(req.headers.authorization?.replace(/^Bearer /i, '') ?? '');
      if (!grant) return json(res, 401, { error: 'invalid_token' });
      return json(res, 200, grant.userinfo ?? { sub: grant.idToken.sub });
    }
    res.writeHead(404).end();
  }
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => void handle(req, res, body).catch((e) => res.writeHead(500).end(String(e))));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    get base() {
      return base;
    },
    issuer,
    knobs,
    /** The callback parameters after the person signed in, the ID token and userinfo as given. */
    authorize(location: string, idToken: Record<string, unknown>, userinfo?: Record<string, unknown>) {
      const u = new URL(location);
      const code = rand();
      grants.set(code, {
        clientId: u.searchParams.get('client_id')!,
        nonce: u.searchParams.get('nonce'),
        idToken,
        ...(userinfo ? { userinfo } : {}),
      });
      return new URLSearchParams({ code, state: u.searchParams.get('state')! });
    },
    /** A logout token signed with the upstream's key (claims over sensible defaults; undefined removes one). */
    async logoutToken(claims: Record<string, unknown>) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer(),
        aud: 'tessera-client',
        iat: now,
        exp: now + 120,
        jti: rand(),
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
        ...claims,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt' }).sign(privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

async function providerRecord(id: string, over: Partial<UpstreamProvider>): Promise<UpstreamProvider> {
  return upstreamRecord(id, {
    label: id,
    issuer: 'https://unset.test',
    clientId: 'tessera-client',
    clientAuth: 'client_secret_post',
    secretWrapped: await wrapAccountSecret(KEK, `upstream:${id}`, 'the-secret'),
    privateNetwork: true,
    ...over,
  });
}

const client = () =>
  createUpstreamClient({
    outbound: outboundHttp(),
    keks: { keyEncryptionKey: KEK },
    now: () => Math.floor(Date.now() / 1000),
    timeoutMs: 2000,
    allowLoopback: false,
  });

async function signIn(
  c: ReturnType<typeof client>,
  provider: UpstreamProvider,
  answer: (location: string) => URLSearchParams,
) {
  const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
  const location = await c.authorizationUrl(provider, a);
  return c.callback(provider, { ...a, params: answer(location) });
}

const invalid = (about?: RegExp) => (e: unknown) => {
  const err = e as UpstreamError;
  assert.equal(err.name, 'UpstreamError', String(e));
  assert.equal(err.reason, 'invalid', err.message);
  if (about) assert.match(err.message, about);
  return true;
};

describe('upstream adapter review: email and its verified flag come from one document', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let provider: UpstreamProvider;
  before(async () => {
    idp = await startIdp();
    provider = await providerRecord('idp', { issuer: idp.issuer() });
  });
  after(() => idp.close());

  it("userinfo's email_verified does not vouch for the ID token's other email", async () => {
    // The ID token names an address without saying it is verified (and no name, so userinfo is
    // read); userinfo vouches for another address. The flag is about userinfo's address only.
    const profile = await signIn(client(), provider, (l) =>
      idp.authorize(
        l,
        { sub: 'mallory', email: 'victim@corp.example' },
        { sub: 'mallory', email: 'mallory@corp.example', email_verified: true, name: 'Mallory' },
      ),
    );
    assert.equal(profile.email, 'victim@corp.example');
    assert.equal(profile.emailVerified, false, 'the verified flag of another address');
    assert.equal(profile.name, 'Mallory');
  });
  it("the ID token's email_verified does not vouch for userinfo's email", async () => {
    const profile = await signIn(client(), provider, (l) =>
      idp.authorize(
        l,
        { sub: 'mallory', email_verified: true },
        { sub: 'mallory', email: 'victim@corp.example', name: 'Mallory' },
      ),
    );
    assert.equal(profile.email, 'victim@corp.example');
    assert.equal(profile.emailVerified, false, 'the verified flag of an address the ID token did not name');
  });
  it('an email and its flag both in the ID token, or both in userinfo, stay verified', async () => {
    const fromToken = await signIn(client(), provider, (l) =>
      idp.authorize(
        l,
        { sub: 'alice', email: 'alice@corp.example', email_verified: true },
        { sub: 'alice', name: 'A' },
      ),
    );
    assert.deepEqual([fromToken.email, fromToken.emailVerified], ['alice@corp.example', true]);
    const fromUserinfo = await signIn(client(), provider, (l) =>
      idp.authorize(l, { sub: 'alice' }, { sub: 'alice', email: 'alice@corp.example', email_verified: true }),
    );
    assert.deepEqual([fromUserinfo.email, fromUserinfo.emailVerified], ['alice@corp.example', true]);
  });
});

describe('upstream adapter review: what the authentication was is said by the ID token only', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let provider: UpstreamProvider;
  before(async () => {
    idp = await startIdp();
    provider = await providerRecord('idp', {
      issuer: idp.issuer(),
      trustAmr: true,
      acrMap: { 'urn:idp:phrh': 'urn:tessera:acr:phrh' },
    });
  });
  after(() => idp.close());

  it("userinfo's amr, acr and sid are not taken for the sign-in's (they would raise its factors)", async () => {
    // A password sign-in at the upstream (the ID token says so); userinfo, read for the name,
    // carries other values under the same names.
    const profile = await signIn(client(), provider, (l) =>
      idp.authorize(
        l,
        { sub: 'alice', amr: ['pwd'], email: 'alice@corp.example', email_verified: true },
        { sub: 'alice', name: 'Alice', amr: ['hwk', 'mfa'], acr: 'urn:idp:phrh', sid: 'other-sid' },
      ),
    );
    assert.equal(profile.name, 'Alice');
    assert.deepEqual(profile.amr, ['pwd']);
    assert.equal(profile.acr, undefined);
    assert.equal(profile.sid, undefined);
  });
});

describe('upstream adapter review: a single-tenant Microsoft provider', () => {
  let ms: Awaited<ReturnType<typeof startIdp>>;
  let provider: UpstreamProvider;
  const person = (tid: string) => ({
    sub: 'pairwise-sub',
    oid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    tid,
    email: 'alice@contoso.example',
    preferred_username: 'alice@contoso.example',
    name: 'Alice',
  });
  before(async () => {
    ms = await startIdp({ tenant: TENANT_A });
    provider = await providerRecord('microsoft', {
      preset: 'microsoft',
      issuer: ms.issuer(),
      discoveryUrl: `${ms.base}/${TENANT_A}/v2.0/.well-known/openid-configuration`,
      allowedTenants: [TENANT_B],
    });
  });
  after(() => ms.close());

  it("the tenant's own token is accepted with its tid", async () => {
    const profile = await signIn(client(), provider, (l) => ms.authorize(l, person(TENANT_A)));
    assert.equal(profile.tenant, TENANT_A);
    assert.equal(profile.issuer, `${ms.base}/${TENANT_A}/v2.0`);
  });
  it("a token of tenant A's issuer claiming tid B is refused (the tenant must be the issuer's)", async () => {
    await assert.rejects(
      signIn(client(), provider, (l) => ms.authorize(l, person(TENANT_B))),
      invalid(/tenant/),
    );
  });
});

describe('upstream adapter review: log messages', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let provider: UpstreamProvider;
  before(async () => {
    idp = await startIdp();
    provider = await providerRecord('idp', { issuer: idp.issuer() });
  });
  after(() => idp.close());

  it('a token answer that is not JSON: invalid, and no piece of it in the message', async () => {
    idp.knobs.tokenBody = 'access_token=SECRETxyzSECRETxyz&token_type=bearer';
    try {
      await assert.rejects(
        signIn(client(), provider, (l) => idp.authorize(l, { sub: 'alice' })),
        (e: unknown) => {
          invalid()(e);
          const message = (e as Error).message;
          assert.doesNotMatch(message, /access_tok|SECRET|token_type/, message);
          return true;
        },
      );
    } finally {
      idp.knobs.tokenBody = undefined;
    }
  });
});

describe('upstream adapter review: cloud metadata services outside 169.254.0.0/16', () => {
  // A privateNetwork provider may be reached at private addresses, and its discovery document names
  // the endpoints Tessera then fetches (with the token, and the answer read into the profile): none
  // may be a cloud metadata service. AWS's instance metadata also answers at fd00:ec2::254 (a
  // unique-local IPv6 address), Alibaba Cloud's at 100.100.100.200 (shared address space).
  const request = { name: 'upstream idp userinfo_endpoint', allowLoopback: false, timeoutMs: 1000, maxBytes: 1024 };
  const get = { method: 'GET' as const, headers: {} };
  const refused = (uri: string) => (e: unknown) => {
    assert.ok(e instanceof OutboundError, String(e));
    assert.equal(e.reason, 'refused', `${uri}: ${e.message}`);
    return true;
  };
  it('refused as address literals and as what a name resolves to', async () => {
    const named = outboundHttp({
      resolve: (host, _family, cb) =>
        host === 'imds.corp'
          ? cb(null, [{ address: 'fd00:ec2::254', family: 6 }])
          : cb(null, [{ address: '100.100.100.200', family: 4 }]),
    });
    for (const uri of [
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://100.100.100.200/latest/meta-data/',
      'http://imds.corp/latest/meta-data/',
      'http://aliyun.corp/latest/meta-data/',
    ])
      await assert.rejects(named.fetch(uri, get, { ...request, privateNetwork: true }), refused(uri), uri);
  });
});

describe('upstream adapter review: logout tokens', () => {
  let idp: Awaited<ReturnType<typeof startIdp>>;
  let ms: Awaited<ReturnType<typeof startIdp>>;
  let provider: UpstreamProvider;
  let microsoft: UpstreamProvider;
  const OID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
  before(async () => {
    idp = await startIdp();
    ms = await startIdp({ tenant: 'common' });
    provider = await providerRecord('idp', { issuer: idp.issuer() });
    microsoft = await providerRecord('microsoft', {
      preset: 'microsoft',
      issuer: ms.issuer(),
      discoveryUrl: `${ms.base}/common/v2.0/.well-known/openid-configuration`,
    });
  });
  after(async () => {
    await idp.close();
    await ms.close();
  });

  it('a jti with control characters is refused (it becomes a key in the replay store)', async () => {
    const c = client();
    assert.ok((await c.verifyLogoutToken(provider, await idp.logoutToken({ sub: 'alice', jti: 'plain-jti' }))).jti);
    for (const jti of ['a\u0000b', 'a\nb', 'a\ud800b'])
      await assert.rejects(
        c.verifyLogoutToken(provider, await idp.logoutToken({ sub: 'alice', jti })),
        invalid(/jti/),
        JSON.stringify(jti),
      );
  });
  it("Microsoft: the subject is the oid, as in the sign-in's profile (the sub is pairwise, never an identity's)", async () => {
    const c = client();
    const iss = `${ms.base}/${TENANT_A}/v2.0`;
    const out = await c.verifyLogoutToken(
      microsoft,
      await ms.logoutToken({ iss, tid: TENANT_A, sub: 'pairwise-sub', oid: OID }),
    );
    assert.equal(out.issuer, iss);
    assert.equal(out.subject, OID);
    // With a sid only, no subject; with neither an oid nor a sid, nothing to end: refused.
    const bySid = await c.verifyLogoutToken(microsoft, await ms.logoutToken({ iss, tid: TENANT_A, sid: 'ms-sid' }));
    assert.deepEqual([bySid.subject, bySid.sid], [undefined, 'ms-sid']);
    await assert.rejects(
      c.verifyLogoutToken(microsoft, await ms.logoutToken({ iss, tid: TENANT_A, sub: 'pairwise-sub' })),
      invalid(),
    );
  });
});
