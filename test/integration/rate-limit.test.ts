// Per-endpoint rate limits through the HTTP layer (buildApp + inject). Counters are in-process
// here (no REDIS_URL); the Redis counters are covered by the contract suite and the
// multi-instance flow test. The database does not take part, so these run on SQLite only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { authorizeUrl, basic, form, loginForm, pkce, testApp } from '../fixtures/app.ts';

const METRICS_TOKEN = 'metrics-token-0123456789-abcdefghijklmnop';
const cc = (app: App, client: string, ip: string, headers: Record<string, string> = {}) =>
  app.server.inject({
    method: 'POST',
    url: '/token',
    remoteAddress: ip,
    payload: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client), ...headers },
  });

async function metric(app: App, line: RegExp): Promise<number> {
  const res = await app.server.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const m = res.body.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

describe('rate limits', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_METRICS_TOKEN: METRICS_TOKEN,
      TESSERA_RATE_LIMITS:
        'token.client=3/60s token.ip=5/1m introspection.client=2/60 revocation.ip=2/60 authorization.ip=3/60 login.username=2/60s login.ip=4/60s',
    });
  });
  after(async () => {
    await app?.close();
  });

  it('token endpoint: per client_id, with RateLimit fields and an OAuth JSON 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await cc(app, 'svc', `198.51.100.${i + 1}`);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.headers['ratelimit-policy'], '"token.ip";q=5;w=60, "token.client";q=3;w=60');
      assert.match(
        String(ok.headers.ratelimit),
        new RegExp(`^"token.ip";r=4;t=(60|59), "token.client";r=${2 - i};t=(60|59)$`),
      );
    }
    const refused = await cc(app, 'svc', '198.51.100.9');
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(refused.headers['cache-control'], 'no-store');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
    const body = refused.json();
    assert.equal(body.error, 'temporarily_unavailable');
    assert.match(body.error_description, /Too many requests/);
    assert.match(String(refused.headers.ratelimit), /"token.client";r=0;t=\d+/);
    // Another client is not affected.
    assert.equal((await cc(app, 'rs', '198.51.100.9')).statusCode, 200);
    assert.equal(await metric(app, /^tessera_rate_limited_total\{policy="token",key="client"\}/), 1);
    // A browser client (the origin of a registered redirect URI) can read the refusal and its fields.
    const browser = await cc(app, 'svc', '198.51.100.10', { origin: 'https://spa.example' });
    assert.equal(browser.statusCode, 429);
    assert.equal(browser.headers['access-control-allow-origin'], 'https://spa.example');
    assert.match(String(browser.headers['access-control-expose-headers']), /Retry-After, RateLimit, RateLimit-Policy/);
  });

  it('counts client_secret_post clients by the client_id in the body', async () => {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: 'nope',
      redirect_uri: 'https://post.example/cb',
      code_verifier: 'x'.repeat(43),
      client_id: 'web-post',
      client_secret: 'wrong',
    }).toString();
    const post = (ip: string) =>
      app.server.inject({
        method: 'POST',
        url: '/token',
        remoteAddress: ip,
        payload: body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    for (let i = 0; i < 3; i++) assert.equal((await post(`203.0.113.${i}`)).statusCode, 401);
    const refused = await post('203.0.113.99');
    assert.equal(refused.statusCode, 429);
  });

  it('token endpoint: per address, before the client is authenticated', async () => {
    const ip = '192.0.2.77';
    const clients = ['web', 'web-post', 'spa', 'native', 'rs'];
    for (const c of clients)
      await app.server.inject({
        method: 'POST',
        url: '/token',
        remoteAddress: ip,
        payload: `grant_type=client_credentials&client_id=${c}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const refused = await app.server.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: ip,
      payload: 'grant_type=client_credentials&client_id=svc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(refused.statusCode, 429);
    // refused before the body was read: only the address counted
    assert.match(String(refused.headers.ratelimit), /^"token.ip";r=0;t=\d+$/);
    assert.equal(await metric(app, /^tessera_rate_limited_total\{policy="token",key="ip"\}/), 1);
  });

  it('introspection and revocation answer OAuth JSON 429s', async () => {
    const token = (await cc(app, 'rs', '192.0.2.200')).json().access_token as string;
    for (let i = 0; i < 2; i++)
      assert.equal((await form(app, '/introspect', { token }, { authorization: basic('svc') })).statusCode, 200);
    const intro = await form(app, '/introspect', { token }, { authorization: basic('svc') });
    assert.equal(intro.statusCode, 429);
    assert.equal(intro.json().error, 'temporarily_unavailable');
    const revoke = (ip: string) =>
      app.server.inject({
        method: 'POST',
        url: '/revoke',
        remoteAddress: ip,
        payload: 'token=unknown',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('rs') },
      });
    for (let i = 0; i < 2; i++) assert.equal((await revoke('192.0.2.201')).statusCode, 200);
    const refused = await revoke('192.0.2.201');
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.json().error, 'temporarily_unavailable');
  });

  it('authorization endpoint: per address, an HTML page', async () => {
    const url = authorizeUrl({
      client_id: 'web',
      redirect_uri: 'https://app.example/cb',
      response_type: 'code',
      scope: 'openid',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    for (let i = 0; i < 3; i++)
      assert.equal((await app.server.inject({ url, remoteAddress: '192.0.2.150' })).statusCode, 303);
    const refused = await app.server.inject({ url, remoteAddress: '192.0.2.150' });
    assert.equal(refused.statusCode, 429);
    assert.match(String(refused.headers['content-type']), /^text\/html/);
    assert.match(refused.body, /Too many requests/);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(String(refused.headers['content-security-policy']), /default-src 'none'/);
  });

  it('login: per username across addresses, refused before the password is checked', async () => {
    const failures = await metric(app, /^tessera_logins_total\{outcome="failure"\}/);
    for (let i = 0; i < 2; i++)
      assert.equal((await (await loginForm(app, `100.64.0.${i + 1}`))('Alice', 'wrong')).statusCode, 400);
    const refused = await (await loginForm(app, '100.64.0.3'))('alice', 'correct horse battery');
    assert.equal(refused.statusCode, 429);
    assert.match(refused.body, /Too many requests/);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(String(refused.headers['ratelimit-policy']), /"login.username";q=2;w=60/);
    // The refused attempt never reached the password check: it is not a failed login.
    assert.equal(await metric(app, /^tessera_logins_total\{outcome="failure"\}/), failures + 2);
    // Other usernames from that address still get through.
    assert.equal((await (await loginForm(app, '100.64.0.3'))('bob', 'wrong')).statusCode, 400);
  });

  it('login: per address, whatever the username', async () => {
    const submit = await loginForm(app, '100.64.1.1');
    for (let i = 0; i < 4; i++) assert.equal((await submit(`user${i}`, 'wrong')).statusCode, 400);
    assert.equal((await submit('user9', 'wrong')).statusCode, 429);
    assert.equal(await metric(app, /^tessera_rate_limited_total\{policy="login",key="ip"\}/), 1);
  });

  it('bad input on limited endpoints still gets an RFC-shaped 4xx, never a 500', async () => {
    for (const authorization of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}`,
      `Basic ${Buffer.from('x'.repeat(5000)).toString('base64')}`,
    ]) {
      const res = await app.server.inject({
        method: 'POST',
        url: '/token',
        remoteAddress: '192.0.2.210',
        payload: 'grant_type=client_credentials',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      });
      assert.equal(res.statusCode, 401, authorization.slice(0, 20));
      assert.equal(res.json().error, 'invalid_client');
    }
    const wrongType = await app.server.inject({
      method: 'POST',
      url: '/introspect',
      remoteAddress: '192.0.2.211',
      payload: '{"token":"x"}',
      headers: { 'content-type': 'application/json', authorization: basic('rs') },
    });
    assert.equal(wrongType.statusCode, 400);
    assert.equal(wrongType.json().error, 'invalid_request');
    const submit = await loginForm(app, '100.64.2.1');
    // an over-long field makes the form unreadable (403 page)
    const long = (await submit('u'.repeat(4000), 'wrong')).statusCode;
    assert.ok(long >= 400 && long < 500, String(long));
  });

  it('routes without a policy are not limited or annotated', async () => {
    const res = await app.server.inject({ url: '/.well-known/openid-configuration' });
    assert.equal(res.headers.ratelimit, undefined);
    for (let i = 0; i < 10; i++)
      assert.equal((await app.server.inject({ url: '/jwks', remoteAddress: '192.0.2.150' })).statusCode, 200);
  });
});

