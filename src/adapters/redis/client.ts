import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Cluster, Redis } from 'ioredis';
import { BackendUnavailableError } from '../../ports/unavailable.ts';

export interface RedisSettings {
  /** redis:// or rediss:// URL; with `cluster`, a comma-separated list of seed nodes. */
  url: string;
  cluster: boolean;
  /** Prefix of every key written. */
  prefix: string;
  /** Longest time one request (or one command outside a request) waits for Redis in all, ms. */
  timeout: number;
}

export interface RedisLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The circuit breaker's states: closed (commands sent), open (none sent), half_open (one probe in flight). */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** One connection (or cluster client) shared by the Redis adapters. */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  readonly prefix: string;
  /** True while commands can be sent: connected and ready, and the circuit breaker closed. */
  ready(): boolean;
  /** The circuit breaker's state. */
  breaker(): BreakerState;
  /** Resolves when Redis answers PING; throws BackendUnavailableError otherwise. */
  ping(): Promise<void>;
  /**
   * Runs commands within what is left of the current request's Redis deadline (see `scope`),
   * turning any connection failure, timeout, or open breaker into BackendUnavailableError.
   */
  run<T>(fn: (client: Redis | Cluster) => Promise<T>): Promise<T>;
  /**
   * A Lua script sent by its SHA1 (EVALSHA, loaded again by ioredis when Redis answers NOSCRIPT)
   * instead of its text on every call; `name` is unique per script. Call it inside `run`.
   */
  script(
    name: string,
    lua: string,
  ): (client: Redis | Cluster, keys: string[], args: (string | number)[]) => Promise<unknown>;
  /**
   * Runs `fn` with `owner`'s Redis budget: every command `fn` sends, now or later in its
   * asynchronous chain, shares one deadline of `timeout` ms of waiting for Redis. The budget is
   * kept per owner (the request object), so several scopes of one request share it.
   */
  scope<T>(owner: object, fn: () => T): T;
  close(): Promise<void>;
}

export interface RedisHooks {
  /** Told each breaker state change (for metrics). */
  breakerChanged?(state: BreakerState): void;
}

// Reconnect forever, at most a second apart, so the server recovers by itself when Redis returns.
const reconnectDelay = (times: number) => Math.min(100 * times, 1000);
/** Back-off of an open breaker before its probe: doubles from the first to the last. */
export const BREAKER_BACKOFF_MS = [250, 500, 1000, 2000] as const;
/** A breaker open for this long (probes unanswered) drops the connection and opens a new one. */
export const STALL_RECONNECT_MS = 5000;

function connectionOptions(url: URL, timeout: number) {
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:' ? { servername: url.hostname } : undefined,
    // Commands never wait in ioredis: none are queued while disconnected and none retried after a
    // reconnect. Deadlines are kept here (run), per request, not per command.
    connectTimeout: Math.max(2000, timeout),
    maxRetriesPerRequest: 0,
    keepAlive: 10_000,
  };
}

/**
 * A request's Redis budget: ms spent waiting (the loop's busy time discounted) and in wall time,
 * and since when commands are outstanding (wall clock and the loop's busy time then).
 */
interface Budget {
  spent: number;
  wall: number;
  since: number;
  sinceBusy: number;
  inflight: number;
}
const budgets = new AsyncLocalStorage<Budget>();

// Time the event loop was busy running callbacks (this process's own work, or the process waiting
// for a CPU while running them) is not time spent waiting for Redis: an answer that arrived then
// could not be read. Deadlines discount it, so a busy process with a healthy Redis fails no
// command; a hard limit of twice the deadline in wall time still bounds every wait.
const busy = () => performance.eventLoopUtilization().active;
/** Time waited since `start` (performance.now()) when the loop's busy time was `busy0`, busy time discounted. */
const waitedSince = (start: number, busy0: number) => Math.max(0, performance.now() - start - (busy() - busy0));

class RedisTimeout extends Error {
  constructor(ms: number) {
    super(`no answer from Redis within ${ms} ms`);
    this.name = 'RedisTimeout';
  }
}

