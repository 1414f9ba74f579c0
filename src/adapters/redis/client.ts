import { Cluster, Redis } from 'ioredis';
import { BackendUnavailableError } from '../../ports/unavailable.ts';

export interface RedisSettings {
  /** redis:// or rediss:// URL; with `cluster`, a comma-separated list of seed nodes. */
  url: string;
  cluster: boolean;
  /** Prefix of every key written. */
  prefix: string;
  /** Longest wait for one command, ms. */
  timeout: number;
}

export interface RedisLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** One connection (or cluster client) shared by the Redis adapters. */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  readonly prefix: string;
  /** True while commands can be sent (connected and ready). */
  ready(): boolean;
  /** Resolves when Redis answers PING; throws BackendUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Runs commands, turning any connection or timeout failure into BackendUnavailableError. */
  run<T>(fn: (client: Redis | Cluster) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Reconnect forever, at most a second apart, so the server recovers by itself when Redis returns.
const reconnectDelay = (times: number) => Math.min(100 * times, 1000);

function connectionOptions(url: URL, timeout: number) {
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:' ? { servername: url.hostname } : undefined,
    // Commands never wait: none are queued while disconnected, none retried after a
    // reconnect, and each is failed after `timeout` ms.
    commandTimeout: timeout,
    connectTimeout: Math.max(2000, timeout),
    maxRetriesPerRequest: 0,
  };
}

/**
 * Opens the connection and waits up to `waitMs` for it to become ready. Tessera starts even when
 * Redis is down (replay checks answer 503 and /ready reports it until Redis is back).
 */
export async function openRedis(s: RedisSettings, log: RedisLog, waitMs = 2000): Promise<RedisConnection> {
  let client: Redis | Cluster;
  if (s.cluster) {
    const urls = s.url.split(',').map((u) => new URL(u.trim()));
    const first = urls[0]!;
    client = new Cluster(urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })), {
      redisOptions: connectionOptions(first, s.timeout),
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: Math.max(1000, s.timeout),
    });
  } else {
    const url = new URL(s.url);
    client = new Redis(s.url, { ...connectionOptions(url, s.timeout), enableOfflineQueue: false, retryStrategy: reconnectDelay });
  }
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return; // one line per outage, not one per reconnect attempt
    down = true;
    log.warn({ event: 'redis_unavailable', err: err.message }, 'Redis is unreachable; replay checks answer 503 and rate limits fall back to this process until it is back');
  });
  client.on('ready', () => {
    if (down) log.info({ event: 'redis_available' }, 'Redis is reachable again');
    down = false;
  });

  const ready = () => client.status === 'ready';
  const run = async <T>(fn: (c: Redis | Cluster) => Promise<T>): Promise<T> => {
    try {
      return await fn(client);
    } catch (err) {
      // Not connected, timed out, or refused by Redis (OOM, READONLY, LOADING, CLUSTERDOWN, ...):
      // nothing was decided either way, so callers fail closed.
      throw new BackendUnavailableError('Redis', err);
    }
  };

  if (!ready()) {
    await new Promise<void>((res) => {
      const timer = setTimeout(done, waitMs);
      function done() { clearTimeout(timer); client.off('ready', done); res(); }
      client.once('ready', done);
    });
  }

  return {
    client,
    prefix: s.prefix,
    ready,
    async ping() { await run((c) => c.ping()); },
    run,
    async close() {
      try {
        if (ready()) await client.quit();
      } catch { /* disconnect below */ }
      client.disconnect();
    },
  };
}
