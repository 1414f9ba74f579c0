import type { RateLimitStore } from '../../ports/rate-limits.ts';
import type { RedisConnection } from './client.ts';

// One atomic script per hit: count, and start the window (its expiry) on the first hit.
const HIT = `
local c = redis.call('INCR', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  t = tonumber(ARGV[1])
end
return {c, t}
`;

/** Rate-limit counters in Redis (`<prefix>rl:<key>`), shared by every process and instance. */
export function redisRateLimits(redis: RedisConnection): RateLimitStore {
  return {
    async hit(key, windowMs) {
      const [count, resetMs] = (await redis.run((c) => c.eval(HIT, 1, `${redis.prefix}rl:${key}`, windowMs))) as [
        number,
        number,
      ];
      return { count, resetMs };
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
  return {
    async hit(key, windowMs) {
      if (redis.ready()) {
        try {
          return await primary.hit(key, windowMs);
        } catch {
          /* counted locally below */
        }
      }
      onFallback();
      return local.hit(key, windowMs);
    },
  };
}
