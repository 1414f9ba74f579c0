/**
 * Upstream sign-in over HTTP (issue 17): the real app (buildApp + inject) with real upstreams
 * started here on 127.0.0.1 (test/fixtures/upstream-servers.ts): node-oidc-provider as a generic
 * OpenID Connect upstream (email_verified true and false), GitHub's and Microsoft's shapes. The
 * login page's buttons, a cross-site form_post accepted and bounced, a provider that is down, and
 * whole sign-ins with the linking rules: just-in-time creation and a second sign-in, a replayed
 * callback, an unverified email matching an account (no link), a verified one (no automatic link),
 * a Microsoft token from another tenant with the same email.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../../src/app.ts';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { tokenHash } from '../../src/protocol/hash.ts';
import { csrfOf, form, ISSUER, Jar, pkce, testApp } from '../fixtures/app.ts';
import {
  asRedirect,
  type AppleShaped,
  startAppleShaped,
  type GithubShaped,
  type MicrosoftShaped,
  type OidcUpstream,
  startGithubShaped,
  startMicrosoftShaped,
  startOidcUpstream,
} from '../fixtures/upstream-servers.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';
import { openLoginPage, startWebAuthorize } from '../fixtures/upstream-signin.ts';

const SECRET = 'upstream-client-secret-0123456789abcdef';
const callbackOf = (id: string) => `${ISSUER}/upstream/${id}/callback`;

/** A port nothing listens on (taken, then freed): a provider that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function saveProvider(app: App, id: string, over: Partial<UpstreamProvider>): Promise<void> {
  const kek = app.provider.config.keyEncryptionKey;
  const now = app.provider.now();
  await app.stores.upstreams.put(
    upstreamRecord(id, {
      label: `Provider ${id}`,
      issuer: 'http://127.0.0.1:1',
      secretWrapped: await wrapAccountSecret(kek, `upstream:${id}`, SECRET),
      privateNetwork: true,
      createdAt: now,
      updatedAt: now,
      ...over,
    }),
  );
  app.provider.upstream.forget(id);
}

// The callback's "Continuing" page, when its answer leaves Tessera, is followed as the redirect it is.
const get = async (app: App, url: string, jar: Jar) =>
  asRedirect(await app.server.inject({ method: 'GET', url, headers: { cookie: jar.header() } }));

describe('upstream sign-in over HTTP', () => {
  let app: App;
  let oidc: OidcUpstream;
  const { challenge } = pkce();

  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_RATE_LIMITING: 'false' });
    oidc = await startOidcUpstream({
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [callbackOf('oidc'), callbackOf('oidc-unverified')],
      users: [
        { sub: 'u-dana', preferred_username: 'dana', email: 'dana@fbi.example', name: 'Dana Scully' },
        { sub: 'u-alice', preferred_username: 'alice', email: 'alice@example.com' },
      ],
      emailVerified: true,
    });
    await saveProvider(app, 'oidc', { label: 'Corp ID', issuer: oidc.issuer, order: 1 });
    await saveProvider(app, 'down', { label: 'Down ID', issuer: `http://127.0.0.1:${await closedPort()}`, order: 2 });
  });
  after(async () => {
    await app?.close();
    await oidc?.close();
  });

  /** /authorize for the web client in a new browser: its jar and the login page. */
  async function loginPage() {
    return openLoginPage(app, challenge, { scope: 'openid profile', state: 'st' });
  }

  it('the login page shows a button per enabled provider, each a form with the CSRF token', async () => {
    const { page, uid } = await loginPage();
    assert.equal(page.statusCode, 200);
    const body = page.body;
    assert.match(body, /<h2 id="upstream-heading">Or continue with<\/h2>/);
    assert.ok(body.indexOf('Continue with Corp ID') < body.indexOf('Continue with Down ID'), 'in order');
    assert.ok(body.includes(`action="${ISSUER}/interaction/${uid}/upstream/oidc"`));
    // A button's answer is a redirect to the provider: the page's form-action must allow its origin.
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, new RegExp(`form-action 'self' https://app\\.example ${oidc.issuer}`));
    // No inline script or style was added: the CSP's nonces are unchanged by the buttons.
    assert.doesNotMatch(body, / style="|onclick=/);
  });

  it('a provider that is down: the login page again with 503 and an alert, never a 500', async () => {
    const { jar, uid, page } = await loginPage();
    const res = await form(
      app,
      `/interaction/${uid}/upstream/down`,
      { csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /role="alert"[^>]*>Down ID cannot be reached right now/);
    // The alert is the provider's: the password fields are not marked invalid.
    assert.doesNotMatch(res.body, /<input[^>]*aria-invalid/);
  });

  it('a cross-site form_post (no cookies, another Origin) is accepted and bounced once, same-site', async () => {
    const res = await form(
      app,
      '/upstream/oidc/callback',
      { code: 'c0de', state: 's7ate', user: '{"name":{"firstName":"A"}}' },
      { origin: 'https://appleid.apple.com', 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), new RegExp(`form-action ${ISSUER}`));
    assert.ok(res.body.includes(`<form method="post" action="${ISSUER}/upstream/oidc/callback">`));
    assert.ok(res.body.includes('name="tessera_bounce" value="1"'));
    assert.ok(res.body.includes('name="user" value="{&quot;name&quot;:{&quot;firstName&quot;:&quot;A&quot;}}"'));
    // The bounce itself, still without the binding cookie: a page, not another bounce.
    const again = await form(app, '/upstream/oidc/callback', { code: 'c0de', state: 's7ate', tessera_bounce: '1' });
    assert.equal(again.statusCode, 400);
    assert.match(again.body, /Sign-in expired/);
  });

  /** The button, then the upstream's login as `user`: the callback URL the upstream sent the browser to. */
  async function throughUpstream(provider: string, user: string, follow: (url: string) => Promise<URL>) {
    const { jar, uid, page } = await loginPage();
    const res = await form(
      app,
      `/interaction/${uid}/upstream/${provider}`,
      { csrf: csrfOf(page.body) },
      {
        cookie: jar.header(),
      },
    );
    assert.equal(res.statusCode, 303, res.body);
    jar.take(res);
    const back = await follow(res.headers.location as string);
    assert.equal(back.origin + back.pathname, callbackOf(provider));
    void user;
    return { jar, uid, back };
  }
  const oidcFollow = (user: string) => async (url: string) => {
    const out = await oidc.authorize(url, { user });
    assert.equal(out.kind, 'redirect');
    return (out as { url: URL }).url;
  };
  const callback = (back: URL, jar: Jar): Promise<LightMyRequestResponse> => get(app, back.pathname + back.search, jar);
  /** After a signed-in callback: the consent page (allowed) on to the code at the client. */
  async function toCode(res: LightMyRequestResponse, jar: Jar): Promise<string> {
    assert.equal(res.statusCode, 303, res.body);
    jar.take(res);
    let location = res.headers.location as string;
    if (location.startsWith(`${ISSUER}/interaction/`)) {
      const path = location.replace(ISSUER, '');
      const consent = await get(app, path, jar);
      assert.match(consent.body, /Allow access\?/);
      const fields = { csrf: csrfOf(consent.body), decision: 'allow' };
      const allowed = await form(app, `${path}/consent`, fields, { cookie: jar.header() });
      assert.equal(allowed.statusCode, 303, allowed.body);
      location = allowed.headers.location as string;
    }
    assert.match(location, /^https:\/\/app\.example\/cb\?code=/);
    return location;
  }

  it('first sign-in creates the user just in time; the second signs in as the same; a replayed callback is refused', async () => {
    const first = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    await toCode(await callback(first.back, first.jar), first.jar);
    const session = await app.stores.sessions.get(tokenHash(first.jar.cookies.get('tessera_session')!));
    assert.deepEqual(session?.amr, ['fed']);
    assert.equal(session?.upstream?.issuer, oidc.issuer);
    assert.equal(session?.upstream?.subject, 'u-dana');
    const user = (await app.stores.users.get(session!.userId))!;
    assert.equal(user.username, 'dana');
    assert.equal(user.origin, 'upstream');
    // Replayed: the state was used.
    const replay = await callback(first.back, first.jar);
    assert.equal(replay.statusCode, 400);
    assert.match(replay.body, /Sign-in expired/);
    // The second sign-in: the same user.
    const second = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    await toCode(await callback(second.back, second.jar), second.jar);
    const s2 = await app.stores.sessions.get(tokenHash(second.jar.cookies.get('tessera_session')!));
    assert.equal(s2?.userId, user.id);
  });

  it('another browser with the callback URL (login CSRF) is refused, and its owner can still use it', async () => {
    const mine = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    const attacker = new Jar();
    attacker.cookies.set('tessera_upstream', 'a'.repeat(43));
    const stolen = await callback(mine.back, attacker);
    assert.equal(stolen.statusCode, 400);
    const ok = await callback(mine.back, mine.jar);
    assert.equal(ok.statusCode, 303, ok.body);
  });

  it('code injection (a code redeemed without its PKCE verifier) and mix-up (another issuer in iss) are refused', async () => {
    const attacker = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    const victim = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    // The attacker's code in the victim's callback (with the victim's state): the upstream refuses
    // to redeem it with the victim's verifier.
    const injected = new URL(victim.back);
    injected.searchParams.set('code', attacker.back.searchParams.get('code')!);
    const res = await callback(injected, victim.jar);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /could not be verified/);
    assert.equal(victim.jar.cookies.get('tessera_session'), undefined);
    // Another issuer in the response's iss (RFC 9207): refused before the code is redeemed.
    const mixed = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    const other = new URL(mixed.back);
    other.searchParams.set('iss', 'https://other-issuer.example');
    const r2 = await callback(other, mixed.jar);
    assert.equal(r2.statusCode, 400);
    assert.match(r2.body, /could not be verified/);
    // The same callback at another provider's URL (its own state lookup): refused.
    const third = await throughUpstream('oidc', 'dana', oidcFollow('dana'));
    const wrongUrl = await get(app, `/upstream/down/callback${third.back.search}`, third.jar);
    assert.equal(wrongUrl.statusCode, 400);
    assert.match(wrongUrl.body, /Sign-in expired/);
    // Its owner can still finish it at the right URL: nothing was burnt by the refusal.
    assert.equal((await callback(third.back, third.jar)).statusCode, 303);
  });

  it('a cancelled sign-in at the provider: a page with the way back to the login page', async () => {
    const cancelled = await throughUpstream('oidc', 'dana', async (url) => {
      const out = await oidc.authorize(url, { user: 'dana', deny: true });
      assert.equal(out.kind, 'redirect');
      return (out as { url: URL }).url;
    });
    const res = await callback(cancelled.back, cancelled.jar);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /did not sign you in \(access_denied\)/);
    assert.ok(res.body.includes(`href="${ISSUER}/interaction/${cancelled.uid}?hint=off"`));
  });

  it('a verified email of an existing account is not linked: the page says to sign in to it first', async () => {
    // alice@example.com is the fixture's verified address; the upstream says verified too.
    const a = await throughUpstream('oidc', 'alice', oidcFollow('alice'));
    const res = await callback(a.back, a.jar);
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /An account with this email exists/);
    assert.equal(a.jar.cookies.get('tessera_session'), undefined);
    const alice = (await app.stores.users.findByUsername('alice'))!;
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(alice.id), []);
  });
});

