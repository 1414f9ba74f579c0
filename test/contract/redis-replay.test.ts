// The replay cache on Redis (REDIS_URL), against the ReplayStore contract every backend shares.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRedis, type RedisConnection } from '../../src/adapters/redis/client.ts';
import { redisReplay } from '../../src/adapters/redis/replay.ts';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { sqlReplayEpoch } from '../../src/adapters/sql/replay-epoch.ts';
import { createPgDatabase, sqliteTempUrl } from '../fixtures/db.ts';
import { BackendUnavailableError } from '../../src/ports/unavailable.ts';
import { deletePrefix, sharedRedis, uniquePrefix } from '../fixtures/redis.ts';
import { replayContract } from './replay-contract.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';

const redisUrl = await sharedRedis();

describe('replay store (Redis)', { skip: redisUrl ? false : 'Redis unreachable (set CI=true to require it)' }, () => {
  const prefix = uniquePrefix('replay');
  let redis: RedisConnection;
  let db: DatabaseHandle;
  let store: ReturnType<typeof redisReplay>;
  const replayOn = (r: RedisConnection) => redisReplay(r, { epochs: sqlReplayEpoch(db), window: 330 });
  before(async () => {
    db = await openDatabase(sqliteTempUrl());
    await migrate(db.db, usernameKeys);
    redis = await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, pino({ level: 'silent' }));
    store = replayOn(redis);
  });
  after(async () => {
    await redis?.close();
    await db?.close();
    await deletePrefix(redisUrl!, prefix);
  });
  replayContract(() => store);

  it('stores a marker that Redis expires at the claimed expiry', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await store.claim('dpop:probe', now + 120, now), true);
    const [key] = await redis.client.keys(`${prefix}replay:{b*}:dpop:probe`);
    const ttl = await redis.client.ttl(key!);
    assert.ok(ttl > 100 && ttl <= 120, String(ttl));
  });

  it('reads a marker written before buckets existed (<prefix>replay:<key>), so an upgrade forgets nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    await redis.client.set(`${prefix}replay:dpop:old`, String(now + 60), 'EXAT', now + 60);
    assert.equal(await store.claim('dpop:old', now + 60, now), false);
    await redis.client.set(`${prefix}replay:dpop:old-expired`, String(now - 1));
    assert.equal(await store.claim('dpop:old-expired', now + 60, now), true);
  });

  it('refuses keys longer than 512 characters', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(store.claim('x'.repeat(513), now + 60, now));
  });

  it('fails with BackendUnavailableError, quickly, when Redis is unreachable', async () => {
    // A port nobody listens on: the connection never becomes ready.
    const dead = await openRedis(
      { url: 'redis://127.0.0.1:1', cluster: false, prefix, timeout: 200 },
      pino({ level: 'silent' }),
      100,
    );
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

// The epoch in the database: a Redis that lost the markers under this prefix (keys deleted here, as
// a restart without persistence loses them) is found by the next claim, on either database.
const pgDb = await createPgDatabase();
for (const backend of [
  { name: 'SQLite', url: sqliteTempUrl() },
  { name: 'PostgreSQL', url: pgDb?.url },
]) {
  describe(`replay store (Redis): markers lost, epoch in ${backend.name}`, {
    skip: !redisUrl ? 'Redis unreachable' : !backend.url ? 'PostgreSQL unreachable (set CI=true to require it)' : false,
  }, () => {
    const prefix = uniquePrefix('epoch');
    let redis: RedisConnection;
    let db: DatabaseHandle;
    const replayOn = () => redisReplay(redis, { epochs: sqlReplayEpoch(db), window: 330 });
    const wipe = async () => {
      const keys = await redis.client.keys(`${prefix}*`);
      if (keys.length) await redis.client.del(...keys);
    };
    before(async () => {
      db = await openDatabase(backend.url!);
      await migrate(db.db, usernameKeys);
      redis = await openRedis({ url: redisUrl!, cluster: false, prefix, timeout: 1000 }, pino({ level: 'silent' }));
    });
    after(async () => {
      await redis?.close();
      await db?.close();
      await deletePrefix(redisUrl!, prefix);
      if (backend.name === 'PostgreSQL') await pgDb?.drop();
    });

    it('the first claim after the loss finds it: what may have been made before is refused, what is newer is accepted once', async () => {
      const store = replayOn();
      const other = replayOn(); // another process, on the same database and Redis
      const now = Math.floor(Date.now() / 1000);
      const before = await store.load();
      assert.equal(before.recovering, false);
      assert.equal((await other.load()).generation, before.generation);
      assert.equal(await store.claim('a', now + 60, now, now - 5), true);
      assert.equal(await other.claim('b', now + 60, now, now - 5), true);

      await wipe();
      // Replays of artifacts claimed before: refused, though Redis no longer has their markers.
      assert.equal(await store.claim('a', now + 60, now, now - 5), false);
      const lost = store.epoch!(now)!;
      assert.equal(lost.generation, before.generation + 1);
      assert.ok(lost.recovering);
      assert.ok(Math.abs(lost.lostAt - now) <= 2, `lost at ${lost.lostAt}, now ${now}`);
      // The other process learns it from Redis at its next claim, without recording a new loss.
      assert.equal(await other.claim('b', now + 60, now, now - 5), false);
      assert.equal(other.epoch!(now)!.generation, lost.generation);
      // Made after the loss (by its date, or known by the generation it was made in): accepted once.
      assert.equal(await other.claim('c', now + 60, now, lost.lostAt), true);
      assert.equal(await store.claim('c', now + 60, now, lost.lostAt), false);
      assert.equal(await store.claim('d', now + 60, now, now - 5, lost.generation), true);
      assert.equal(await other.claim('d', now + 60, now, now - 5, lost.generation), false);
      // Not dated: a marker of the server's own (authorization code reuse): claimed as usual.
      assert.equal(await store.claim('e', now + 60, now), true);
      assert.equal(await store.claim('e', now + 60, now), false);
      // Once the window has passed, nothing needs a nonce; what predates the loss stays refused.
      assert.equal(store.epoch!(lost.lostAt + 331)!.recovering, false);
      assert.equal(await store.claim('f', now + 60, now, lost.lostAt - 1), false);
    });

    it('parallel claims right after a loss record it once and accept each new key once', async () => {
      const store = replayOn();
      const now = Math.floor(Date.now() / 1000);
      const before = await store.load();
      await wipe();
      const keys = Array.from({ length: 20 }, (_, i) => `p${i % 10}`);
      const results = await Promise.all(keys.map((k) => store.claim(k, now + 60, now, now + 30)));
      assert.equal(results.filter(Boolean).length, 10);
      assert.equal(store.epoch!(now)!.generation, before.generation + 1);
    });
  });
}
