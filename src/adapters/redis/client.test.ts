// The Redis connection's deadlines and circuit breaker, against a private redis-server that the
// test makes slow (a Lua script that runs for a while) or hangs (SIGSTOP).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../../../test/fixtures/private-redis.ts';
import { BackendUnavailableError } from '../../ports/unavailable.ts';
import { openRedis, type BreakerState, type RedisConnection } from './client.ts';

// Keeps Redis busy for ARGV[1] ms, then answers.
const SLOW = `
local t = redis.call('TIME')
local start = t[1] * 1000 + t[2] / 1000
repeat t = redis.call('TIME') until t[1] * 1000 + t[2] / 1000 - start >= tonumber(ARGV[1])
return 1
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logged: { event?: string }[] = [];
/** Each test starts with a closed breaker, whatever the one before left. */
async function closed(conn: RedisConnection): Promise<void> {
  for (let i = 0; i < 100 && conn.breaker() !== 'closed'; i++) await sleep(50);
  assert.equal(conn.breaker(), 'closed');
}
const log = { info: (o: object) => logged.push(o), warn: (o: object) => logged.push(o) };

describe('Redis connection: one deadline per request, circuit breaker', { skip: privateRedisSkip() }, () => {
  let redis: PrivateRedis;
  let conn: RedisConnection;
  const states: BreakerState[] = [];
  before(async () => {
    redis = await startPrivateRedis({ persist: false });
    conn = await openRedis({ url: redis.url, cluster: false, prefix: 't:', timeout: 500 }, log, 5000, {
      breakerChanged: (s) => states.push(s),
    });
  });
  after(async () => {
    redis?.resume();
    await conn?.close();
    await redis?.close();
  });

  it('commands of one request share one deadline: of two taking 450 ms each, the second fails at about 500 ms in all', async () => {
    const request = {};
    const started = performance.now();
    await conn.scope(request, () => conn.run((c) => c.eval(SLOW, 0, 450)));
    await assert.rejects(
      conn.scope(request, () => conn.run((c) => c.eval(SLOW, 0, 450))),
      BackendUnavailableError,
    );
    // About 500 ms; more when this process was busy meanwhile (not counted), never past 1 s.
    const took = performance.now() - started;
    assert.ok(took >= 480 && took < 1100, `took ${took.toFixed(0)} ms`);
    // That timeout opened the breaker; it closes again once a probe is answered.
    assert.equal(conn.breaker() === 'closed', false);
    for (let i = 0; i < 40 && conn.breaker() !== 'closed'; i++) await sleep(50);
    assert.equal(conn.breaker(), 'closed');
    // (Redis was still busy with the script when the first probe went: it may have taken two.)
    assert.deepEqual([...new Set(states.splice(0))], ['open', 'half_open', 'closed']);
  });

  it('another request has a deadline of its own; commands outside a request each have one', async () => {
    await closed(conn);
    await conn.scope({}, () => conn.run((c) => c.eval(SLOW, 0, 300)));
    await conn.scope({}, () => conn.run((c) => c.eval(SLOW, 0, 300)));
    await conn.run((c) => c.eval(SLOW, 0, 300));
    await conn.run((c) => c.eval(SLOW, 0, 300));
    assert.equal(conn.breaker(), 'closed');
  });

  it('a hung Redis: the first command waits the deadline, then the breaker answers at once until Redis is back', async () => {
    await closed(conn);
    logged.length = 0;
    redis.pause();
    try {
      let started = performance.now();
      await assert.rejects(
        conn.run((c) => c.ping()),
        BackendUnavailableError,
      );
      const first = performance.now() - started;
      assert.ok(first >= 480 && first < 900, `first ${first.toFixed(0)} ms`);
      assert.equal(conn.ready(), false);
      started = performance.now();
      for (let i = 0; i < 20; i++)
        await assert.rejects(
          conn.run((c) => c.ping()),
          BackendUnavailableError,
        );
      assert.ok(performance.now() - started < 50, 'failed at once while open');
      await sleep(1500); // probes go unanswered meanwhile
      assert.notEqual(conn.breaker(), 'closed');
    } finally {
      redis.resume();
    }
    const resumed = performance.now();
    while (conn.breaker() !== 'closed') {
      assert.ok(performance.now() - resumed < 5000, 'closed within 5 s of the hang ending');
      await sleep(20);
    }
    assert.equal(await conn.run((c) => c.ping()), 'PONG');
    const events = logged.map((o) => o.event);
    assert.equal(events[0], 'redis_breaker_open');
    assert.ok(events.includes('redis_breaker_half_open'));
    assert.equal(events.at(-1), 'redis_breaker_closed');
    assert.ok(states.includes('open') && states.at(-1) === 'closed');
  });

  it('a busy event loop is not time waiting for Redis: a command answered while the loop was blocked succeeds', async () => {
    await closed(conn);
    const request = {};
    const pending = conn.scope(request, () => conn.run((c) => c.ping()));
    // Blocks the loop for 600 ms, longer than the deadline; Redis answered long before.
    const until = performance.now() + 600;
    while (performance.now() < until) {
      /* busy */
    }
    assert.equal(await pending, 'PONG');
    // And the request's budget was not spent by it (its wall-time limit, twice the deadline, was
    // not reached either).
    assert.equal(await conn.scope(request, () => conn.run((c) => c.eval(SLOW, 0, 250))), 1);
    assert.equal(conn.breaker(), 'closed');
  });
});
