import type { ReplayEpoch, ReplayEpochStore, ReplayStore } from '../../ports/replay.ts';
import { BackendUnavailableError } from '../../ports/unavailable.ts';
import { Cluster } from 'ioredis';
import type { RedisConnection, RedisLog } from './client.ts';

/**
 * Markers are spread over BUCKETS hash-tagged buckets (`<prefix>replay:{b<n>}:<key>`), each with
 * its epoch key (`<prefix>replay-epoch:{b<n>}`) in the same Redis Cluster slot, so one script
 * reads the epoch and writes the marker atomically on whichever node holds them.
 */
export const BUCKETS = 16;

// KEYS[1] marker, KEYS[2] its bucket's epoch, KEYS[3] (standalone Redis only) the marker's name
// before buckets (`<prefix>replay:<key>`), read too so an upgrade forgets nothing; ARGV expiry
// (epoch s), now, generation expected.
// {-1}: the epoch key is missing (Redis lost its data); {-2, g}: Redis holds a later generation
// (this process is behind). Otherwise the claim itself: {1} recorded, {0} a replay (a key whose
// stored expiry is still after `now`; the key is (re)written with its expiry, which Redis enforces).
const CLAIM = `
local g = redis.call('GET', KEYS[2])
if not g then return {-1} end
g = tonumber(g)
local want = tonumber(ARGV[3])
if g > want then return {-2, g} end
if g < want then redis.call('SET', KEYS[2], ARGV[3]) end
local v = redis.call('GET', KEYS[1])
if not v and KEYS[3] then v = redis.call('GET', KEYS[3]) end
if v and tonumber(v) > tonumber(ARGV[2]) then return {0} end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[1])
return {1}
`;
// Sets a bucket's epoch to ARGV[1] unless it holds a later one.
const RAISE = `
local g = redis.call('GET', KEYS[1])
if g and tonumber(g) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** FNV-1a of the key: its bucket. */
function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

export interface RedisReplayOptions {
  /** Where the epoch is kept (the database). */
  epochs: ReplayEpochStore;
  /**
   * How long after a loss artifacts made before it may still be accepted (the longest lifetime
   * accepted plus the clock skew), seconds: DPoP proofs need a server nonce meanwhile.
   */
  window: number;
  log?: RedisLog;
  /** Told each loss this process recorded (for metrics). */
  onLoss?(generation: number): void;
}

/**
 * The replay cache in Redis. Fails (BackendUnavailableError) when Redis is unreachable. A Redis
 * that restarted empty is seen by the first claim after it: its epoch keys are gone. The loss is
 * then recorded in the database (a new generation, dated with the database's clock), and
 * artifacts that may have been made before it are refused (they may have been claimed in the
 * markers lost); see docs/production.md.
 */
export function redisReplay(
  redis: RedisConnection,
  opts: RedisReplayOptions,
): ReplayStore & { load(): Promise<ReplayEpoch> } {
  const { epochs, window, log } = opts;
  const epochKey = (b: number) => `${redis.prefix}replay-epoch:{b${b}}`;
  // Markers written before buckets existed, in another slot on a Redis Cluster (not read there).
  const legacy = !(redis.client instanceof Cluster);
  let known: { generation: number; lostAt: number } | undefined;
  let loading: Promise<{ generation: number; lostAt: number }> | undefined;
  let recovering: Promise<void> | undefined;

  /** Sets every bucket's epoch to `generation` (those holding a later one keep it). */
  const raise = redis.script('replay_raise', RAISE);
  const claimScript = redis.script('replay_claim', CLAIM);
  const raiseAll = (generation: number) =>
    Promise.all(Array.from({ length: BUCKETS }, (_, b) => redis.run((c) => raise(c, [epochKey(b)], [generation]))));

  const load = () =>
    (loading ??= (async () => {
      try {
        const e = await epochs.read();
        // The first process to use this database with Redis starts the epoch: nothing is lost yet.
        if (e.created)
          await raiseAll(e.generation).catch(() => {
            /* a missing key is then taken as a loss */
          });
        if (!known || e.generation > known.generation) known = { generation: e.generation, lostAt: e.lostAt };
        return known;
      } finally {
        loading = undefined;
      }
    })());

  /** Records the loss seen while claiming with `seen`, once per process at a time. */
  const recover = (seen: number, atLeast: number) =>
    (recovering ??= (async () => {
      try {
        // Already moved past `seen` here: the retry with the newer generation decides.
        if (known && known.generation > seen) return;
        const e = await epochs.advance(seen, atLeast);
        if (e.advanced) {
          log?.warn(
            { event: 'replay_store_lost', generation: e.generation, lost_at: e.lostAt },
            'the Redis replay cache lost its markers (restarted empty?): artifacts issued before now are refused until they expire, DPoP proofs need a server nonce meanwhile',
          );
          opts.onLoss?.(e.generation);
        }
        known = { generation: e.generation, lostAt: e.lostAt };
        if (e.advanced) await raiseAll(e.generation);
      } finally {
        recovering = undefined;
      }
    })());

  const epochOf = (k: { generation: number; lostAt: number }, now: number): ReplayEpoch => ({
    generation: k.generation,
    lostAt: k.lostAt,
    recovering: k.lostAt > 0 && now < k.lostAt + window,
  });

  return {
    load: async () => epochOf(await load(), Math.floor(Date.now() / 1000)),
    epoch: (now) => (known ? epochOf(known, now) : undefined),
    async claim(key, expiresAt, now, issuedAt, madeIn) {
      if (key.length > 512) throw new Error('replay key longer than 512 characters');
      if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(now))
        throw new Error('replay expiry and time must be integers (epoch seconds)');
      // Already expired: nothing to remember (as the SQL store, a later claim succeeds again).
      if (expiresAt <= now) return true;
      const b = bucketOf(key);
      const marker = `${redis.prefix}replay:{b${b}}:${key}`;
      let e = known ?? (await load());
      for (let attempt = 0; attempt < 4; attempt++) {
        // Possibly made before the last loss (its iat less the skew is before it): it may have
        // been claimed in the markers lost, so it is refused as a replay would be.
        if (issuedAt !== undefined && madeIn !== e.generation && e.lostAt > 0 && issuedAt < e.lostAt) return false;
        const r = (await redis.run((c) =>
          legacy
            ? claimScript(c, [marker, epochKey(b), `${redis.prefix}replay:${key}`], [expiresAt, now, e.generation])
            : claimScript(c, [marker, epochKey(b)], [expiresAt, now, e.generation]),
        )) as number[];
        if (r[0] === 1) return true;
        if (r[0] === 0) return false;
        if (r[0] === -1) {
          await recover(e.generation, e.generation + 1);
        } else {
          // Redis is ahead of this process: another one recorded a loss. If the database is
          // behind Redis too (restored, or another database on the same prefix), that is a loss.
          const seen = await load();
          if (seen.generation < r[1]!) await recover(seen.generation, r[1]! + 1);
        }
        e = known!;
      }
      throw new BackendUnavailableError('Redis', new Error('the replay cache epoch kept changing'));
    },
  };
}