describe('upstream sign-in over HTTP: unverified email, GitHub and Microsoft shapes', () => {
  let app: App;
  let oidc: OidcUpstream;
  const { challenge } = pkce();

  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_RATE_LIMITING: 'false' });
    oidc = await startOidcUpstream({
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [callbackOf('loose')],
      users: [{ sub: 'u-mallory', preferred_username: 'alice', email: 'alice@example.com' }],
      emailVerified: false,
    });
    await saveProvider(app, 'loose', { label: 'Loose ID', issuer: oidc.issuer });
  });
  after(async () => {
    await app?.close();
    await oidc?.close();
  });

  it('email_verified false with a matching local email: no link, no takeover, a new account', async () => {
    const { jar, uid, page } = await openLoginPage(app, challenge);
    const go = await form(
      app,
      `/interaction/${uid}/upstream/loose`,
      { csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    jar.take(go);
    const out = await oidc.authorize(go.headers.location as string, { user: 'alice' });
    assert.equal(out.kind, 'redirect');
    const back = (out as { url: URL }).url;
    const res = await get(app, back.pathname + back.search, jar);
    assert.equal(res.statusCode, 303, res.body);
    jar.take(res);
    const session = await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!));
    const alice = (await app.stores.users.findByUsername('alice'))!;
    assert.notEqual(session?.userId, alice.id);
    const made = (await app.stores.users.get(session!.userId))!;
    assert.match(made.username, /^alice-[a-z0-9]{6}$/);
    assert.equal(made.emailVerified, false);
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(alice.id), []);
  });
});

