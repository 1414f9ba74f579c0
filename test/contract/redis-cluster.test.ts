// TESSERA_REDIS_CLUSTER: the replay cache and rate-limit counters against a real three-node Redis
// Cluster (private redis-server processes, slots spread by redis-cli --cluster create), through
// the same contracts as standalone Redis. Keys land on every node, so the scripts are proven to
// run as single-key operations wherever their slot lives.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { openRedis, type RedisConnection } from '../../src/adapters/redis/client.ts';
import { redisRateLimits } from '../../src/adapters/redis/rate-limits.ts';
import { redisReplay } from '../../src/adapters/redis/replay.ts';
import { openDatabase, type DatabaseHandle } from '../../src/adapters/sql/database.ts';
import { migrate } from '../../src/adapters/sql/migrations/index.ts';
import { sqlReplayEpoch } from '../../src/adapters/sql/replay-epoch.ts';
import { sqliteTempUrl } from '../fixtures/db.ts';
import { privateRedisSkip, startPrivateRedis, type PrivateRedis } from '../fixtures/private-redis.ts';
import { uniquePrefix } from '../fixtures/redis.ts';
import { rateLimitContract } from './rate-limit-contract.ts';
import { replayContract } from './replay-contract.ts';
import { usernameKeys } from '../../src/accounts/usernames.ts';

const run = promisify(execFile);
const REDIS_CLI = '/usr/bin/redis-cli';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis Cluster (TESSERA_REDIS_CLUSTER)', { skip: privateRedisSkip(), timeout: 60_000 }, () => {
  const nodes: PrivateRedis[] = [];
  let redis: RedisConnection;
  let db: DatabaseHandle;
  let replay: ReturnType<typeof redisReplay>;
  before(async () => {
    db = await openDatabase(sqliteTempUrl());
    await migrate(db.db, usernameKeys);
    for (let i = 0; i < 3; i++)
      nodes.push(await startPrivateRedis({ args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'] }));
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 20_000 },
    );
    for (let i = 0; ; i++) {
      const { stdout } = await run(REDIS_CLI, ['-p', String(nodes[0]!.port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (i > 100) throw new Error(`cluster did not become ready:\n${stdout}`);
      await sleep(100);
    }
    // One seed node is enough; the others are discovered.
    redis = await openRedis(
      { url: nodes[0]!.url, cluster: true, prefix: uniquePrefix('cluster'), timeout: 1000 },
      pino({ level: 'silent' }),
      5000,
    );
    replay = redisReplay(redis, { epochs: sqlReplayEpoch(db), window: 330 });
  });
  after(async () => {
    await redis?.close();
    await db?.close();
    for (const n of nodes) await n.close();
  });

  it('connects through one seed node and reports ready', async () => {
    assert.equal(redis.ready(), true);
    await redis.ping();
  });
  describe('replay store', () => replayContract(() => replay));
  describe('rate-limit counters', () => rateLimitContract(() => redisRateLimits(redis)));

  it('spreads keys over every node', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 60; i++) await replay.claim(`spread:${i}`, now + 60, now);
    const sizes = await Promise.all(
      nodes.map(async (n) => Number((await run(REDIS_CLI, ['-p', String(n.port), 'dbsize'])).stdout.trim())),
    );
    assert.ok(
      sizes.every((s) => s > 0),
      sizes.join(),
    );
  });
});