describe('rate limits turned off (TESSERA_RATE_LIMITING=false)', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_RATE_LIMITING: 'false',
      TESSERA_RATE_LIMITS: 'token.client=1/60s token.ip=1/60s',
    });
  });
  after(async () => {
    await app?.close();
  });

  it('never refuses or annotates', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await cc(app, 'svc', '198.51.100.1');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.ratelimit, undefined);
    }
  });
});

describe('rate-limit key: client address behind proxies (TESSERA_TRUST_PROXY)', () => {
  let app: App;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_TRUST_PROXY: '10.0.0.1',
      TESSERA_RATE_LIMITS: 'token.ip=2/60s token.client=off',
    });
  });
  after(async () => {
    await app?.close();
  });

  it('a spoofed X-Forwarded-For from an untrusted address does not change the key', async () => {
    for (const spoof of ['203.0.113.1', '203.0.113.2'])
      assert.equal((await cc(app, 'svc', '192.0.2.50', { 'x-forwarded-for': spoof })).statusCode, 200);
    const refused = await cc(app, 'svc', '192.0.2.50', { 'x-forwarded-for': '203.0.113.3' });
    assert.equal(refused.statusCode, 429, 'every spoofed address counted against the real peer');
  });

  it('X-Forwarded-For from the trusted proxy is the key', async () => {
    const viaProxy = (client: string) => cc(app, 'svc', '10.0.0.1', { 'x-forwarded-for': client });
    assert.equal((await viaProxy('198.51.100.1')).statusCode, 200);
    assert.equal((await viaProxy('198.51.100.1')).statusCode, 200);
    assert.equal(
      (await viaProxy('198.51.100.2')).statusCode,
      200,
      'another client behind the proxy has its own budget',
    );
    assert.equal((await viaProxy('198.51.100.1')).statusCode, 429);
    // A client-supplied entry ahead of the proxy's is not believed: the proxy's own view counts.
    assert.equal((await viaProxy('203.0.113.9, 198.51.100.1')).statusCode, 429);
  });

  it('an X-Forwarded-For entry the proxy writes with a port (a.b.c.d:port, [v6]:port) counts without it: a new connection is no new budget', async () => {
    const viaProxy = (client: string) => cc(app, 'svc', '10.0.0.1', { 'x-forwarded-for': client });
    assert.equal((await viaProxy('198.51.100.20:50001')).statusCode, 200);
    assert.equal((await viaProxy('198.51.100.20:50002')).statusCode, 200);
    assert.equal((await viaProxy('198.51.100.20:50003')).statusCode, 429);
    assert.equal((await viaProxy('198.51.100.20')).statusCode, 429, 'the same budget as without a port');
    assert.equal((await viaProxy('[2001:db8:ee:1::1]:50001')).statusCode, 200);
    assert.equal((await viaProxy('[2001:db8:ee:1::2]:50002')).statusCode, 200);
    assert.equal((await viaProxy('[2001:db8:ee:1::3]:50003')).statusCode, 429, 'the /64, whatever the port');
  });
});

