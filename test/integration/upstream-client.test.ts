import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import { outboundHttp } from '../../src/adapters/outbound/http-client.ts';
import { createUpstreamClient } from '../../src/adapters/upstream/client.ts';
import type { UpstreamError } from '../../src/ports/upstream-client.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import {
  type AuthorizationOutcome,
  type GithubShaped,
  type MicrosoftShaped,
  type OidcUpstream,
  startGithubShaped,
  startMicrosoftShaped,
  startOidcUpstream,
  startTesseraUpstream,
  type TesseraUpstream,
} from '../fixtures/upstream-servers.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

// The upstream adapter against the shared upstream test servers: node-oidc-provider as a generic
// OpenID Connect upstream, and the GitHub- and Microsoft-shaped servers, each signing a person in
// through its own login (authorize() over HTTP) and sending them back to Tessera's callback URL.

const KEK = 'upstream-client-fixtures-kek-0123456789';
const CALLBACK = 'https://tessera.test/upstream/up/callback';
const rand = () => randomBytes(32).toString('base64url');
const TENANT_A = '0a0a0a0a-1111-4222-8333-444444444444';
const TENANT_B = '0b0b0b0b-5555-4666-8777-888888888888';

const client = (timeoutMs = 3000) =>
  createUpstreamClient({
    outbound: outboundHttp(),
    keks: { keyEncryptionKey: KEK },
    now: () => Math.floor(Date.now() / 1000),
    timeoutMs,
    allowLoopback: false,
  });

async function record(id: string, over: Partial<UpstreamProvider>, secret: string): Promise<UpstreamProvider> {
  return upstreamRecord(id, {
    label: id,
    issuer: 'https://unset.test',
    secretWrapped: await wrapAccountSecret(KEK, `upstream:${id}`, secret),
    privateNetwork: true,
    ...over,
  });
}

/** The callback's parameters from where the upstream sent the browser back. */
function answer(outcome: AuthorizationOutcome): URLSearchParams {
  if (outcome.kind === 'redirect') {
    assert.equal(outcome.url.origin + outcome.url.pathname, CALLBACK);
    return outcome.url.searchParams;
  }
  assert.equal(outcome.action, CALLBACK);
  return new URLSearchParams(outcome.fields);
}

const reason = (r: UpstreamError['reason'], about?: RegExp) => (e: unknown) => {
  const err = e as UpstreamError;
  assert.equal(err.name, 'UpstreamError', String(e));
  assert.equal(err.reason, r, err.message);
  if (about) assert.match(err.message, about);
  return true;
};

type Flow = { state: string; nonce: string; codeVerifier: string; params: URLSearchParams; redirectUri: string };

/** Starts a sign-in and lets `user` sign in at the upstream; the callback is the caller's to make. */
async function begin(
  c: ReturnType<typeof client>,
  provider: UpstreamProvider,
  up: { authorize(url: string | URL, o?: { user?: string; deny?: boolean }): Promise<AuthorizationOutcome> },
  user: string,
  o: { deny?: boolean } = {},
): Promise<Flow> {
  const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
  const location = await c.authorizationUrl(provider, a);
  return { ...a, params: answer(await up.authorize(location, { user, ...o })) };
}

