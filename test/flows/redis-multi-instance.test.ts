// Two Tessera processes (two ports) on one PostgreSQL database and one Redis, as two instances
// behind a load balancer would run: a rate limit is one budget across both.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPgDatabase } from '../fixtures/db.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SECRET = 'multi-service-secret-0123456789-abcdefgh';
const basic = `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`;
const pg = await createPgDatabase();
const skip = privateRedisSkip() || (pg ? false : 'PostgreSQL unreachable (set CI=true to require it)');

describe('two instances on one PostgreSQL and one Redis', { skip }, () => {
  let redis: PrivateRedis;
  const servers: RunningServer[] = [];
  before(async () => {
    redis = await startPrivateRedis();
    const opts = {
      databaseUrl: pg!.url,
      env: { REDIS_URL: redis.url, TESSERA_RATE_LIMITS: 'token.client=10/60s' },
      bootstrap: {
        clients: [
          {
            client_id: 'svc',
            client_secret: SECRET,
            grant_types: ['client_credentials'],
            scope: 'api',
            redirect_uris: [],
          },
        ],
      },
    };
    // One after the other: the first migrates the new database.
    servers.push(await startServer(opts));
    servers.push(await startServer(opts));
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await redis?.close();
    await pg?.drop();
  });

  it('enforces a rate limit across both instances as one budget', { timeout: 30_000 }, async () => {
    assert.notEqual(servers[0]!.port, servers[1]!.port);
    // 40 requests, one after the other, alternating between the instances (in parallel, one
    // instance can win every race on a loaded machine, which says nothing about the budget).
    const results: { instance: number; status: number; remaining: string | undefined }[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${servers[i % 2]!.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      results.push({
        instance: i % 2,
        status: res.status,
        remaining: /"token.client";r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1],
      });
    }
    assert.equal(results.filter((r) => r.status === 200).length, 10, JSON.stringify(results));
    assert.equal(results.filter((r) => r.status === 429).length, 30);
    // Both instances served five of the ten, and their RateLimit fields count down one budget.
    const served = results.filter((r) => r.status === 200);
    assert.ok(served.some((r) => r.instance === 0) && served.some((r) => r.instance === 1), JSON.stringify(served));
    assert.deepEqual(
      served.map((r) => Number(r.remaining)).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    // And the next request at either instance is refused too.
    for (const s of servers) {
      const res = await fetch(`${s.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
  });
});