describe('rate-limit key: an IPv6 /64 is one address (TESSERA_RATE_LIMIT_IPV6_PREFIX)', () => {
  let app: App;
  let exact: App;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_RATE_LIMITS: 'token.ip=2/60s token.client=off registration.ip=2/60s',
      TESSERA_REGISTRATION: 'open',
    });
    exact = await testApp('sqlite::memory:', {
      TESSERA_RATE_LIMITS: 'token.ip=2/60s token.client=off',
      TESSERA_RATE_LIMIT_IPV6_PREFIX: '128',
    });
  });
  after(async () => {
    await app?.close();
    await exact?.close();
  });

  it('two addresses in one /64 share a limit; the next /64 has its own', async () => {
    assert.equal((await cc(app, 'svc', '2001:db8:aa:1::1')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '2001:db8:aa:1:ffff:ffff:ffff:fffe')).statusCode, 200);
    const refused = await cc(app, 'svc', '2001:db8:aa:1:1234::9');
    assert.equal(refused.statusCode, 429, 'a third address of the same /64 is over the limit of 2');
    assert.equal((await cc(app, 'svc', '2001:db8:aa:2::1')).statusCode, 200, 'the neighbouring /64 is another source');
  });

  it('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
    assert.equal((await cc(app, 'svc', '192.0.2.77')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '::ffff:192.0.2.77')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '192.0.2.77')).statusCode, 429);
  });

  it('NAT64, 6to4 and Teredo addresses count as the IPv4 host they stand for', async () => {
    // Two IPv4 clients behind one NAT64 translator (64:ff9b::/96) are two sources, not one /64.
    assert.equal((await cc(app, 'svc', '64:ff9b::198.51.100.30')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '64:ff9b::198.51.100.30')).statusCode, 200);
    assert.equal(
      (await cc(app, 'svc', '64:ff9b::198.51.100.31')).statusCode,
      200,
      'another IPv4 client of the translator has its own budget',
    );
    assert.equal((await cc(app, 'svc', '198.51.100.30')).statusCode, 429, 'the same IPv4 host');
    // One 6to4 host: its whole /48 and its IPv4 address are one source.
    assert.equal((await cc(app, 'svc', '2002:c633:6428::1')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '2002:c633:6428:ffff::2')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '198.51.100.40')).statusCode, 429);
    // Teredo: clients of one Teredo server (one /64) have their own budgets.
    assert.equal((await cc(app, 'svc', '2001:0:4136:e378:8000:63bf:399c:9bd7')).statusCode, 200);
    assert.equal((await cc(app, 'svc', '2001:0:4136:e378:8000:63bf:399c:9bd7')).statusCode, 200);
    assert.equal(
      (await cc(app, 'svc', '2001:0:4136:e378:8000:63bf:399c:9bd6')).statusCode,
      200,
      'another client of the same Teredo server',
    );
  });

  it('registration: the /64 shares one budget', async () => {
    const register = (ip: string) =>
      app.server.inject({
        method: 'POST',
        url: '/register',
        remoteAddress: ip,
        payload: JSON.stringify({ redirect_uris: ['https://rp.example/cb'] }),
        headers: { 'content-type': 'application/json' },
      });
    assert.equal((await register('2001:db8:bb:1::1')).statusCode, 201);
    assert.equal((await register('2001:db8:bb:1::2')).statusCode, 201);
    assert.equal((await register('2001:db8:bb:1::3')).statusCode, 429);
  });

  it('with a prefix of 128, every IPv6 address counts on its own', async () => {
    for (const ip of ['2001:db8:cc:1::1', '2001:db8:cc:1::2', '2001:db8:cc:1::3'])
      assert.equal((await cc(exact, 'svc', ip)).statusCode, 200, ip);
    assert.equal((await cc(exact, 'svc', '2001:db8:cc:1::1')).statusCode, 200);
    assert.equal((await cc(exact, 'svc', '2001:db8:cc:1::1')).statusCode, 429);
  });
});

