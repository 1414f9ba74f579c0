// A Redis outage under load, against the real server (a child process) using a private
// redis-server that this test stops and starts again. Expected (docs/production.md): no request
// fails or hangs (the token endpoint's rate limits fall back to the process and still bound it),
// /ready answers 503 with redis: unreachable while Redis is down and 200 again after, and the
// server recovers by itself without a restart. The replay cache's behaviour during an outage
// (503, nothing accepted) is tested at the application level in test/integration/redis.test.ts,
// because no endpoint on this branch claims replay markers yet.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { startServer, type RunningServer } from '../fixtures/server.ts';

const SVC = 'fault-service-secret-0123456789-abcdefgh';
const RS = 'fault-resource-secret-0123456789-abcdefg';
const auth = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis outage under load (real server, private Redis)', { skip: privateRedisSkip() }, () => {
  let redis: PrivateRedis;
  let server: RunningServer;
  before(async () => {
    redis = await startPrivateRedis();
    server = await startServer({
      env: {
        REDIS_URL: redis.url,
        TESSERA_REDIS_TIMEOUT: '300',
        TESSERA_RATE_LIMITS: 'introspection.client=5/60s token.ip=1000000/60s token.client=1000000/60s',
      },
      bootstrap: {
        clients: [
          {
            client_id: 'svc',
            client_secret: SVC,
            grant_types: ['client_credentials'],
            scope: 'api',
            redirect_uris: [],
          },
          { client_id: 'rs', client_secret: RS, grant_types: ['client_credentials'], scope: '', redirect_uris: [] },
        ],
      },
    });
  });
  after(async () => {
    await server?.stop();
    await redis?.close();
  });

  const ready = async () => {
    const res = await fetch(`${server.issuer}/ready`, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };
  const introspect = async (token: string) =>
    (
      await fetch(`${server.issuer}/introspect`, {
        method: 'POST',
        headers: { authorization: auth('rs', RS), 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
        signal: AbortSignal.timeout(3000),
      })
    ).status;

  it('keeps serving through the outage, reports it in /ready, and recovers without a restart', {
    timeout: 45_000,
  }, async () => {
    const statuses = new Map<string, number>();
    let stop = false;
    let token = '';
    // Bounded load: four concurrent loops of client-credentials requests (about 40 per second
    // each), every request with a deadline.
    const worker = async () => {
      while (!stop) {
        let key: string;
        try {
          const res = await fetch(`${server.issuer}/token`, {
            method: 'POST',
            headers: { authorization: auth('svc', SVC), 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials',
            signal: AbortSignal.timeout(5000),
          });
          key = String(res.status);
          const body = (await res.json()) as { access_token?: string };
          if (body.access_token) token = body.access_token;
        } catch (err) {
          key = (err as Error).name; // TimeoutError: a hang; anything else: a broken connection
        }
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        await sleep(25);
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    try {
      await sleep(800);
      assert.equal((await ready()).status, 200);
      // The limit counts in Redis: 5 pass, then 429.
      const before = [];
      for (let i = 0; i < 6; i++) before.push(await introspect(token));
      assert.deepEqual(before, [200, 200, 200, 200, 200, 429]);

      await redis.stop();
      const down = await ready();
      assert.equal(down.status, 503);
      assert.equal(down.body.checks.redis, 'unreachable');
      assert.equal(down.body.checks.database, 'ok');
      await sleep(1500); // load goes on without Redis
      // Counted in the process meanwhile: the limit still bounds this instance.
      const during = [];
      for (let i = 0; i < 6; i++) during.push(await introspect(token));
      assert.deepEqual(during, [200, 200, 200, 200, 200, 429]);
      assert.equal((await ready()).status, 503);

      await redis.start();
      const deadline = Date.now() + 15_000;
      while ((await ready()).status !== 200) {
        assert.ok(Date.now() < deadline, '/ready did not recover within 15 s of Redis coming back');
        await sleep(200);
      }
      assert.equal((await ready()).body.checks.redis, 'ok');
      // Back on the Redis counters, whose window from before the outage still runs.
      assert.equal(await introspect(token), 429);
      await sleep(800);
    } finally {
      stop = true;
      await load;
    }
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 50, `load ran (${total} requests)`);
    assert.deepEqual(
      [...statuses.keys()],
      ['200'],
      `every token request succeeded: ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.doesNotMatch(server.output(), /tessera exited/, 'the server was never restarted');
    await server.waitForOutput(/redis_unavailable/);
  });
});
