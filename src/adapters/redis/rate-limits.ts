import type { RateLimitStore } from '../../ports/rate-limits.ts';
import { Cluster } from 'ioredis';
import type { RedisConnection } from './client.ts';

// One atomic script per call (the hits of a turn, see redisRateLimits): for each key (its window in
// the same place of ARGV), count, and start the window (its expiry) on the first hit; the counts
// and times left in pairs.
const HIT = `
local out = {}
for i, k in ipairs(KEYS) do
  local c = redis.call('INCR', k)
  local t = redis.call('PTTL', k)
  if t < 0 then
    redis.call('PEXPIRE', k, ARGV[i])
    t = tonumber(ARGV[i])
  end
  out[2 * i - 1] = c
  out[2 * i] = t
end
return out
`;

/** Most keys one script call counts: the hits of a larger turn go in further calls. */
export const HIT_BATCH_MAX = 512;

type Hit = { count: number; resetMs: number };
/** The hits of one caller (one `hit`, or one `hitMany`: a request's rules) waiting for the turn's script call. */
interface Waiting {
  hits: readonly { key: string; windowMs: number }[];
  resolve: (counts: Hit[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Rate-limit counters in Redis (`<prefix>rl:<key>`), shared by every process and instance.
 *
 * The hits asked for in one turn of the event loop (the requests read from the sockets that were
 * ready together) are counted by one script call, as the SQL side batches its lookups
 * (sql/batched-lookups.ts): one write and one read on the socket, and one answer for ioredis to
 * parse, instead of one of each per request. The script counts its keys one after the other, so a
 * key asked for several times in one call gets the next count each time, and each caller is given
 * the answers in its own places of the call, whatever the others asked. A call counts at most
 * `max` keys; a caller's hits never straddle two calls (unless they alone pass `max`), so one
 * request's rules are counted together.
 * Each caller waits through `redis.run` with its own request's deadline: a hung Redis fails each
 * caller when its own deadline is spent, and a caller whose deadline is already spent (or whose
 * breaker is open) joins no call. A failed call fails each of its callers.
 *
 * In a cluster a script's keys must share a slot, and a request's client and address keys do not:
 * there each key is counted by a script call of its own, at once.
 */
export function redisRateLimits(redis: RedisConnection, max = HIT_BATCH_MAX): RateLimitStore {
  const script = redis.script('rate_hit', HIT);
  const keyOf = (key: string) => `${redis.prefix}rl:${key}`;
  if (redis.client instanceof Cluster) {
    const hit: RateLimitStore['hit'] = async (key, windowMs) => {
      const [count, resetMs] = (await redis.run((c) => script(c, [keyOf(key)], [windowMs]))) as [number, number];
      return { count, resetMs };
    };
    return { hit, hitMany: (hits) => Promise.all(hits.map((h) => hit(h.key, h.windowMs))) };
  }

  let pending: Waiting[] | undefined;
  /** One script call for `callers`, each given its own slice of the answer. */
  const send = async (callers: Waiting[]): Promise<void> => {
    const keys: string[] = [];
    const windows: number[] = [];
    for (const w of callers)
      for (const h of w.hits) {
        keys.push(keyOf(h.key));
        windows.push(h.windowMs);
      }
    try {
      const r = (await script(redis.client, keys, windows)) as number[];
      let at = 0;
      for (const w of callers)
        w.resolve(
          w.hits.map(() => {
            const h = { count: r[at]!, resetMs: r[at + 1]! };
            at += 2;
            return h;
          }),
        );
    } catch (err) {
      for (const w of callers) w.reject(err);
    }
  };
  const flush = () => {
    const batch = pending!;
    pending = undefined;
    // The breaker may have opened since these were asked for (another request's command timed
    // out): nothing is sent to a Redis that does not answer.
    if (!redis.ready()) {
      const err = new Error('Redis is not ready');
      for (const w of batch) w.reject(err);
      return;
    }
    // Every call of the turn at once: they go down the one connection one after the other anyway.
    let call: Waiting[] = [];
    let size = 0;
    for (const w of batch) {
      if (size > 0 && size + w.hits.length > max) {
        void send(call);
        call = [];
        size = 0;
      }
      call.push(w);
      size += w.hits.length;
    }
    void send(call);
  };
  /** Joins this turn's script call; called from within `redis.run`, so only once the caller's deadline allows it. */
  const ask = (hits: Waiting['hits']) =>
    new Promise<Hit[]>((resolve, reject) => {
      if (!pending) {
        pending = [];
        setImmediate(flush);
      }
      pending.push({ hits, resolve, reject });
    });
  return {
    hit: async (key, windowMs) => (await redis.run(() => ask([{ key, windowMs }])))[0]!,
    hitMany: async (hits) => {
      if (!hits.length) return [];
      return redis.run(async () => {
        if (hits.length <= max) return ask(hits);
        const parts: Promise<Hit[]>[] = [];
        for (let i = 0; i < hits.length; i += max) parts.push(ask(hits.slice(i, i + max)));
        return (await Promise.all(parts)).flat();
      });
    },
  };
}

/**
 * Redis counters while Redis is reachable, the in-process ones otherwise (the decision in
 * docs/production.md: limits keep bounding each instance during an outage, and no request fails
 * because of the limiter). `onFallback` is told each time a hit is counted locally.
 */
export function withFallback(
  redis: RedisConnection,
  primary: RateLimitStore,
  local: RateLimitStore,
  onFallback: () => void,
): RateLimitStore {
  const hit: RateLimitStore['hit'] = async (key, windowMs) => {
    if (redis.ready()) {
      try {
        return await primary.hit(key, windowMs);
      } catch {
        /* counted locally below */
      }
    }
    onFallback();
    return local.hit(key, windowMs);
  };
  return {
    hit,
    async hitMany(hits) {
      if (!primary.hitMany) return Promise.all(hits.map((h) => hit(h.key, h.windowMs)));
      if (redis.ready()) {
        try {
          return await primary.hitMany(hits);
        } catch {
          /* counted locally below, without asking Redis again key by key */
        }
      }
      return Promise.all(
        hits.map((h) => {
          onFallback();
          return local.hit(h.key, h.windowMs);
        }),
      );
    },
  };
}