describe('failed-login throttling under the rate limits: never a permanent lockout', () => {
  let app: App;
  let offset = 0;
  before(async () => {
    app = await testApp('sqlite::memory:', {
      TESSERA_LOGIN_MAX_FAILURES: '2',
      TESSERA_LOGIN_ACCOUNT_MAX_FAILURES: '3',
      TESSERA_LOGIN_WINDOW: '60',
    });
    // The protocol's clock, moved forward instead of waiting (the server reads p.now()).
    const real = app.provider.now;
    (app.provider as { now: () => number }).now = () => real() + offset;
  });
  after(async () => {
    await app?.close();
  });

  it('waits grow to TESSERA_LOGIN_WINDOW at most, and the owner gets in once the window passes', async () => {
    const submit = await loginForm(app, '100.64.3.1');
    const waits: number[] = [];
    let failures = 0;
    while (failures < 10) {
      const res = await submit('alice', 'wrong');
      if (res.statusCode === 429) {
        const wait = Number(res.headers['retry-after']);
        waits.push(wait);
        offset += wait; // wait it out, then fail again
      } else {
        assert.equal(res.statusCode, 400);
        failures++;
      }
    }
    assert.ok(waits.length >= 7, waits.join());
    assert.ok(
      waits.every((w) => w >= 1 && w <= 60),
      waits.join(),
    );
    assert.equal(Math.max(...waits), 60, 'the wait is capped at the window');
    // Right after the last failure even the right password waits; a window later it works.
    assert.equal((await submit('alice', 'correct horse battery')).statusCode, 429);
    offset += 61;
    const ok = await submit('alice', 'correct horse battery');
    assert.equal(ok.statusCode, 303, ok.body.slice(0, 300));
  });
});
