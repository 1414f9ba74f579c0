/**
 * A database that cannot be reached (the SQL adapter throws StorageUnavailableError) is answered
 * 503 temporarily_unavailable with Retry-After on every kind of route, never a 500; other
 * failures stay a generic server_error. The real adapter's mapping is proven against a stopped
 * and a killed PostgreSQL in test/multi-instance/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { StorageUnavailableError } from '../../src/ports/unavailable.ts';
import { timeOrderedKey } from '../../src/protocol/hash.ts';
import { authorizeUrl, authorizeWithLogin, basic, form, Jar, pkce, testApp } from '../fixtures/app.ts';

const ADMIN_TOKEN = 'admin-token-0123456789-abcdefghijklmnopqrstuvwxyz';

describe('database unavailable', () => {
  let app: App;
  let down = false;
  before(async () => {
    app = await testApp('sqlite::memory:', { TESSERA_CLIENT_CACHE_TTL: '0', TESSERA_ADMIN_TOKEN: ADMIN_TOKEN });
    // Every storage call fails while `down`, as the adapter fails while PostgreSQL is unreachable.
    for (const store of Object.values(app.stores)) {
      if (typeof store !== 'object' || store === null) continue;
      for (const [name, fn] of Object.entries(store)) {
        if (typeof fn !== 'function') continue;
        (store as Record<string, unknown>)[name] = (...args: unknown[]) => {
          if (down) return Promise.reject(new StorageUnavailableError('database unavailable: connect ECONNREFUSED'));
          return (fn as (...a: unknown[]) => unknown).apply(store, args);
        };
      }
    }
    const transaction = app.stores.transaction.bind(app.stores);
    app.stores.transaction = ((fn: Parameters<typeof transaction>[0]) =>
      down
        ? Promise.reject(new StorageUnavailableError('database unavailable: connect ECONNREFUSED'))
        : transaction(fn)) as typeof transaction;
    const ping = app.stores.ping;
    app.stores.ping = () => (down ? Promise.reject(new StorageUnavailableError('down')) : ping());
  });
  after(async () => {
    down = false;
    await app?.close();
  });

  it('token, introspection, revocation and userinfo answer 503 temporarily_unavailable with Retry-After', async () => {
    const token = (
      await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') })
    ).json().access_token as string;
    down = true;
    for (const res of [
      await form(app, '/token', { grant_type: 'client_credentials' }, { authorization: basic('svc') }),
      await form(app, '/introspect', { token }, { authorization: basic('rs') }),
      await form(app, '/revoke', { token }, { authorization: basic('svc') }),
      await app.server.inject({ url: '/userinfo', headers: { authorization: `Bearer ${token}` } }),
    ]) {
      assert.equal(res.statusCode, 503, res.body);
      assert.deepEqual(res.json(), {
        error: 'temporarily_unavailable',
        error_description: 'The service is temporarily unavailable; retry later.',
      });
      assert.equal(res.headers['retry-after'], '2');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['www-authenticate'], undefined, 'no challenge: the credentials were not at fault');
    }
    down = false;
    assert.equal(
      (await form(app, '/introspect', { token }, { authorization: basic('rs') })).json().active,
      true,
      'served again once the database is back',
    );
  });

  it('the admin API answers 503 problem details with Retry-After, and works again after', async () => {
    const call = () =>
      app.server.inject({ url: '/admin/api/v1/users', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal((await call()).statusCode, 200);
    down = true;
    const res = await call();
    down = false;
    assert.equal(res.statusCode, 503, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json().code, 'temporarily_unavailable');
    assert.equal(res.json().status, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.equal((await call()).statusCode, 200);
  });

  it('browser pages answer a 503 error page, and /ready reports the database unreachable', async () => {
    down = true;
    const page = await app.server.inject({
      url: authorizeUrl({
        client_id: 'web',
        redirect_uri: 'https://app.example/cb',
        response_type: 'code',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    });
    assert.equal(page.statusCode, 503);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /Service unavailable/);
    assert.equal(page.headers['retry-after'], '2');
    const ready = await app.server.inject('/ready');
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().checks.database, 'unreachable');
    down = false;
    assert.equal((await app.server.inject('/ready')).statusCode, 200);
  });
});

describe('refresh and the database failing mid-request', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:');
  });
  after(async () => {
    await app?.close();
  });

  const tokens = async () => {
    const { verifier, challenge } = pkce();
    const redirect = await authorizeWithLogin(app, new Jar(), {
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return (
      await form(
        app,
        '/token',
        {
          grant_type: 'authorization_code',
          code: redirect.searchParams.get('code')!,
          code_verifier: verifier,
          redirect_uri: 'https://app.example/cb',
        },
        { authorization: basic('web') },
      )
    ).json();
  };
  const refresh = (rt: string) =>
    form(app, '/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: basic('web') });

  it('a refresh whose transaction fails half-way is answered 503 and has not rotated the token: the retry succeeds instead of being taken for a replay', async () => {
    const first = await tokens();
    const rotate = app.stores.grants.rotate;
    const rotateNow = rotate.bind(app.stores.grants);
    // The database fails after the presented token was marked used, before the commit.
    app.stores.grants.rotate = (hash, now, accept, next) =>
      rotateNow(hash, now, accept, (refresh, grant, accepted) => {
        next(refresh, grant, accepted);
        throw new StorageUnavailableError('database unavailable: Connection terminated unexpectedly');
      });
    try {
      const failed = await refresh(first.refresh_token);
      assert.equal(failed.statusCode, 503);
    } finally {
      app.stores.grants.rotate = rotate;
    }
    const retry = await refresh(first.refresh_token);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal((await refresh(retry.json().refresh_token)).statusCode, 200);
  });

  it("a refresh for a user disabled behind the grant's back is refused and revokes the grant", async () => {
    const first = await tokens();
    const alice = (await app.stores.users.findByUsername('alice'))!;
    await app.stores.users.put({ ...alice, disabled: true });
    try {
      const res = await refresh(first.refresh_token);
      assert.equal(res.json().error, 'invalid_grant');
      const stored = await app.stores.grants.getRefresh(timeOrderedKey(first.refresh_token));
      assert.notEqual(stored!.grant.revokedAt, null);
    } finally {
      await app.stores.users.put({ ...alice, disabled: false });
    }
  });
});
