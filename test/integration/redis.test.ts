// Tessera with REDIS_URL at the application level (buildApp + inject): the replay cache and the
// rate-limit counters move to Redis, and what happens while Redis is down. No endpoint on this
// branch claims replay markers yet (the features that will - DPoP, client assertions - are built
// elsewhere), so the replay path is exercised through app.stores.replay behind a route this test
// adds to the app's own server: the error handling, status and headers are the server's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/app.ts';
import { basic, testApp } from '../fixtures/app.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';

const redisUrl = await sharedRedis();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cc = (app: App, client = 'svc', ip = '198.51.100.1') =>
  app.server.inject({
    method: 'POST',
    url: '/token',
    remoteAddress: ip,
    payload: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client) },
  });

/** Adds POST /test/replay?jti=..., which claims `jti:<jti>` for 60 s through app.stores.replay. */
function addReplayRoute(app: App): void {
  app.server.post('/test/replay', async (req, reply) => {
    const jti = new URL(req.url, 'http://x').searchParams.get('jti')!;
    const now = app.provider.now();
    const fresh = await app.stores.replay.claim(`jti:${jti}`, now + 60, now);
    return reply
      .code(fresh ? 200 : 400)
      .send(fresh ? { accepted: true } : { error: 'invalid_request', error_description: 'replayed' });
  });
}

describe('REDIS_URL: shared Redis backends', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('app');
  const env = { REDIS_URL: redisUrl!, TESSERA_REDIS_PREFIX: prefix, TESSERA_RATE_LIMITS: 'token.client=6/60s' };
  let a: App;
  let b: App;
  before(async () => {
    a = await testApp('sqlite::memory:', env);
    b = await testApp('sqlite::memory:', env);
    addReplayRoute(a);
    addReplayRoute(b);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await deletePrefix(redisUrl!, prefix);
  });

  it('keeps replay markers in Redis, shared by every instance', async () => {
    const jti = randomUUID();
    assert.equal((await a.server.inject({ method: 'POST', url: `/test/replay?jti=${jti}` })).statusCode, 200);
    // The two apps have separate databases: only Redis can have told b.
    assert.equal(
      (await b.server.inject({ method: 'POST', url: `/test/replay?jti=${jti}` })).statusCode,
      400,
      'a replay at another instance is refused',
    );
    assert.equal((await a.redis!.client.keys(`${prefix}replay:{b*}:jti:${jti}`)).length, 1);
  });

  it('counts rate limits in Redis: two instances share one budget', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await cc(i % 2 ? b : a)).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
  });

  it('reports Redis in /ready', async () => {
    const ready = await a.server.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().checks.redis, 'ok');
  });
});

describe('REDIS_URL: while Redis is down', { skip: privateRedisSkip() }, () => {
  let redis: PrivateRedis;
  let app: App;
  before(async () => {
    redis = await startPrivateRedis();
    app = await testApp('sqlite::memory:', {
      REDIS_URL: redis.url,
      TESSERA_REDIS_TIMEOUT: '300',
      TESSERA_RATE_LIMITS: 'token.client=4/60s',
    });
    addReplayRoute(app);
  });
  after(async () => {
    await app?.close();
    await redis?.close();
  });

  it('replay checks fail closed with 503 temporarily_unavailable and Retry-After; rate limits fall back to the process; /ready says so; all recover without a restart', async () => {
    const before = randomUUID();
    assert.equal((await app.server.inject({ method: 'POST', url: `/test/replay?jti=${before}` })).statusCode, 200);
    assert.equal((await cc(app)).statusCode, 200);

    await redis.stop();
    const started = Date.now();
    for (const jti of [randomUUID(), before, before]) {
      const res = await app.server.inject({ method: 'POST', url: `/test/replay?jti=${jti}` });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error, 'temporarily_unavailable');
      assert.equal(res.headers['retry-after'], '2');
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    assert.ok(Date.now() - started < 3000, 'no request hangs');
    const ready = await app.server.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().checks.redis, 'unreachable');
    // The limiter counts in the process: requests go on, and the limit still bounds them.
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await cc(app)).statusCode);
    assert.deepEqual(codes, [200, 200, 200, 200, 429, 429]);

    await redis.start();
    const deadline = Date.now() + 10_000;
    while ((await app.server.inject({ url: '/ready' })).statusCode !== 200) {
      assert.ok(Date.now() < deadline, '/ready did not recover within 10 s');
      await sleep(100);
    }
    // Markers written before the outage are still there (Redis persists them), new ones work.
    assert.equal((await app.server.inject({ method: 'POST', url: `/test/replay?jti=${before}` })).statusCode, 400);
    const after = randomUUID();
    assert.equal((await app.server.inject({ method: 'POST', url: `/test/replay?jti=${after}` })).statusCode, 200);
    assert.equal((await app.server.inject({ method: 'POST', url: `/test/replay?jti=${after}` })).statusCode, 400);
    // Counting is back in Redis, where the window from before the outage (1 hit) still runs.
    const back = await cc(app);
    assert.equal(back.statusCode, 200);
    assert.match(String(back.headers.ratelimit), /"token.client";r=2;/);
  });
});
