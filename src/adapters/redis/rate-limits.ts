import type { Hit, HitRequest, RateLimitStore } from '../../ports/rate-limits.ts';
import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from './client.ts';

// One atomic script per call (the hits of a turn, see redisRateLimits): for each key (its window
// and increment in pairs of ARGV), count (by 1, or by a process's reservation, see `ahead`), and
// start the window (its expiry) on the first hit; the counts and times left in pairs.
const HIT = `
local out = {}
for i, k in ipairs(KEYS) do
  local c = redis.call('INCRBY', k, ARGV[2 * i])
  local t = redis.call('PTTL', k)
  if t < 0 then
    redis.call('PEXPIRE', k, ARGV[2 * i - 1])
    t = tonumber(ARGV[2 * i - 1])
  end
  out[2 * i - 1] = c
  out[2 * i] = t
end
return out
`;

/** Most keys one script call counts: the hits of a larger turn go in further calls. */
export const HIT_BATCH_MAX = 512;
/**
 * Most keys this process remembers reservations of; past it, the spent and ended go first, then the least recently
 * renewed.
 */
export const RESERVATIONS_MAX = 10_000;

/** A hit as sent: its key, window and increment (1, or the size of a reservation). */
interface Asked {
  key: string;
  windowMs: number;
  by: number;
}
/** The hits of one caller (one `hit`, or one `hitMany`: a request's rules) waiting for the turn's script call. */
interface Waiting {
  hits: readonly Asked[];
  resolve: (counts: Hit[]) => void;
  reject: (err: unknown) => void;
}
/**
 * The counts `next..last` of a key, reserved by this process in the window that ends at `endsAt`
 * (this process's monotonic clock, taken before the counts were asked for, so never later than
 * Redis's end);
 * `asking` while a reservation is on its way.
 */
interface Reservation {
  next: number;
  last: number;
  endsAt: number;
  asking?: Promise<unknown>;
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
 * request's rules are counted together (unless some of them are reserved, below).
 * Each caller waits through `redis.run` with its own request's deadline: a hung Redis fails each
 * caller when its own deadline is spent, and a caller whose deadline is already spent (or whose
 * breaker is open) joins no call. A failed call fails each of its callers.
 *
 * A hit with `ahead` above 1, after the key's first in this process, reserves that many counts at
 * once (one INCRBY): this process hands them out in order to the key's next hits (`reserved`,
 * synchronously) until they are spent or the window ends, and only one reservation per key is on
 * its way at a time (the hits that come meanwhile wait for it once, and those it cannot serve are
 * counted one by one). Counts stay unique across every process, so no limit is passed while Redis
 * keeps its keys; a reservation left unspent when its window ends, or dropped to make room, only
 * makes the rule refuse early.
 *
 * In a cluster a script's keys must share a slot, and a request's client and address keys do not:
 * there each key is counted by a script call of its own, at once.
 */
