// The Redis rate-limit counters' batching: the hits asked in one turn of the event loop go out as
// one script call (counted here by wrapping the connection's script), each caller gets its own
// exact counts, a call counts at most `max` keys, a failed call fails (and, behind withFallback,
// counts locally) each of its hits, and a hung Redis fails each caller within its deadline.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../../../test/fixtures/private-redis.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../../../test/fixtures/redis.ts';
import { BackendUnavailableError } from '../../ports/unavailable.ts';
import { memoryRateLimits } from '../memory/rate-limits.ts';
import { openRedis, type RedisConnection } from './client.ts';
import { HIT_BATCH_MAX, RESERVATIONS_MAX, redisRateLimits, withFallback } from './rate-limits.ts';

const silent = pino({ level: 'silent' });
const redisUrl = await sharedRedis();
const key = () => `test:${randomUUID()}`;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** `conn` with its script calls recorded: the number of keys of each, in the order sent. */
function counting(conn: RedisConnection): { conn: RedisConnection; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    conn: {
      ...conn,
      script(name, lua) {
        const call = conn.script(name, lua);
        return (c, keys, args) => {
          calls.push(keys.length);
          return call(c, keys, args);
        };
      },
    },
  };
}

describe('Redis rate-limit counters: one script call per turn', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('rlbatch');
  let redis: RedisConnection;
  before(async () => {
    redis = await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, silent);
  });
  after(async () => {
    await redis?.close();
    await deletePrefix(redisUrl!, prefix);
  });

  it('the hits of one turn (hit and hitMany, from many callers) go out as one call, each with its exact count', async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    const k = key();
    const other = key();
    const single = Array.from({ length: 10 }, () => store.hit(k, 60_000));
    const many = Array.from({ length: 5 }, () =>
      store.hitMany!([
        { key: k, windowMs: 60_000 },
        { key: other, windowMs: 30_000 },
      ]),
    );
    const ones = await Promise.all(single);
    const pairs = await Promise.all(many);
    assert.deepEqual(calls, [20]);
    // Each of the 15 hits of k has its own count, 1..15 once each; other's five 1..5.
    assert.deepEqual(sorted([...ones.map((h) => h.count), ...pairs.map((p) => p[0]!.count)]), oneTo(15));
    assert.deepEqual(sorted(pairs.map((p) => p[1]!.count)), oneTo(5));
    for (const p of pairs) assert.ok(p[1]!.resetMs > 29_000 && p[1]!.resetMs <= 30_000, String(p[1]!.resetMs));
    // The next turn is another call.
    assert.equal((await store.hit(k, 60_000)).count, 16);
    assert.deepEqual(calls, [20, 1]);
  });

  it("each caller gets the answers in its own places: another caller's hits of the same key only move its count by theirs", async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    const x = key();
    const y = key();
    const [a, b, c] = await Promise.all([
      store.hit(x, 60_000),
      store.hitMany!([
        { key: y, windowMs: 60_000 },
        { key: x, windowMs: 60_000 },
        { key: x, windowMs: 60_000 },
      ]),
      store.hit(y, 60_000),
    ]);
    assert.deepEqual(calls, [5]);
    assert.equal(a.count, 1);
    assert.deepEqual(
      b.map((h) => h.count),
      [1, 2, 3],
    );
    assert.equal(c.count, 2);
  });

  it("a call counts at most max keys, and one caller's hits stay in one call", async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn, 4);
    const hits = (n: number) => Array.from({ length: n }, () => ({ key: key(), windowMs: 60_000 }));
    const results = await Promise.all([
      store.hit(key(), 60_000).then((h) => [h]),
      store.hitMany!(hits(3)),
      store.hitMany!(hits(2)),
      store.hit(key(), 60_000).then((h) => [h]),
      store.hitMany!(hits(5)), // more than max alone: split
    ]);
    assert.deepEqual(calls, [4, 3, 4, 1]);
    assert.deepEqual(
      results.map((r) => r.map((h) => h.count)),
      [[1], [1, 1, 1], [1, 1], [1], [1, 1, 1, 1, 1]],
    );
  });

  it(`a turn of more than ${HIT_BATCH_MAX} hits of one key: several calls, the counts still 1..N once each`, async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    const k = key();
    const results = await Promise.all(Array.from({ length: 1200 }, () => store.hit(k, 60_000)));
    assert.deepEqual(calls, [HIT_BATCH_MAX, HIT_BATCH_MAX, 1200 - 2 * HIT_BATCH_MAX]);
    assert.deepEqual(sorted(results.map((r) => r.count)), oneTo(1200));
  });

  it("a reservation: one INCRBY for `ahead` counts after a key's first hit, handed out in order and synchronously; hits that come meanwhile wait for it once", async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    const k = key();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.hit(k, 60_000, 8)));
    // The first hit alone (1) and a reservation (2..9) in one call; seven of the hits waiting for
    // it take 3..9, and the other eleven are counted one by one in the next call.
    assert.deepEqual(calls.splice(0), [2, 11]);
    assert.deepEqual(sorted(results.map((h) => h.count)), oneTo(20));
    assert.equal(store.reserved(k), undefined);
    // The next hit reserves 21..28, and the rest of it is taken without asking Redis.
    assert.equal((await store.hit(k, 60_000, 8)).count, 21);
    assert.deepEqual(calls.splice(0), [1]);
    const left = Array.from({ length: 8 }, () => store.reserved(k));
    assert.deepEqual(
      left.map((h) => h?.count),
      [22, 23, 24, 25, 26, 27, 28, undefined],
    );
    for (const h of left.slice(0, 7)) assert.ok(h!.resetMs > 59_000 && h!.resetMs <= 60_000, String(h!.resetMs));
    assert.equal(await redis.client.get(`${prefix}rl:${k}`), '28');
    assert.equal(store.reserved(key()), undefined);
    assert.deepEqual(calls, []);
    // Another process's counts start after this one's reservation.
    assert.equal((await redisRateLimits(conn).hit(k, 60_000, 8)).count, 29);
  });

  it(`remembers at most ${RESERVATIONS_MAX} keys: a flood of keys hit once reserves nothing and goes first; then the least recently renewed`, async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    const hot = key();
    await store.hit(hot, 60_000, 4);
    assert.equal((await store.hit(hot, 60_000, 4)).count, 2); // reserves 2..5
    const flood = Array.from({ length: RESERVATIONS_MAX + 10 }, () => key());
    for (let i = 0; i < flood.length; i += 500)
      await Promise.all(flood.slice(i, i + 500).map((k) => store.hit(k, 60_000, 4)));
    // Every made-up key was counted by 1, and the hot key's reservation survived them.
    const values = await redis.client.mget(flood.slice(0, 50).map((k) => `${prefix}rl:${k}`));
    assert.ok(
      values.every((v) => v === '1'),
      values.join(),
    );
    assert.equal(store.reserved(hot)?.count, 3);
    // Keys that all hold reservations: past the bound the least recently renewed tenth is dropped.
    const other = redisRateLimits(conn);
    const held = Array.from({ length: RESERVATIONS_MAX }, () => key());
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < held.length; i += 500)
        await Promise.all(held.slice(i, i + 500).map((k) => other.hit(k, 60_000, 4)));
    assert.equal(other.reserved(held[0]!)?.count, 3);
    await other.hit(key(), 60_000, 4);
    calls.length = 0;
    assert.equal(other.reserved(held[0]!), undefined);
    assert.equal(other.reserved(held[RESERVATIONS_MAX / 10 - 1]!), undefined);
    assert.equal(other.reserved(held[RESERVATIONS_MAX / 10]!)?.count, 3);
    assert.equal(other.reserved(held.at(-1)!)?.count, 3);
    assert.deepEqual(calls, []);
  });

  it('a failed call fails each of its callers; behind withFallback every hit is counted locally and told once', async () => {
    const { conn, calls } = counting(redis);
    const bad = key();
    // A key that is no counter makes the script fail (INCR of a hash).
    await redis.client.hset(`${prefix}rl:${bad}`, 'f', 'v');
    const store = redisRateLimits(conn);
    const direct = await Promise.allSettled([
      store.hit(key(), 60_000),
      store.hitMany!([
        { key: key(), windowMs: 60_000 },
        { key: bad, windowMs: 60_000 },
      ]),
    ]);
    assert.deepEqual(calls.splice(0), [3]);
    for (const r of direct) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof BackendUnavailableError);
    }

    let told = 0;
    const local = memoryRateLimits();
    const fallback = withFallback(conn, store, local, () => told++);
    const counted = await Promise.all([
      fallback.hit(key(), 60_000).then((h) => [h]),
      fallback.hitMany!([
        { key: key(), windowMs: 60_000 },
        { key: bad, windowMs: 60_000 },
      ]),
      fallback.hit(key(), 60_000).then((h) => [h]),
    ]);
    local.close();
    assert.deepEqual(calls, [4]);
    assert.equal(told, 4);
    assert.deepEqual(
      counted.map((r) => r.map((h) => h.count)),
      [[1], [1, 1], [1]],
    );
  });
});