describe('upstream client against node-oidc-provider', () => {
  let up: OidcUpstream;
  let other: OidcUpstream;
  let provider: UpstreamProvider;
  const logouts: URLSearchParams[] = [];
  let receiver: ReturnType<typeof createServer>;
  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        logouts.push(new URLSearchParams(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const users = [
      { sub: 'u-alice', preferred_username: 'alice', email: 'alice@example.com', name: 'Alice', amr: ['pwd', 'mfa'] },
      { sub: 'u-bob', preferred_username: 'bob', email: 'bob@example.com', email_verified: false },
    ];
    up = await startOidcUpstream({
      clientId: 'tessera',
      clientSecret: 'upstream-secret',
      redirectUris: [CALLBACK],
      backchannelLogoutUri: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/logout`,
      users,
    });
    other = await startOidcUpstream({
      clientId: 'tessera',
      clientSecret: 'other-secret',
      redirectUris: [CALLBACK],
      users,
    });
    provider = await record('up', { issuer: up.issuer }, 'upstream-secret');
  });
  after(async () => {
    await up.close();
    await other.close();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
  });

  it('signs a person in: sub, verified email, username, name and sid (userinfo read for the claims)', async () => {
    const c = client();
    const f = await begin(c, provider, up, 'alice');
    assert.equal(f.params.get('iss'), up.issuer, 'the upstream sends iss (RFC 9207)');
    const profile = await c.callback(provider, f);
    assert.equal(profile.issuer, up.issuer);
    assert.equal(profile.subject, 'u-alice');
    assert.equal(profile.email, 'alice@example.com');
    assert.equal(profile.emailVerified, true);
    assert.equal(profile.username, 'alice');
    assert.equal(profile.name, 'Alice');
    assert.ok(profile.sid && up.sessions('u-alice').some((s) => s.sid === profile.sid), 'the upstream session id');
    // email_verified false stays false.
    const bob = await c.callback(provider, await begin(c, provider, up, 'bob'));
    assert.equal(bob.email, 'bob@example.com');
    assert.equal(bob.emailVerified, false);
  });
  it('prompt=login and max_age go to the upstream; the ID token must show an authentication that recent', async () => {
    const c = client();
    const a = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
    const location = new URL(await c.authorizationUrl(provider, { ...a, prompt: 'login', maxAge: 0 }));
    assert.equal(location.searchParams.get('prompt'), 'login');
    assert.equal(location.searchParams.get('max_age'), '0');
    const fresh = { ...a, maxAge: 0, params: answer(await up.authorize(location, { user: 'alice' })) };
    assert.equal((await c.callback(provider, fresh)).subject, 'u-alice', 'authenticated just now: accepted');
    // The same kind of answer judged two minutes later (the provider's clock): too old for max_age 0.
    const later = createUpstreamClient({
      outbound: outboundHttp(),
      keks: { keyEncryptionKey: KEK },
      now: () => Math.floor(Date.now() / 1000) + 120,
      timeoutMs: 3000,
      allowLoopback: false,
    });
    const b = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
    const url = await later.authorizationUrl(provider, { ...b, prompt: 'login', maxAge: 0 });
    const stale = { ...b, maxAge: 0, params: answer(await up.authorize(url, { user: 'alice' })) };
    await assert.rejects(later.callback(provider, stale), reason('invalid'));
    // Without max_age the same answer is accepted by that clock.
    const d = { redirectUri: CALLBACK, state: rand(), nonce: rand(), codeVerifier: rand() + rand() };
    const plain = {
      ...d,
      params: answer(await up.authorize(await later.authorizationUrl(provider, d), { user: 'alice' })),
    };
    assert.equal((await later.callback(provider, plain)).subject, 'u-alice');
  });

  it('the person cancels at the upstream: denied (access_denied)', async () => {
    const c = client();
    const f = await begin(c, provider, up, 'alice', { deny: true });
    await assert.rejects(
      c.callback(provider, f),
      (e: unknown) => reason('denied')(e) && (e as UpstreamError).upstreamError === 'access_denied',
    );
  });
  it("mix-up: another upstream's answer (its iss, its code) at this provider's callback is refused, nothing redeemed", async () => {
    const c = client();
    const forOther = await record('other', { issuer: other.issuer }, 'other-secret');
    const f = await begin(c, forOther, other, 'alice');
    assert.equal(f.params.get('iss'), other.issuer);
    await assert.rejects(c.callback(provider, f), reason('invalid', /iss/));
    // The code was not spent: the right provider still redeems it.
    assert.equal((await c.callback(forOther, f)).issuer, other.issuer);
  });
  it('a wrong nonce, a wrong state: invalid', async () => {
    const c = client();
    await assert.rejects(
      c.callback(provider, { ...(await begin(c, provider, up, 'alice')), nonce: rand() }),
      reason('invalid', /nonce/),
    );
    await assert.rejects(
      c.callback(provider, { ...(await begin(c, provider, up, 'alice')), state: rand() }),
      reason('invalid'),
    );
  });
  it('PKCE: the upstream refuses a wrong or missing verifier (invalid)', async () => {
    const c = client();
    await assert.rejects(
      c.callback(provider, { ...(await begin(c, provider, up, 'alice')), codeVerifier: rand() + rand() }),
      reason('invalid', /invalid_grant/),
    );
    await assert.rejects(
      c.callback(provider, { ...(await begin(c, provider, up, 'alice')), codeVerifier: '' }),
      reason('invalid', /invalid_grant/),
    );
  });
  it('a wrong client secret: the upstream refuses (invalid)', async () => {
    const c = client();
    const wrong = await record('up', { issuer: up.issuer, updatedAt: 9 }, 'not-the-secret');
    await assert.rejects(c.callback(wrong, await begin(c, wrong, up, 'alice')), reason('invalid', /invalid_client/));
    // The secret is not in the message.
    await assert.rejects(
      c.callback(wrong, await begin(c, wrong, up, 'alice')),
      (e: Error) => !e.message.includes('not-the'),
    );
  });
  it('back-channel logout: the token the upstream sends when its session ends verifies; minted attacks do not', async () => {
    const c = client();
    const profile = await c.callback(provider, await begin(c, provider, up, 'alice'));
    logouts.length = 0;
    await up.endSessions('u-alice');
    const token = logouts.map((b) => b.get('logout_token')).find((t) => t && decodeJwt(t).sid === profile.sid);
    assert.ok(token, 'the upstream posted a logout token for the session');
    const out = await c.verifyLogoutToken(provider, token);
    assert.equal(out.issuer, up.issuer);
    assert.equal(out.subject, 'u-alice');
    assert.equal(out.sid, profile.sid);
    assert.equal(out.jti, decodeJwt(token).jti);
    for (const [name, claims, header] of [
      ['another audience', { aud: 'someone-else' }, undefined],
      ['no events', { events: undefined }, undefined],
      ['a nonce', { nonce: 'x' }, undefined],
      ['neither sub nor sid', { sub: undefined, sid: undefined }, undefined],
      ['wrong typ', {}, { typ: 'JWT' }],
    ] as const)
      await assert.rejects(
        c.verifyLogoutToken(provider, await up.logoutToken({ ...claims }, header ? { ...header } : undefined)),
        reason('invalid'),
        name,
      );
    // Signed by another upstream: not this provider's.
    await assert.rejects(c.verifyLogoutToken(provider, await other.logoutToken({ iss: up.issuer })), reason('invalid'));
  });
});

describe('upstream client against the GitHub-shaped server', () => {
  let gh: GithubShaped;
  let provider: UpstreamProvider;
  before(async () => {
    gh = await startGithubShaped({
      clientId: 'tessera',
      clientSecret: 'gh-secret',
      redirectUri: CALLBACK,
      users: [
        {
          id: 1001,
          login: 'octocat',
          name: 'The Octocat',
          email: null,
          emails: [
            { email: 'old@example.com', primary: false, verified: true },
            { email: 'octo@example.com', primary: true, verified: true },
          ],
        },
        {
          id: 1002,
          login: 'sneaky',
          email: 'victim@example.com',
          emails: [{ email: 'victim@example.com', primary: true, verified: false }],
        },
      ],
    });
    provider = await record(
      'up',
      {
        kind: 'oauth2',
        preset: 'github',
        issuer: 'https://github.com',
        authorizationEndpoint: gh.authorizationEndpoint,
        tokenEndpoint: gh.tokenEndpoint,
        userinfoEndpoint: `${gh.apiUrl}/user`,
        emailsEndpoint: `${gh.apiUrl}/user/emails`,
        clientAuth: 'client_secret_post',
        scopes: ['read:user', 'user:email'],
        claims: { subject: 'id', username: 'login', name: 'name', email: 'email', emailVerified: 'email_verified' },
      },
      'gh-secret',
    );
  });
  after(() => gh.close());

  it('the numeric id, the login, the verified primary email; JSON token answer with PKCE', async () => {
    const c = client();
    const profile = await c.callback(provider, await begin(c, provider, gh, 'octocat'));
    assert.deepEqual(profile, {
      issuer: 'https://github.com',
      subject: '1001',
      email: 'octo@example.com',
      emailVerified: true,
      username: 'octocat',
      name: 'The Octocat',
    });
    const last = gh.tokenRequests.at(-1)!;
    assert.match(last.accept, /application\/json/);
    assert.ok(last.fields.code_verifier);
  });
  it('an unverified primary email is never verified', async () => {
    const c = client();
    const profile = await c.callback(provider, await begin(c, provider, gh, 'sneaky'));
    assert.equal(profile.subject, '1002');
    assert.equal(profile.emailVerified, false);
  });
  it('a wrong PKCE verifier, a cancelled sign-in', async () => {
    const c = client();
    await assert.rejects(
      c.callback(provider, { ...(await begin(c, provider, gh, 'octocat')), codeVerifier: rand() + rand() }),
      reason('invalid'),
    );
    await assert.rejects(
      c.callback(provider, await begin(c, provider, gh, 'octocat', { deny: true })),
      reason('denied'),
    );
  });
});

describe('upstream client against the Microsoft-shaped server', () => {
  let ms: MicrosoftShaped;
  let common: UpstreamProvider;
  before(async () => {
    ms = await startMicrosoftShaped({
      clientId: 'tessera',
      clientSecret: 'ms-secret',
      redirectUris: [CALLBACK],
      users: [
        { tid: TENANT_A, preferred_username: 'alice@a.example', email: 'alice@example.com', name: 'Alice' },
        { tid: TENANT_B, preferred_username: 'evil@b.example', email: 'alice@example.com', name: 'Not Alice' },
      ],
    });
    common = await record(
      'up',
      {
        preset: 'microsoft',
        issuer: ms.issuerTemplate,
        discoveryUrl: ms.discoveryUrl('common'),
        clientAuth: 'client_secret_post',
        claims: {
          subject: 'sub',
          username: 'preferred_username',
          name: 'name',
          email: 'email',
          emailVerified: 'email_verified',
        },
      },
      'ms-secret',
    );
  });
  after(() => ms.close());

  it('common: the tenant issuer, oid and tid; the same email in another tenant is another identity, never verified', async () => {
    const c = client();
    const a = await c.callback(common, await begin(c, common, ms, 'alice@a.example'));
    const alice = ms.user('alice@a.example');
    assert.deepEqual(a, {
      issuer: ms.issuerOf(TENANT_A),
      subject: alice.oid,
      tenant: TENANT_A,
      email: 'alice@example.com',
      emailVerified: false,
      username: 'alice@a.example',
      name: 'Alice',
    });
    assert.notEqual(alice.sub, alice.oid);
    const b = await c.callback(common, await begin(c, common, ms, 'evil@b.example'));
    assert.equal(b.issuer, ms.issuerOf(TENANT_B));
    assert.equal(b.tenant, TENANT_B);
    assert.equal(b.emailVerified, false);
    assert.notEqual(b.issuer, a.issuer);
  });
  it('a single-tenant provider (its own discovery and issuer) works and keeps the tenant', async () => {
    const c = client();
    const single = await record(
      'single',
      {
        preset: 'microsoft',
        issuer: ms.issuerOf(TENANT_A),
        discoveryUrl: ms.discoveryUrl(TENANT_A),
        clientAuth: 'client_secret_post',
      },
      'ms-secret',
    );
    const p = await c.callback(single, await begin(c, single, ms, 'alice@a.example'));
    assert.equal(p.issuer, ms.issuerOf(TENANT_A));
    assert.equal(p.tenant, TENANT_A);
  });
  it('a wrong nonce or PKCE verifier is refused', async () => {
    const c = client();
    await assert.rejects(
      c.callback(common, { ...(await begin(c, common, ms, 'alice@a.example')), nonce: rand() }),
      reason('invalid', /nonce/),
    );
    await assert.rejects(
      c.callback(common, { ...(await begin(c, common, ms, 'alice@a.example')), codeVerifier: rand() + rand() }),
      reason('invalid'),
    );
  });
});

describe('upstream client against a second Tessera (dogfooding its discovery and tokens)', () => {
  let up: TesseraUpstream;
  let provider: UpstreamProvider;
  before(async () => {
    up = await startTesseraUpstream({ redirectUris: [CALLBACK] });
    provider = await record('up', { issuer: up.issuer, clientId: up.clientId }, up.clientSecret);
  });
  after(() => up.close());

  it('signs alice in through its password page: its issuer, her sub, her verified email', async () => {
    const c = client(5000);
    const f = await begin(c, provider, up, 'alice');
    assert.equal(f.params.get('iss'), up.issuer);
    const profile = await c.callback(provider, f);
    assert.equal(profile.issuer, up.issuer);
    assert.ok(profile.subject);
    assert.equal(profile.email, 'alice@example.com');
    assert.equal(profile.emailVerified, true);
    assert.equal(profile.username, 'alice');
    // The same person again: the same subject.
    assert.equal((await c.callback(provider, await begin(c, provider, up, 'alice'))).subject, profile.subject);
  });
  it('a replayed callback (the code again) is refused by the upstream', async () => {
    const c = client(5000);
    const f = await begin(c, provider, up, 'alice');
    await c.callback(provider, f);
    await assert.rejects(c.callback(provider, f), reason('invalid', /invalid_grant/));
  });
});
