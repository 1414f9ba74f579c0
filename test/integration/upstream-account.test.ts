// Linked sign-ins and an upstream's back-channel logout over HTTP (buildApp + inject): the routes,
// their CSRF and recent-sign-in rules, and the JSON answers of the back-channel endpoint.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import type { UpstreamProvider } from '../../src/ports/upstreams.ts';
import { csrfOf, form, Jar, testApp } from '../fixtures/app.ts';

/** A port nothing listens on (bound, then closed): a provider there is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function provider(id: string, issuer: string, extra: Partial<UpstreamProvider> = {}): UpstreamProvider {
  return {
    id,
    kind: 'oidc',
    label: `${id[0]!.toUpperCase()}${id.slice(1)}`,
    order: 0,
    enabled: true,
    issuer,
    clientId: 'tessera',
    clientAuth: 'none',
    scopes: ['openid', 'email'],
    responseMode: 'query',
    claims: {
      subject: 'sub',
      username: 'preferred_username',
      name: 'name',
      email: 'email',
      emailVerified: 'email_verified',
    },
    allowedDomains: [],
    allowedTenants: [],
    createUsers: false,
    autoLinkDomains: [],
    trustAmr: false,
    acrMap: {},
    homeRealmDomains: [],
    privateNetwork: true,
    createdAt: 1,
    updatedAt: 1,
    ...extra,
  };
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
    assert.ok(down.statusCode === 503 || down.statusCode === 400, `${down.statusCode} ${down.body}`);
    assert.notEqual(down.statusCode, 500);
    const get = await app.server.inject({ url: '/upstream/downco/backchannel-logout' });
    assert.ok(get.statusCode === 405 || get.statusCode === 404, String(get.statusCode));
  });
});