export function redisRateLimits(
  redis: RedisConnection,
  max = HIT_BATCH_MAX,
): RateLimitStore & Required<Pick<RateLimitStore, 'hitMany' | 'reserved'>> {
  const script = redis.script('rate_hit', HIT);
  const keyOf = (key: string) => `${redis.prefix}rl:${key}`;
  const counter = redis.client instanceof Cluster ? eachAlone(script, keyOf) : batched(redis, script, keyOf, max);
  /** Counts `hits` as they are (no reservation), within the caller's Redis deadline. */
  const count = (hits: readonly Asked[]) => redis.run((client) => counter(client, hits));
  /** One hit counted by 1, no reservation. */
  const single = (key: string, windowMs: number) => count([{ key, windowMs, by: 1 }]).then((c) => c[0]!);

  const reservations = new Map<string, Reservation>();
  const reserved = (key: string): Hit | undefined => {
    const r = reservations.get(key);
    if (!r || r.next > r.last) return undefined;
    const now = performance.now();
    if (now >= r.endsAt) return undefined;
    return { count: r.next++, resetMs: r.endsAt - now };
  };
  /** Makes room for one more key: first the spent and ended, then the least recently renewed tenth. */
  const makeRoom = () => {
    const now = performance.now();
    for (const [k, v] of reservations) if (!v.asking && (v.next > v.last || now >= v.endsAt)) reservations.delete(k);
    // Maps iterate in insertion order, and a key is set again each time it is renewed. A
    // reservation on its way goes too (its counts are then no one's), so the map always shrinks
    // by a tenth, however many are on their way while Redis is slow.
    let drop = reservations.size - RESERVATIONS_MAX + Math.ceil(RESERVATIONS_MAX / 10);
    for (const k of reservations.keys()) {
      if (drop-- <= 0) break;
      reservations.delete(k);
    }
  };
  /** A hit with `ahead` above 1: from this process's reservation, or from a new one. */
  const take = async (key: string, windowMs: number, ahead: number): Promise<Hit> => {
    const got = reserved(key);
    if (got) return got;
    const r = reservations.get(key);
    if (r?.asking !== undefined) {
      // One wait at most: a count of the reservation on its way, or else this hit alone, in the
      // turn's call and within its own request's deadline (so a slow or failing Redis never makes
      // the waiters queue behind reservation after reservation).
      await r.asking.then(
        () => undefined,
        () => undefined,
      );
      return reserved(key) ?? single(key, windowMs);
    }
    if (!r) {
      // A key's first hit in this process reserves nothing, and is only remembered: a flood of
      // made-up values (client_ids, addresses) takes no counts and leaves only spent entries,
      // the first to go when room is needed. Its next hit reserves.
      if (reservations.size >= RESERVATIONS_MAX) makeRoom();
      reservations.set(key, { next: 1, last: 0, endsAt: 0 });
      return single(key, windowMs);
    }
    // Renewed: set again, so the least recently renewed keys are the first dropped.
    reservations.delete(key);
    reservations.set(key, r);
    const askedAt = performance.now();
    const answer = count([{ key, windowMs, by: ahead }]);
    r.asking = answer;
    try {
      const [top] = await answer;
      r.next = top!.count - ahead + 2;
      r.last = top!.count;
      r.endsAt = askedAt + top!.resetMs;
      return { count: top!.count - ahead + 1, resetMs: top!.resetMs };
    } finally {
      r.asking = undefined;
    }
  };
  const hit = (key: string, windowMs: number, ahead = 1): Promise<Hit> =>
    ahead > 1 ? take(key, windowMs, ahead) : single(key, windowMs);
  return {
    hit,
    hitMany: async (hits) => {
      if (!hits.length) return [];
      if (hits.every((h) => !h.ahead || h.ahead <= 1)) return count(hits.map(plain));
      return Promise.all(hits.map((h) => hit(h.key, h.windowMs, h.ahead)));
    },
    reserved,
  };
}

const plain = (h: HitRequest): Asked => ({ key: h.key, windowMs: h.windowMs, by: 1 });
type Script = ReturnType<RedisConnection['script']>;
/** Counts hits as asked, the answers in the order asked; called within `redis.run`. */
type Counter = (client: Redis | Cluster, hits: readonly Asked[]) => Promise<Hit[]>;

/** A cluster: each key in a script call of its own (a call's keys must share a slot). */
function eachAlone(script: Script, keyOf: (key: string) => string): Counter {
  return (client, hits) =>
    Promise.all(
      hits.map(async (h) => {
        const r = (await script(client, [keyOf(h.key)], [h.windowMs, h.by])) as [number, number];
        return { count: r[0], resetMs: r[1] };
      }),
    );
}

/** One connection: the hits of a turn in one script call (or a few, of at most `max` keys each). */
function batched(redis: RedisConnection, script: Script, keyOf: (key: string) => string, max: number): Counter {
  let pending: Waiting[] | undefined;
  /** One script call for `callers`, each given its own slice of the answer. */
  const send = async (callers: Waiting[]): Promise<void> => {
    const keys: string[] = [];
    const args: number[] = [];
    for (const w of callers)
      for (const h of w.hits) {
        keys.push(keyOf(h.key));
        args.push(h.windowMs, h.by);
      }
    try {
      const r = (await script(redis.client, keys, args)) as number[];
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
  /** Joins this turn's script call. */
  const ask = (hits: readonly Asked[]) =>
    new Promise<Hit[]>((resolve, reject) => {
      if (!pending) {
        pending = [];
        setImmediate(flush);
      }
      pending.push({ hits, resolve, reject });
    });
  return async (_client, hits) => {
    if (hits.length <= max) return ask(hits);
    const parts: Promise<Hit[]>[] = [];
    for (let i = 0; i < hits.length; i += max) parts.push(ask(hits.slice(i, i + max)));
    return (await Promise.all(parts)).flat();
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
  const hit: RateLimitStore['hit'] = async (key, windowMs, ahead) => {
    if (redis.ready()) {
      try {
        return await primary.hit(key, windowMs, ahead);
      } catch {
        /* counted locally below */
      }
    }
    onFallback();
    return local.hit(key, windowMs);
  };
  const store: RateLimitStore = {
    hit,
    async hitMany(hits) {
      if (!primary.hitMany) return Promise.all(hits.map((h) => hit(h.key, h.windowMs, h.ahead)));
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
  // Counts already reserved in Redis stay good while it is away: they are no one else's.
  if (primary.reserved) store.reserved = primary.reserved;
  return store;
}
