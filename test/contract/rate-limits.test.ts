// The rate-limit counters on every backend: in-process, and Redis (the shared 127.0.0.1:6379,
// under a key prefix of this run; required when CI is set).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { memoryRateLimits } from '../../src/adapters/memory/rate-limits.ts';
import { openRedis, type RedisConnection } from '../../src/adapters/redis/client.ts';
import { redisRateLimits } from '../../src/adapters/redis/rate-limits.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';
import { rateLimitContract } from './rate-limit-contract.ts';

const redisUrl = await sharedRedis();
const silent = pino({ level: 'silent' });

describe('rate-limit counters (in-process)', () => {
  const store = memoryRateLimits();
  after(() => store.close());
  rateLimitContract(() => store, { hitMany: false });

  it('bounds memory: past maxKeys the oldest windows are dropped', async () => {
    const small = memoryRateLimits({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) await small.hit(`k${i}`, 60_000);
    assert.ok(small.size() <= 100, String(small.size()));
    assert.equal((await small.hit('k999', 60_000)).count, 2); // the newest survive
    small.close();
  });
});

describe('rate-limit counters (Redis)', {
  skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)',
}, () => {
  const prefix = uniquePrefix('rl');
  let redis: RedisConnection;
  before(async () => {
    redis = await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, silent);
  });
  after(async () => {
    await redis?.close();
    await deletePrefix(redisUrl!, prefix);
  });
  rateLimitContract(() => redisRateLimits(redis));

  it('writes only under its prefix, with an expiry', async () => {
    await redisRateLimits(redis).hit('probe', 60_000);
    const keys = await redis.client.keys(`${prefix}*`);
    assert.ok(keys.length >= 1 && keys.every((k) => k.startsWith(`${prefix}rl:`)), keys.join());
    assert.ok((await redis.client.pttl(`${prefix}rl:probe`)) > 0);
  });
});
