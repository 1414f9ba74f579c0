// The replay cache on Redis (REDIS_URL), against the ReplayStore contract every backend shares.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRedis, type RedisConnection } from '../../src/adapters/redis/client.ts';
import { redisReplay } from '../../src/adapters/redis/replay.ts';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { sqlReplayEpoch } from '../../src/adapters/sql/replay-epoch.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { BackendUnavailableError } from '../../src/ports/unavailable.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';
import { replayContract } from './replay-contract.ts';

const redisUrl = await sharedRedis();

describe('replay store (Redis)', { skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)' }, () => {
  const prefix = uniquePrefix('replay');
  let redis: RedisConnection;
  let db: DatabaseHandle;
  let store: ReturnType<typeof redisReplay>;
  const replayOn = (r: RedisConnection) => redisReplay(r, { epochs: sqlReplayEpoch(db), window: 330 });
  before(async () => {
    db = await openDatabase(sqliteTempUrl());
    await migrate(db.db);
    redis = await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, pino({ level: 'silent' }));
    store = replayOn(redis);
  });
  after(async () => { await redis?.close(); await db?.close(); await deletePrefix(redisUrl!, prefix); });
  replayContract(() => store);

  it('stores a marker that Redis expires at the claimed expiry', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await store.claim('dpop:probe', now + 120, now), true);
    const [key] = await redis.client.keys(`${prefix}replay:{b*}:dpop:probe`);
    const ttl = await redis.client.ttl(key!);
    assert.ok(ttl > 100 && ttl <= 120, String(ttl));
  });

  it('refuses keys longer than 512 characters', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(store.claim('x'.repeat(513), now + 60, now));
  });

  it('fails with BackendUnavailableError, quickly, when Redis is unreachable', async () => {
    // A port nobody listens on: the connection never becomes ready.
    const dead = await openRedis({ url: 'redis://127.0.0.1:1', cluster: false, prefix, timeout: 200 }, pino({ level: 'silent' }), 100);
    try {
      const started = Date.now();
      const now = Math.floor(Date.now() / 1000);
      await assert.rejects(replayOn(dead).claim('k', now + 60, now), BackendUnavailableError);
      assert.ok(Date.now() - started < 1000);
    } finally {
      await dead.close();
    }
  });
});