describe('upstream sign-in over HTTP: a Microsoft-shaped token from another tenant with the same email', () => {
  const TENANT_A = 'aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa';
  const TENANT_B = 'bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb';
  let app: App;
  let ms: MicrosoftShaped;
  const { challenge } = pkce();

  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_RATE_LIMITING: 'false' });
    ms = await startMicrosoftShaped({
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [callbackOf('entra')],
      users: [
        // The fixture's alice@example.com is a verified local address: Microsoft's email never links.
        { tid: TENANT_A, preferred_username: 'boss@a.example', email: 'alice@example.com', name: 'Boss' },
        { tid: TENANT_B, preferred_username: 'evil@b.example', email: 'alice@example.com', name: 'Not the boss' },
      ],
    });
    await saveProvider(app, 'entra', {
      preset: 'microsoft',
      label: 'Microsoft',
      issuer: ms.issuerTemplate,
      discoveryUrl: ms.discoveryUrl('common'),
      clientAuth: 'client_secret_post',
    });
  });
  after(async () => {
    await app?.close();
    await ms?.close();
  });

  async function signIn(user: string): Promise<string> {
    const { jar, start } = await startWebAuthorize(app, challenge, { tessera_idp_hint: 'entra' });
    // tessera_idp_hint: straight to the provider from the interaction's page.
    const go = await get(app, (start.headers.location as string).replace(ISSUER, ''), jar);
    assert.equal(go.statusCode, 303, go.body);
    jar.take(go);
    const out = await ms.authorize(go.headers.location as string, { user });
    assert.equal(out.kind, 'redirect');
    const back = (out as { url: URL }).url;
    const res = await get(app, back.pathname + back.search, jar);
    assert.equal(res.statusCode, 303, res.body);
    jar.take(res);
    const session = await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!));
    assert.ok(session);
    assert.equal(session.upstream?.issuer, ms.issuerOf(user === 'boss@a.example' ? TENANT_A : TENANT_B));
    return session.userId;
  }

  it('each tenant is its own identity; neither takes the local account with that email', async () => {
    const alice = (await app.stores.users.findByUsername('alice'))!;
    const boss = await signIn('boss@a.example');
    const evil = await signIn('evil@b.example');
    assert.notEqual(boss, alice.id);
    assert.notEqual(evil, alice.id);
    assert.notEqual(evil, boss);
    assert.equal(await signIn('boss@a.example'), boss);
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(alice.id), []);
    const made = (await app.stores.users.get(evil))!;
    assert.equal(made.emailVerified, false);
  });
});

