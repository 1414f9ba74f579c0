import type { ReplayStore } from '../../ports/replay.ts';
import type { RedisConnection } from './client.ts';

// One atomic script: a key whose stored expiry (epoch s) is still after the caller's `now` is a
// replay; otherwise the key is (re)written with its expiry, which Redis also enforces (EXAT).
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[1])
return 1
`;

/** The replay cache in Redis: `<prefix>replay:<key>`. Fails (BackendUnavailableError) when Redis is unreachable. */
export function redisReplay(redis: RedisConnection): ReplayStore {
  return {
    async claim(key, expiresAt, now) {
      if (key.length > 512) throw new Error('replay key longer than 512 characters');
      if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(now)) throw new Error('replay expiry and time must be integers (epoch seconds)');
      // Already expired: nothing to remember (as the SQL store, a later claim succeeds again).
      if (expiresAt <= now) return true;
      const r = await redis.run((c) => c.eval(CLAIM, 1, `${redis.prefix}replay:${key}`, expiresAt, now));
      return r === 1;
    },
  };
}
