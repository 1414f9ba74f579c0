// Linked sign-ins and an upstream's back-channel logout over HTTP (buildApp + inject): the routes,
// their CSRF and recent-sign-in rules, and the JSON answers of the back-channel endpoint; then with a
// real upstream (oidc-provider, test/fixtures/upstream-servers.ts) and the real upstream client:
// linking from the account page, a sign-in through it, the upstream's own back-channel logout
// ending that session (and only it), forged, foreign and replayed logout tokens, re-authentication
// and deletion of an account without a password.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { wrapAccountSecret } from '../../src/accounts/secret-wrap.ts';
import type { App } from '../../src/app.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { SESSION_COOKIE, startSession } from '../../src/protocol/interaction/session.ts';
import { csrfOf, form, ISSUER, Jar, testApp } from '../fixtures/app.ts';
import { startOidcUpstream, type OidcUpstream } from '../fixtures/upstream-servers.ts';
import { upstreamRecord } from '../fixtures/upstream-records.ts';

/** A port nothing listens on (bound, then closed): a provider there is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function provider(id: string, issuer: string, extra: Partial<UpstreamProvider> = {}): UpstreamProvider {
  return upstreamRecord(id, {
    issuer,
    clientAuth: 'none',
    scopes: ['openid', 'email'],
    createUsers: false,
    privateNetwork: true,
    ...extra,
  });
}

describe('linked sign-ins over HTTP', () => {
  let app: App;
  let downIssuer: string;
  before(async () => {
    app = await testApp('sqlite::memory:');
    downIssuer = `http://127.0.0.1:${await closedPort()}`;
    await app.stores.upstreams.put(provider('downco', downIssuer));
  });
  after(async () => {
    await app?.close();
  });

  /** alice signed in on the account page in a new browser. */
  async function signedIn(): Promise<Jar> {
    const jar = new Jar();
    const page = await app.server.inject({ url: '/account' });
    jar.take(page);
    const ok = await form(
      app,
      '/account/login',
      { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(ok.statusCode, 303, ok.body);
    jar.take(ok);
    return jar;
  }

  it('lists, refuses a forged form, and unlinks the signed-in user’s identity', async () => {
    const alice = (await app.stores.users.findByUsername('alice'))!;
    const now = Math.floor(Date.now() / 1000);
    await app.stores.upstreamIdentities.link({
      providerId: 'downco',
      issuer: downIssuer,
      subject: 'alice-at-downco',
      userId: alice.id,
      email: 'alice@downco.example',
      createdAt: now,
      lastUsedAt: now,
    });
    const jar = await signedIn();
    const page = await app.server.inject({ url: '/account/linked', headers: { cookie: jar.header() } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<h1>Linked sign-ins<\/h1>/);
    assert.match(page.body, /alice@downco\.example/);
    assert.doesNotMatch(page.body, /alice-at-downco/);
    assert.match(page.headers['content-security-policy'] as string, /nonce-/);
    const ref = /name="identity" value="([^"]+)"/.exec(page.body)![1]!;
    const forged = await form(
      app,
      '/account/linked/unlink',
      { identity: ref, csrf: 'forged' },
      { cookie: jar.header() },
    );
    assert.equal(forged.statusCode, 403);
    const ok = await form(
      app,
      '/account/linked/unlink',
      { identity: ref, csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, 'http://localhost:4999/account/linked?done=upstream-unlinked');
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(alice.id), []);
    const after = await app.server.inject({ url: ok.headers.location as string, headers: { cookie: jar.header() } });
    assert.match(after.body, /role="status">The sign-in was unlinked/);
  });

  it('linking to a provider that is down gives a 503 page with a way back, never a 500', async () => {
    const jar = await signedIn();
    const page = await app.server.inject({ url: '/account/linked', headers: { cookie: jar.header() } });
    assert.match(page.body, /aria-label="Link Downco"/);
    const r = await form(
      app,
      '/account/linked/link',
      { provider: 'downco', csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(r.statusCode, 503, r.body);
    assert.match(r.body, /Cannot reach Downco/);
    assert.match(r.body, /href="http:\/\/localhost:4999\/account\/linked"/);
  });

  it('back-channel logout: 404 for an unknown provider, 400 without a token, 503 while the keys cannot be fetched', async () => {
    const post = (id: string, body: Record<string, string>) => form(app, `/upstream/${id}/backchannel-logout`, body);
    const unknown = await post('nope', { logout_token: 'x.y.z' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error, 'invalid_request');
    const missing = await post('downco', {});
    assert.equal(missing.statusCode, 400);
    assert.deepEqual(missing.json(), { error: 'invalid_request' });
    assert.equal(missing.headers['cache-control'], 'no-store');
    const down = await post('downco', { logout_token: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln' });
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().error, 'temporarily_unavailable');
    assert.ok(down.headers['retry-after']);
    const get = await app.server.inject({ url: '/upstream/downco/backchannel-logout' });
    assert.ok(get.statusCode === 405 || get.statusCode === 404, String(get.statusCode));
  });
});

describe('linked sign-ins and back-channel logout with a real upstream', () => {
  let app: App;
  let corp: OidcUpstream;
  let other: OidcUpstream;
  let tessera: string;
  const SECRET = 'corp-client-secret-for-tessera';

  before(async () => {
    app = await testApp('sqlite::memory:');
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    tessera = `http://127.0.0.1:${(app.server.server.address() as { port: number }).port}`;
    const users = [
      { sub: 'alice-at-corp', preferred_username: 'alice.corp', email: 'alice@corp.example', name: 'Alice' },
      { sub: 'newbie-at-corp', preferred_username: 'newbie', email: 'newbie@corp.example', name: 'Newbie' },
    ];
    corp = await startOidcUpstream({
      users,
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [`${ISSUER}/upstream/corp/callback`],
      backchannelLogoutUri: `${tessera}/upstream/corp/backchannel-logout`,
      label: 'Corp',
    });
    // A second upstream whose users have the same subjects: its tokens must never end corp's sessions.
    other = await startOidcUpstream({
      users,
      clientId: 'tessera',
      clientSecret: SECRET,
      redirectUris: [`${ISSUER}/upstream/other/callback`],
      backchannelLogoutUri: `${tessera}/upstream/other/backchannel-logout`,
      label: 'Other',
    });
    const kek = app.provider.config.keyEncryptionKey;
    for (const [id, up] of [
      ['corp', corp],
      ['other', other],
    ] as const)
      await app.stores.upstreams.put(
        provider(id, up.issuer, {
          clientAuth: 'client_secret_basic',
          secretWrapped: await wrapAccountSecret(kek, `upstream:${id}`, SECRET),
          scopes: ['openid', 'email', 'profile'],
          createUsers: true,
        }),
      );
  });
  after(async () => {
    await app?.close();
    await corp?.close();
    await other?.close();
  });

  const get = (jar: Jar, url: string) => app.server.inject({ url, headers: { cookie: jar.header() } });
  /** Follows a redirect to the upstream as `user`, then delivers its answer to Tessera's callback. */
  async function throughUpstream(up: OidcUpstream, jar: Jar, res: LightMyRequestResponse, user: string) {
    assert.equal(res.statusCode, 303, res.body.slice(0, 400));
    jar.take(res);
    const outcome = await up.authorize(res.headers.location as string, { user });
    assert.equal(outcome.kind, 'redirect');
    const back = (outcome as { url: URL }).url;
    assert.equal(back.origin + back.pathname, `${ISSUER}/upstream/${up === corp ? 'corp' : 'other'}/callback`);
    const done = await get(jar, back.pathname + back.search);
    jar.take(done);
    return done;
  }
  async function passwordSignIn(): Promise<Jar> {
    const jar = new Jar();
    const page = await app.server.inject({ url: '/account' });
    jar.take(page);
    const ok = await form(
      app,
      '/account/login',
      { username: 'alice', password: 'correct horse battery', csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    jar.take(ok);
    return jar;
  }
  /** A new browser signed in to the account area through an upstream. */
  async function upstreamSignIn(up: OidcUpstream, id: string, user: string): Promise<Jar> {
    const jar = new Jar();
    const page = await app.server.inject({ url: '/account' });
    jar.take(page);
    assert.match(page.body, new RegExp(`action="${ISSUER}/account/upstream/${id}"`));
    const go = await form(app, `/account/upstream/${id}`, { csrf: csrfOf(page.body) }, { cookie: jar.header() });
    const done = await throughUpstream(up, jar, go, user);
    assert.equal(done.statusCode, 303, done.body.slice(0, 400));
    return jar;
  }
  const signedInAs = async (jar: Jar) => {
    const r = await get(jar, '/account');
    return /Signed in as <strong>([^<]+)<\/strong>/.exec(r.body)?.[1];
  };
  const logout = (id: string, token: string) =>
    form(app, `/upstream/${id}/backchannel-logout`, { logout_token: token });

  /** A browser holding a Tessera session signed in through this upstream identity (made as the callback makes it). */
  async function upstreamSession(userId: string, upstream: { subject: string; sid?: string }): Promise<Jar> {
    const { cookies } = await startSession(
      app.provider,
      { method: 'GET', params: new URLSearchParams(), headers: {}, cookies: {}, ip: '192.0.2.9' },
      userId,
      ['fed'],
      { providerId: 'corp', issuer: corp.issuer, ...upstream },
    );
    const jar = new Jar();
    jar.cookies.set(SESSION_COOKIE, cookies[0]!.value);
    return jar;
  }

  it("corp's own logout tokens, verified by the real client: by its session (sid), then by the user (sub)", async () => {
    const alice = (await app.stores.users.findByUsername('alice'))!;
    // A real upstream session of alice at corp, for Tessera's client: its sid is what corp will send.
    const url = await app.provider.upstream.authorizationUrl((await app.stores.upstreams.get('corp'))!, {
      redirectUri: `${ISSUER}/upstream/corp/callback`,
      state: 'state-value-not-used-here',
      nonce: 'nonce-value-not-used-here',
      codeVerifier: 'v'.repeat(64),
    });
    assert.equal((await corp.authorize(url, { user: 'alice.corp' })).kind, 'redirect');
    const [upstreamSid] = corp.sessions('alice-at-corp').filter((x) => x.clientId === 'tessera');
    assert.ok(upstreamSid, 'corp has a session for Tessera');
    const bySid = await upstreamSession(alice.id, { subject: 'alice-at-corp', sid: upstreamSid.sid });
    const otherSid = await upstreamSession(alice.id, { subject: 'alice-at-corp', sid: 'another-upstream-session' });
    assert.equal(await signedInAs(bySid), 'alice');
    // A token of corp naming only that sid ends that session only.
    const onlySid = await corp.logoutToken({ sid: upstreamSid.sid, sub: undefined });
    assert.equal((await logout('corp', onlySid)).statusCode, 200);
    assert.equal(await signedInAs(bySid), undefined);
    assert.equal(await signedInAs(otherSid), 'alice');
    // A token of corp for the right user but another audience (another client of corp) is refused.
    assert.equal(
      (await logout('corp', await corp.logoutToken({ sub: 'alice-at-corp', aud: 'someone-else' }))).statusCode,
      400,
    );
    // An expired one too.
    const past = Math.floor(Date.now() / 1000) - 600;
    assert.equal(
      (await logout('corp', await corp.logoutToken({ sub: 'alice-at-corp', iat: past - 120, exp: past }))).statusCode,
      400,
    );
    assert.equal(await signedInAs(otherSid), 'alice');
    // corp itself signs alice out: it posts its logout token to Tessera's URL, and alice's sessions
    // through corp end (sub and sid: the one with the upstream's own session).
    const again = await upstreamSession(alice.id, { subject: 'alice-at-corp', sid: upstreamSid.sid });
    const results = await corp.endSessions('alice-at-corp');
    assert.ok(
      results.some((r) => r.clientId === 'tessera' && r.ok),
      JSON.stringify(results),
    );
    assert.equal(await signedInAs(again), undefined);
    assert.equal(await signedInAs(otherSid), 'alice', 'a session of another upstream session lives on');
    await app.stores.sessions.deleteByUpstream('corp', corp.issuer, { sid: 'another-upstream-session' });
  });

  it('links a provider from the account page, then its own back-channel logout ends the session it started', async () => {
    const alice = (await app.stores.users.findByUsername('alice'))!;
    const jar = await passwordSignIn();
    const page = await get(jar, '/account/linked');
    assert.match(page.body, /aria-label="Link Corp"/);
    const go = await form(
      app,
      '/account/linked/link',
      { provider: 'corp', csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    const done = await throughUpstream(corp, jar, go, 'alice.corp');
    assert.equal(done.headers.location, `${ISSUER}/account/linked?done=upstream-linked`);
    const linked = await get(jar, '/account/linked?done=upstream-linked');
    assert.match(linked.body, /role="status">The sign-in was linked/);
    assert.match(linked.body, /alice@corp\.example/);
    assert.doesNotMatch(linked.body, /alice-at-corp/);
    assert.deepEqual(
      (await app.stores.upstreamIdentities.listByUser(alice.id)).map((i) => [i.providerId, i.issuer, i.subject]),
      [['corp', corp.issuer, 'alice-at-corp']],
    );

    // Another browser signs in through corp; the password browser is left alone by corp's logout.
    const viaCorp = await upstreamSignIn(corp, 'corp', 'alice.corp');
    assert.equal(await signedInAs(viaCorp), 'alice');
    const sessions = (await app.stores.sessions.listByUser(alice.id)).filter((s) => s.upstream);
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.upstream?.subject, 'alice-at-corp');
    assert.ok(sessions[0]!.upstream?.sid, 'the upstream sid is recorded');

    // other's users share corp's subjects: a real, well-signed token of other ends nothing of corp's,
    // whether it is sent to corp's URL or to other's own.
    const foreign = await other.logoutToken({ sub: 'alice-at-corp' });
    assert.equal((await logout('corp', foreign)).statusCode, 400);
    assert.equal((await logout('other', foreign)).statusCode, 200);
    assert.equal(await signedInAs(viaCorp), 'alice');
    // A token signed by a key corp never published, with corp's claims.
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      sub: 'alice-at-corp',
      jti: 'forged-1',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: corp.jwks.keys[0]!.kid! })
      .setIssuer(corp.issuer)
      .setAudience('tessera')
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .sign(privateKey);
    const refused = await logout('corp', forged);
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(refused.json(), { error: 'invalid_request' });
    // Signed by corp but with a nonce (an ID token is not a logout token), or without the event.
    assert.equal((await logout('corp', await corp.logoutToken({ sub: 'alice-at-corp', nonce: 'n' }))).statusCode, 400);
    assert.equal(
      (await logout('corp', await corp.logoutToken({ sub: 'alice-at-corp', events: undefined }))).statusCode,
      400,
    );
    assert.equal(await signedInAs(viaCorp), 'alice');

    // The person signs out at corp: corp posts its own logout token to Tessera.
    const results = await corp.endSessions('alice-at-corp');
    assert.ok(results.length >= 1, 'corp sent a logout token');
    assert.ok(
      results.every((r) => r.ok),
      JSON.stringify(results),
    );
    assert.equal(await signedInAs(viaCorp), undefined, 'the session corp started ended');
    assert.equal(await signedInAs(jar), 'alice', 'the password session lives on');
  });

  it('a logout token is accepted once: the replay ends nothing, not even a session started since', async () => {
    const viaCorp = await upstreamSignIn(corp, 'corp', 'alice.corp');
    const token = await corp.logoutToken({ sub: 'alice-at-corp' });
    const first = await logout('corp', token);
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['cache-control'], 'no-store');
    assert.equal(await signedInAs(viaCorp), undefined);
    const again = await upstreamSignIn(corp, 'corp', 'alice.corp');
    const replay = await logout('corp', token);
    assert.equal(replay.statusCode, 400);
    assert.equal(await signedInAs(again), 'alice');
  });

  it('an account made by a provider sign-in re-authenticates through it and can delete itself', async () => {
    const jar = await upstreamSignIn(corp, 'corp', 'newbie');
    const username = await signedInAs(jar);
    assert.ok(username, 'signed in to a new account');
    const user = (await app.stores.users.findByUsername(username))!;
    assert.equal(user.passwordHash, null);
    // Long after the sign-in (the session's auth_time moved back), deleting asks to confirm it is them.
    const session = (await app.stores.sessions.listByUser(user.id))[0]!;
    await app.stores.sessions.delete(session.idHash);
    await app.stores.sessions.create({ ...session, authTime: session.authTime - 3600 });
    const stale = await get(jar, '/account/delete');
    assert.equal(stale.statusCode, 303);
    const reauth = await get(
      jar,
      new URL(stale.headers.location as string).pathname + new URL(stale.headers.location as string).search,
    );
    assert.doesNotMatch(reauth.body, /<input[^>]*type="password"/);
    assert.match(reauth.body, /Continue with Corp/);
    const go = await form(
      app,
      '/account/reauth/upstream',
      { provider: 'corp', return: '/account/delete', csrf: csrfOf(reauth.body) },
      { cookie: jar.header() },
    );
    const back = await throughUpstream(corp, jar, go, 'newbie');
    assert.equal(back.headers.location, `${ISSUER}/account/delete`);
    const page = await get(jar, '/account/delete');
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /<input[^>]*type="password"/);
    const deleted = await form(
      app,
      '/account/delete',
      { confirm: 'yes', csrf: csrfOf(page.body) },
      { cookie: jar.header() },
    );
    assert.equal(deleted.statusCode, 200, deleted.body.slice(0, 300));
    assert.equal(await app.stores.users.get(user.id), undefined);
    assert.deepEqual(await app.stores.upstreamIdentities.listByUser(user.id), []);
  });
});