describe('upstream sign-in over HTTP: GitHub-shaped (OAuth 2.0, the verified flag of /user/emails)', () => {
  let app: App;
  let gh: GithubShaped;
  const { challenge } = pkce();

  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_RATE_LIMITING: 'false' });
    gh = await startGithubShaped({
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUri: callbackOf('github'),
      users: [
        {
          id: 1001,
          login: 'octocat',
          name: 'The Octocat',
          email: null,
          emails: [{ email: 'octo@example.net', primary: true, verified: true }],
        },
        // Claims alice's verified address, unverified at GitHub: never alice.
        {
          id: 1002,
          login: 'alice',
          email: 'alice@example.com',
          emails: [{ email: 'alice@example.com', primary: true, verified: false }],
        },
        // Alice's address verified at GitHub: not linked automatically either.
        {
          id: 1003,
          login: 'alice2',
          emails: [{ email: 'alice@example.com', primary: true, verified: true }],
        },
      ],
    });
    await saveProvider(app, 'github', {
      kind: 'oauth2',
      preset: 'github',
      label: 'GitHub',
      issuer: 'https://github.com',
      authorizationEndpoint: gh.authorizationEndpoint,
      tokenEndpoint: gh.tokenEndpoint,
      userinfoEndpoint: `${gh.apiUrl}/user`,
      emailsEndpoint: `${gh.apiUrl}/user/emails`,
      clientAuth: 'client_secret_post',
      scopes: ['read:user', 'user:email'],
      claims: { subject: 'id', username: 'login', name: 'name', email: 'email', emailVerified: 'email_verified' },
    });
  });
  after(async () => {
    await app?.close();
    await gh?.close();
  });

  /** A sign-in as `login` at GitHub: the callback's answer and the browser's jar. */
  async function signIn(login: string) {
    const { jar, start } = await startWebAuthorize(app, challenge, { tessera_idp_hint: 'github' });
    const go = await get(app, (start.headers.location as string).replace(ISSUER, ''), jar);
    assert.equal(go.statusCode, 303, go.body);
    jar.take(go);
    const out = await gh.authorize(go.headers.location as string, { user: login });
    assert.equal(out.kind, 'redirect');
    const back = (out as { url: URL }).url;
    const res = await get(app, back.pathname + back.search, jar);
    jar.take(res);
    const cookie = jar.cookies.get('tessera_session');
    const session = cookie ? await app.stores.sessions.get(tokenHash(cookie)) : undefined;
    return { res, session };
  }

  it('the numeric id is the identity; a verified primary email is kept verified; unverified never matches', async () => {
    const alice = (await app.stores.users.findByUsername('alice'))!;
    const octo = await signIn('octocat');
    assert.equal(octo.res.statusCode, 303, octo.res.body);
    assert.equal(octo.session?.upstream?.subject, '1001');
    const made = (await app.stores.users.get(octo.session!.userId))!;
    assert.equal(made.username, 'octocat');
    assert.equal(made.email, 'octo@example.net');
    assert.equal(made.emailVerified, true);
    const sneaky = await signIn('alice');
    assert.equal(sneaky.res.statusCode, 303, sneaky.res.body);
    assert.notEqual(sneaky.session?.userId, alice.id);
    assert.match((await app.stores.users.get(sneaky.session!.userId))!.username, /^alice-[a-z0-9]{6}$/);
    const verified = await signIn('alice2');
    assert.equal(verified.res.statusCode, 409);
    assert.equal(verified.session, undefined);
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(alice.id), []);
  });
});

