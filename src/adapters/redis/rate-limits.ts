import type { RateLimitStore } from '../../ports/rate-limits.ts';
import { Cluster } from 'ioredis';
import type { RedisConnection } from './client.ts';

// One atomic script per request: for each key (its window in the same place of ARGV), count, and
// start the window (its expiry) on the first hit; the counts and times left in pairs.
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

/** Rate-limit counters in Redis (`<prefix>rl:<key>`), shared by every process and instance. */
export function redisRateLimits(redis: RedisConnection): RateLimitStore {
  const script = redis.script('rate_hit', HIT);
  const hit: RateLimitStore['hit'] = async (key, windowMs) => {
    const [count, resetMs] = (await redis.run((c) => script(c, [`${redis.prefix}rl:${key}`], [windowMs]))) as [
      number,
      number,
    ];
    return { count, resetMs };
  };
  return {
    hit,
    // A request's keys in one script, unless they may live on different nodes (a cluster: a
    // script's keys must share a slot, and a request's client and address keys do not).
    async hitMany(hits) {
      if (redis.client instanceof Cluster || hits.length === 1)
        return Promise.all(hits.map((h) => hit(h.key, h.windowMs)));
      const r = (await redis.run((c) =>
        script(
          c,
          hits.map((h) => `${redis.prefix}rl:${h.key}`),
          hits.map((h) => h.windowMs),
        ),
      )) as number[];
      return hits.map((_, i) => ({ count: r[2 * i]!, resetMs: r[2 * i + 1]! }));
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