describe('Redis rate-limit counters: a hung Redis', { skip: privateRedisSkip() }, () => {
  let priv: PrivateRedis;
  let redis: RedisConnection;
  before(async () => {
    priv = await startPrivateRedis({ persist: false });
    redis = await openRedis({ url: priv.url, cluster: false, prefix: 't:', timeout: 300 }, silent, 5000);
  });
  after(async () => {
    priv?.resume();
    await redis?.close();
    await priv?.close();
  });

  it("fails each caller of a turn's call within its own deadline, and sends nothing more while the breaker is open", async () => {
    const { conn, calls } = counting(redis);
    const store = redisRateLimits(conn);
    assert.equal((await store.hit('warm', 60_000, 4)).count, 1);
    await store.hit('held', 60_000, 4);
    assert.equal((await store.hit('held', 60_000, 4)).count, 2);
    calls.length = 0;
    priv.pause();
    try {
      const started = performance.now();
      // Five keys counted one by one, and 30 hits of a key that reserves: one of them asks for the
      // reservation, the others wait for it once and are then not queued behind another.
      const settled = await Promise.allSettled([
        ...Array.from({ length: 5 }, (_, i) => redis.scope({}, () => store.hit(`k${i}`, 60_000))),
        ...Array.from({ length: 30 }, () => redis.scope({}, () => store.hit('warm', 60_000, 4))),
      ]);
      const took = performance.now() - started;
      assert.deepEqual(calls.splice(0), [6]);
      for (const r of settled) {
        assert.equal(r.status, 'rejected');
        assert.ok((r as PromiseRejectedResult).reason instanceof BackendUnavailableError);
      }
      assert.ok(took >= 280 && took < 700, `took ${took.toFixed(0)} ms`);
      // The timeout opened the breaker: the next hits fail at once, joining no call.
      const at = performance.now();
      await assert.rejects(store.hitMany!([{ key: 'a', windowMs: 60_000 }]), BackendUnavailableError);
      assert.ok(performance.now() - at < 50);
      let told = 0;
      const local = memoryRateLimits();
      const counted = await withFallback(conn, store, local, () => told++).hitMany!([
        { key: 'a', windowMs: 60_000 },
        { key: 'b', windowMs: 60_000 },
      ]);
      local.close();
      assert.deepEqual(
        counted.map((h) => h.count),
        [1, 1],
      );
      assert.equal(told, 2);
      // Counts reserved before Redis hung are still this process's own.
      assert.equal(withFallback(conn, store, local, () => told++).reserved?.('held')?.count, 3);
      assert.deepEqual(calls, []);
    } finally {
      priv.resume();
    }
  });
});