/**
 * `p`, or a RedisTimeout once `ms` of waiting (busy time discounted) or `wallMs` of wall time have
 * passed without its answer. The decision waits for one I/O poll after the timer, so an answer
 * already in the socket is read first: only time Redis took to answer fails a command, not time
 * this process spent on other work.
 */
function withDeadline<T>(p: Promise<T>, ms: number, wallMs = 2 * ms): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const start = performance.now();
    const busy0 = busy();
    let timer: NodeJS.Timeout;
    const check = () =>
      setImmediate(() => {
        if (settled) return;
        const left = Math.min(ms - waitedSince(start, busy0), wallMs - (performance.now() - start));
        if (left >= 1) {
          timer = setTimeout(check, left);
          return;
        }
        settled = true;
        reject(new RedisTimeout(ms));
      });
    timer = setTimeout(check, Math.min(ms, wallMs));
    p.then(
      (v) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve(v);
        }
      },
      (e) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(e);
        }
      },
    );
  });
}

/**
 * Opens the connection and waits up to `waitMs` for it to become ready. Tessera starts even when
 * Redis is down (replay checks answer 503 and /ready reports it until Redis is back).
 */
export async function openRedis(
  s: RedisSettings,
  log: RedisLog,
  waitMs = 2000,
  hooks: RedisHooks = {},
): Promise<RedisConnection> {
  let client: Redis | Cluster;
  if (s.cluster) {
    const urls = s.url.split(',').map((u) => new URL(u.trim()));
    const first = urls[0]!;
    client = new Cluster(
      urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
      {
        redisOptions: connectionOptions(first, s.timeout),
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        slotsRefreshTimeout: Math.max(1000, s.timeout),
      },
    );
  } else {
    const url = new URL(s.url);
    client = new Redis(s.url, {
      ...connectionOptions(url, s.timeout),
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
    });
  }
  let down = false;
  let closed = false;
  client.on('error', (err: Error) => {
    if (down) return; // one line per outage, not one per reconnect attempt
    down = true;
    log.warn(
      { event: 'redis_unavailable', err: err.message },
      'Redis is unreachable; replay checks answer 503 and rate limits fall back to this process until it is back',
    );
  });
  client.on('ready', () => {
    if (down) log.info({ event: 'redis_available' }, 'Redis is reachable again');
    down = false;
    // A breaker waiting for its back-off probes at once: the connection is new.
    if (state === 'open' && !closed) {
      clearTimeout(probeTimer);
      probe();
    }
  });

  const connected = () => client.status === 'ready';

  // ---- circuit breaker ----------------------------------------------------------------------
  // Closed: commands go to Redis. A command that times out opens it: for a back-off nothing is
  // sent (callers get BackendUnavailableError at once: rate limits count in the process, replay
  // checks fail closed), then one PING probes (half-open). An answer closes it; no answer opens it
  // again with a doubled back-off. Connection errors do not open it (they already fail at once).
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let lastReconnect = 0;
  let probeTimer: NodeJS.Timeout | undefined;
  const setState = (next: BreakerState, fields: object) => {
    if (next === state) return;
    const from = state;
    state = next;
    hooks.breakerChanged?.(next);
    const entry = { event: `redis_breaker_${next}`, from, ...fields };
    if (next === 'open' && from === 'closed')
      log.warn(
        entry,
        'Redis did not answer in time: no command is sent to it for a short back-off (replay checks answer 503, rate limits count in the process)',
      );
    else log.info(entry, `Redis circuit breaker ${next.replace('_', '-')}`);
  };
  const open = (reason: string) => {
    if (state === 'open' || closed) return;
    if (state === 'closed') {
      openedAt = Date.now();
      failures = 0;
    }
    const backoff = BREAKER_BACKOFF_MS[Math.min(failures, BREAKER_BACKOFF_MS.length - 1)]!;
    failures++;
    setState('open', { reason, backoff_ms: backoff });
    // A connection that has not answered for long may be stuck on a dead network path, where TCP
    // may wait minutes before retransmitting: open a new one.
    const now = Date.now();
    if (now - openedAt >= STALL_RECONNECT_MS && now - lastReconnect >= STALL_RECONNECT_MS && client instanceof Redis) {
      lastReconnect = now;
      log.info({ event: 'redis_reconnect', stalled_ms: now - openedAt }, 'Redis connection stalled; reconnecting');
      client.disconnect(true);
    }
    clearTimeout(probeTimer);
    probeTimer = setTimeout(probe, backoff);
    probeTimer.unref();
  };
  function probe(): void {
    if (closed || state !== 'open') return;
    // Not connected (reconnecting): try again later; a 'ready' event probes at once.
    if (!connected()) {
      probeTimer = setTimeout(probe, BREAKER_BACKOFF_MS.at(-1));
      probeTimer.unref();
      return;
    }
    setState('half_open', {});
    withDeadline(client.ping(), s.timeout).then(
      () => {
        if (state === 'half_open') setState('closed', { open_ms: Date.now() - openedAt });
      },
      (err: Error) => {
        if (state === 'half_open') open(`probe: ${err.message}`);
      },
    );
  }

  const ready = () => connected() && state === 'closed';
  const run = async <T>(fn: (c: Redis | Cluster) => Promise<T>): Promise<T> => {
    if (state !== 'closed') throw new BackendUnavailableError('Redis', new Error(`circuit breaker ${state}`));
    const budget = budgets.getStore();
    const started = performance.now();
    let remaining = s.timeout;
    let wallRemaining = 2 * s.timeout;
    if (budget) {
      const outstanding = budget.inflight > 0;
      remaining -= budget.spent + (outstanding ? waitedSince(budget.since, budget.sinceBusy) : 0);
      wallRemaining -= budget.wall + (outstanding ? started - budget.since : 0);
      if (remaining < 1 || wallRemaining < 1)
        throw new BackendUnavailableError(
          'Redis',
          new Error(`this request's Redis deadline (${s.timeout} ms) is spent`),
        );
      if (budget.inflight++ === 0) {
        budget.since = started;
        budget.sinceBusy = busy();
      }
    }
    try {
      return await withDeadline(fn(client), Math.ceil(remaining), Math.ceil(wallRemaining));
    } catch (err) {
      if (err instanceof RedisTimeout) open(err.message);
      // Not connected, timed out, or refused by Redis (OOM, READONLY, LOADING, CLUSTERDOWN, ...):
      // nothing was decided either way, so callers fail closed.
      throw new BackendUnavailableError('Redis', err);
    } finally {
      if (budget && --budget.inflight === 0) {
        budget.spent += waitedSince(budget.since, budget.sinceBusy);
        budget.wall += performance.now() - budget.since;
      }
    }
  };
  const owned = new WeakMap<object, Budget>();

  if (!connected()) {
    await new Promise<void>((res) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        client.off('ready', done);
        res();
      }
      client.once('ready', done);
    });
  }

  return {
    client,
    prefix: s.prefix,
    ready,
    breaker: () => state,
    async ping() {
      await run((c) => c.ping());
    },
    run,
    script(name, lua) {
      // One command per number of keys (ioredis then sends the keys as they are, no count first).
      const defined = new Set<number>();
      return (c, keys, args) => {
        const command = `tessera_${name}_${keys.length}`;
        if (!defined.has(keys.length)) {
          client.defineCommand(command, { lua, numberOfKeys: keys.length });
          defined.add(keys.length);
        }
        return (c as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[command]!(
          ...keys,
          ...args,
        );
      };
    },
    scope(owner, fn) {
      let budget = owned.get(owner);
      if (!budget) owned.set(owner, (budget = { spent: 0, wall: 0, since: 0, sinceBusy: 0, inflight: 0 }));
      return budgets.run(budget, fn);
    },
    async close() {
      closed = true;
      clearTimeout(probeTimer);
      try {
        if (connected()) await withDeadline(client.quit(), s.timeout);
      } catch {
        /* disconnect below */
      }
      client.disconnect();
    },
  };
}