describe('upstream sign-in over HTTP: Apple-shaped (a cross-site form_post, the name only at first sign-in)', () => {
  let app: App;
  let apple: AppleShaped;
  const { challenge } = pkce();

  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_RATE_LIMITING: 'false' });
    apple = await startAppleShaped({
      clientId: 'com.example.service',
      redirectUris: [callbackOf('apple')],
      users: [{ sub: '001234.abcdef', email: 'ann@relay.example', firstName: 'Ann', lastName: 'Lee' }],
    });
    await saveProvider(app, 'apple', {
      preset: 'apple',
      label: 'Apple',
      issuer: apple.issuer,
      discoveryUrl: apple.discoveryUrl,
      responseMode: 'form_post',
      clientAuth: 'client_secret_post',
      clientId: 'com.example.service',
      appleKeyId: apple.keyId,
      appleTeamId: apple.teamId,
      scopes: ['openid', 'name', 'email'],
      secretWrapped: await wrapAccountSecret(
        app.provider.config.keyEncryptionKey,
        'upstream:apple',
        JSON.stringify(apple.privateKey),
      ),
    });
  });
  after(async () => {
    await app?.close();
    await apple?.close();
  });

  it('the provider’s POST without cookies is bounced; the bounce with them signs in, with the name of the user field', async () => {
    const { jar, uid, page } = await openLoginPage(app, challenge);
    const go = await form(
      app,
      `/interaction/${uid}/upstream/apple`,
      { csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(go.statusCode, 303, go.body);
    jar.take(go);
    const out = await apple.authorize(go.headers.location as string, { user: 'ann@relay.example' });
    assert.equal(out.kind, 'form_post');
    const posted = out as { action: string; fields: Record<string, string> };
    assert.equal(posted.action, callbackOf('apple'));
    assert.ok(posted.fields.user, 'Apple sends the user field at the first sign-in');
    // Cross-site: no cookies. The answer re-posts the same fields, same-site.
    const crossSite = await form(app, '/upstream/apple/callback', posted.fields, { origin: apple.url });
    assert.equal(crossSite.statusCode, 200);
    assert.ok(crossSite.body.includes('name="tessera_bounce" value="1"'));
    const bounced = await form(
      app,
      '/upstream/apple/callback',
      { ...posted.fields, tessera_bounce: '1' },
      {
        cookie: jar.header(),
        origin: ISSUER,
      },
    );
    assert.equal(bounced.statusCode, 303, bounced.body);
    jar.take(bounced);
    const session = await app.stores.sessions.get(tokenHash(jar.cookies.get('tessera_session')!));
    assert.equal(session?.upstream?.subject, '001234.abcdef');
    const user = (await app.stores.users.get(session!.userId))!;
    assert.equal(user.givenName, 'Ann');
    assert.equal(user.familyName, 'Lee');
    assert.equal(user.email, 'ann@relay.example');
    // The same answer again (replayed, bounced or not): the state is used.
    const replay = await form(
      app,
      '/upstream/apple/callback',
      { ...posted.fields, tessera_bounce: '1' },
      {
        cookie: jar.header(),
      },
    );
    assert.equal(replay.statusCode, 400);
  });
});
